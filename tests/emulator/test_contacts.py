"""Searching, paging, upserts and list memberships."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import httpx

    from ac_segment_export.testing import ActiveCampaignEmulator


@pytest.fixture
def crowd(emu: ActiveCampaignEmulator) -> list[int]:
    return [emu.add_contact(f"user{i:03d}@example.org") for i in range(1, 151)]


def test_page_default_cap_offset_and_total(crowd: list[int], client: httpx.Client) -> None:
    default = client.get("/contacts").json()
    assert len(default["contacts"]) == 20
    assert default["meta"]["total"] == "150"
    assert default["meta"]["page_input"]["limit"] == 20
    capped = client.get("/contacts", params={"limit": 500}).json()
    assert len(capped["contacts"]) == 100
    last = client.get("/contacts", params={"limit": 100, "offset": 100}).json()
    assert [c["id"] for c in last["contacts"]] == [str(i) for i in crowd[100:]]
    assert last["meta"]["total"] == "150"
    beyond = client.get("/contacts", params={"offset": 1000}).json()
    assert beyond["contacts"] == []


def test_id_greater_and_order(crowd: list[int], client: httpx.Client) -> None:
    seen: list[str] = []
    last = 0
    while True:
        page = client.get(
            "/contacts", params={"id_greater": last, "orders[id]": "ASC", "limit": 100}
        ).json()["contacts"]
        if not page:
            break
        seen += [c["id"] for c in page]
        last = int(page[-1]["id"])
    assert seen == [str(i) for i in crowd]
    after = client.get("/contacts", params={"id_greater": 140}).json()
    assert after["meta"]["total"] == "10"
    desc = client.get("/contacts", params={"orders[id]": "DESC", "limit": 3}).json()
    assert [c["id"] for c in desc["contacts"]] == ["150", "149", "148"]


def test_email_lookup_is_case_insensitive_exact(
    emu: ActiveCampaignEmulator, client: httpx.Client
) -> None:
    emu.add_contact("Ana.Ruiz@Example.org")
    emu.add_contact("ana.ruiz@example.org.uk")
    found = client.get("/contacts", params={"email": "ana.ruiz@EXAMPLE.ORG"}).json()
    assert [c["email"] for c in found["contacts"]] == ["Ana.Ruiz@Example.org"]
    assert found["meta"]["total"] == "1"
    none = client.get("/contacts", params={"email": "ana@example.org"}).json()
    assert none["contacts"] == []
    assert none["meta"]["total"] == "0"


def test_listid_and_status_filter(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    a = emu.add_list("A")
    b = emu.add_list("B")
    emu.add_contact("one@example.org", lists={a: 1})
    emu.add_contact("two@example.org", lists={a: 2, b: 1})
    emu.add_contact("three@example.org", lists={a: 0})
    emu.add_contact("four@example.org", lists={a: 3})
    emu.add_contact("five@example.org")

    def emails(**params: object) -> list[str]:
        body = client.get("/contacts", params=params).json()
        assert body["meta"]["total"] == str(len(body["contacts"]))
        return [c["email"] for c in body["contacts"]]

    assert emails(listid=a) == [
        "one@example.org",
        "two@example.org",
        "three@example.org",
        "four@example.org",
    ]
    assert emails(listid=a, status=-1) == emails(listid=a)
    assert emails(listid=a, status=1) == ["one@example.org"]
    assert emails(listid=a, status=2) == ["two@example.org"]
    assert emails(listid=a, status=0) == ["three@example.org"]
    assert emails(listid=a, status=3) == ["four@example.org"]
    assert emails(listid=b, status=1) == ["two@example.org"]
    assert emails(listid=b, status=2) == []
    assert emails(status=1) == ["one@example.org", "two@example.org"]
    assert emu.list_members(a, status=2) == {"two@example.org": 2}


def test_sync_upserts_case_insensitively(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    tier = emu.add_field("Tier")
    created = client.post(
        "/contact/sync",
        json={
            "contact": {
                "email": "Ana@Example.org",
                "firstName": "Ana",
                "fieldValues": [{"field": tier, "value": "gold"}],
            }
        },
    )
    assert created.status_code == 201
    cid = created.json()["contact"]["id"]
    updated = client.post(
        "/contact/sync",
        json={
            "contact": {
                "email": "ana@EXAMPLE.org",
                "lastName": "Ruiz",
                "fieldValues": [{"field": tier, "value": "silver"}],
            }
        },
    )
    assert updated.status_code == 200
    assert updated.json()["contact"]["id"] == cid
    (contact,) = emu.contacts
    assert (contact.email, contact.first_name, contact.last_name) == (
        "Ana@Example.org",
        "Ana",
        "Ruiz",
    )
    assert contact.fields == {tier: "silver"}
    assert updated.json()["fieldValues"][0]["value"] == "silver"
    bad = client.post("/contact/sync", json={"contact": {"email": "not-an-email"}})
    assert bad.status_code == 422
    assert client.post("/contact/sync", json={"contact": {}}).status_code == 422


def test_contact_lists_statuses(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    vip = emu.add_list("VIP")
    cid = emu.add_contact("ana@example.org")
    subscribed = client.post(
        "/contactLists", json={"contactList": {"list": vip, "contact": cid, "status": 1}}
    )
    assert subscribed.status_code == 200
    body = subscribed.json()
    assert body["contacts"][0]["id"] == str(cid)
    membership = body["contactList"]
    assert (membership["contact"], membership["list"], membership["status"]) == (
        str(cid),
        str(vip),
        1,
    )
    assert isinstance(membership["id"], str)
    assert emu.list_members(vip) == {"ana@example.org": 1}

    client.post(
        "/contactLists",
        json={"contactList": {"list": str(vip), "contact": str(cid), "status": "2"}},
    )
    assert emu.list_members(vip) == {"ana@example.org": 2}
    # Unlike bulk import, contactLists can re-subscribe an unsubscribed contact.
    again = client.post(
        "/contactLists",
        json={"contactList": {"list": vip, "contact": cid, "status": 1, "sourceid": 4}},
    )
    assert again.json()["contactList"]["sourceid"] == "4"
    assert emu.list_members(vip) == {"ana@example.org": 1}
    client.post("/contactLists", json={"contactList": {"list": vip, "contact": cid, "status": 0}})
    assert emu.list_members(vip, status=0) == {"ana@example.org": 0}


def test_contact_lists_errors(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    vip = emu.add_list("VIP")
    cid = emu.add_contact("ana@example.org")
    no_contact = client.post(
        "/contactLists", json={"contactList": {"list": vip, "contact": 99, "status": 1}}
    )
    assert no_contact.status_code == 404
    assert no_contact.json() == {"message": "No Result found for Subscriber with id 99"}
    no_list = client.post(
        "/contactLists", json={"contactList": {"list": 42, "contact": cid, "status": 1}}
    )
    assert no_list.status_code == 404
    assert no_list.json() == {"message": "No Result found for _List with id 42"}
    bad_status = client.post(
        "/contactLists", json={"contactList": {"list": vip, "contact": cid, "status": 5}}
    )
    assert bad_status.status_code == 422
    missing = client.post("/contactLists", json={"contactList": {"list": vip, "contact": cid}})
    assert missing.status_code == 422
    assert emu.list_members(vip) == {}


def test_seeding_guards(emu: ActiveCampaignEmulator) -> None:
    emu.add_contact("ana@example.org")
    with pytest.raises(ValueError, match="already exists"):
        emu.add_contact("ANA@example.org")
    with pytest.raises(KeyError):
        emu.add_contact("ben@example.org", lists={7: 1})
    with pytest.raises(KeyError):
        emu.set_membership(1, 7, 1)
    emu.add_field("Tier")
    with pytest.raises(ValueError, match="already exists"):
        emu.add_field("tier")
    assert emu.contact_by_email("nobody@example.org") is None
    assert emu.contact(1) is not None
    assert emu.contact_count == 1
