"""Authentication and the documented shapes of every endpoint."""

from __future__ import annotations

import httpx

from ac_segment_export.testing import ActiveCampaignEmulator

from .conftest import make_client


def test_wrong_or_missing_key_is_403(emu: ActiveCampaignEmulator) -> None:
    with make_client(emu, key="wrong") as http:
        response = http.get("/users/me")
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}
    with httpx.Client(transport=emu.transport()) as http:
        response = http.get("https://acme.api-us1.com/api/3/lists")
    assert response.status_code == 403


def test_api_token_is_never_recorded(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    client.get("/users/me")
    (recorded,) = emu.requests
    assert recorded.method == "GET"
    assert recorded.path == "/users/me"
    assert recorded.status == 200
    assert "test-key" not in repr(recorded)


def test_users_me(client: httpx.Client) -> None:
    response = client.get("/users/me")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    user = response.json()["user"]
    assert user["id"] == "1"
    assert {"username", "email", "firstName", "lastName", "links"} <= user.keys()


def test_unknown_path_and_method_are_404(client: httpx.Client) -> None:
    assert client.get("/nothing-here").status_code == 404
    assert client.patch("/lists").status_code == 404
    assert client.get("https://acme.api-us1.com/api/2/lists").status_code == 404
    assert "message" in client.get("/nothing-here").json()


def test_malformed_json_is_400_empty_object(client: httpx.Client) -> None:
    for path in ("/contacts", "/contact/sync", "/lists", "/fields", "/contactLists"):
        response = client.post(
            path, content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, path
        assert response.json() == {}


def test_lists_shapes(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    created = client.post(
        "/lists",
        json={
            "list": {
                "name": "VIP customers",
                "sender_url": "https://x.example",
                "sender_reminder": "hi",
            }
        },
    )
    assert created.status_code == 200
    lst = created.json()["list"]
    assert lst["id"] == "1"
    assert lst["name"] == "VIP customers"
    assert lst["stringid"] == "vip-customers"
    assert lst["userid"] == "1"
    assert lst["send_last_broadcast"] == "0"

    shown = client.get("/lists/1").json()
    assert shown["list"]["name"] == "VIP customers"
    listed = client.get("/lists").json()
    assert listed["meta"] == {"total": "1"}
    assert [x["id"] for x in listed["lists"]] == ["1"]
    assert emu.lists[0].name == "VIP customers"


def test_list_not_found_and_validation(client: httpx.Client) -> None:
    missing = client.get("/lists/7")
    assert missing.status_code == 404
    assert missing.json() == {"message": "No Result found for _List with id 7"}
    invalid = client.post("/lists", json={"list": {"stringid": "x"}})
    assert invalid.status_code == 422
    (error,) = invalid.json()["errors"]
    assert error["code"] == "field_missing"
    assert error["source"]["pointer"] == "/data/attributes/name"


def test_lists_filter_by_name(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    emu.add_list("Newsletter")
    vip = emu.add_list("VIP customers")
    body = client.get("/lists", params={"filters[name]": "vip customers"}).json()
    assert body["meta"]["total"] == "1"
    assert body["lists"][0]["id"] == str(vip)
    body = client.get("/lists", params={"filters[name][contains]": "e"}).json()
    assert body["meta"]["total"] == "2"


def test_contact_create_shape(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    tier = emu.add_field("Tier")
    response = client.post(
        "/contacts",
        json={
            "contact": {
                "email": "ana@example.org",
                "firstName": "Ana",
                "lastName": "Ruiz",
                "phone": "+34 600",
                "fieldValues": [{"field": str(tier), "value": "gold"}],
            }
        },
    )
    assert response.status_code == 201
    body = response.json()
    contact = body["contact"]
    assert contact["id"] == "1"
    assert contact["email"] == "ana@example.org"
    assert (contact["firstName"], contact["lastName"], contact["phone"]) == (
        "Ana",
        "Ruiz",
        "+34 600",
    )
    assert contact["deleted"] == "0"
    assert contact["cdate"][10] == "T"
    (value,) = body["fieldValues"]
    assert value == value | {"contact": "1", "field": str(tier), "value": "gold", "owner": "1"}
    assert isinstance(value["id"], str)
    assert contact["fieldValues"] == [value["id"]]
    assert emu.field_values(1) == {tier: "gold"}


def test_contact_create_errors(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    emu.add_contact("Ana@Example.org")
    duplicate = client.post("/contacts", json={"contact": {"email": "ana@example.ORG"}})
    assert duplicate.status_code == 422
    assert duplicate.json() == {
        "errors": [
            {
                "title": "Email address already exists in the system",
                "detail": "",
                "code": "duplicate",
                "source": {"pointer": "/data/attributes/email"},
            }
        ]
    }
    missing = client.post("/contacts", json={"contact": {"firstName": "x"}})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["code"] == "field_missing"
    invalid = client.post("/contacts", json={"contact": {"email": "nope@localhost"}})
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["code"] == "email_invalid"
    unknown_field = client.post(
        "/contacts",
        json={"contact": {"email": "b@example.org", "fieldValues": [{"field": 99, "value": "x"}]}},
    )
    assert unknown_field.status_code == 422
    assert emu.contact_by_email("b@example.org") is None


def test_contact_get_put_delete(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    vip = emu.add_list("VIP")
    tier = emu.add_field("Tier")
    cid = emu.add_contact("ana@example.org", first_name="Ana", last_name="Ruiz", lists={vip: 1})
    shown = client.get(f"/contacts/{cid}").json()
    assert set(shown) == {
        "contactAutomations",
        "contactLists",
        "deals",
        "fieldValues",
        "geoIps",
        "contact",
    }
    assert shown["contact"]["id"] == str(cid)
    assert shown["contactLists"][0]["list"] == str(vip)
    assert shown["contactLists"][0]["status"] == "1"
    assert shown["contact"]["contactLists"] == [shown["contactLists"][0]["id"]]

    updated = client.put(
        f"/contacts/{cid}",
        json={
            "contact": {"lastName": "Ruiz Gil", "fieldValues": [{"field": tier, "value": "gold"}]}
        },
    )
    assert updated.status_code == 200
    assert updated.json()["contact"]["firstName"] == "Ana"  # untouched
    assert updated.json()["contact"]["lastName"] == "Ruiz Gil"
    assert emu.field_values(cid) == {tier: "gold"}

    renamed = client.put(f"/contacts/{cid}", json={"contact": {"email": "ANA.R@example.org"}})
    assert renamed.status_code == 200
    assert emu.contact_by_email("ana@example.org") is None
    contact = emu.contact_by_email("ana.r@example.org")
    assert contact is not None
    assert contact.email == "ANA.R@example.org"

    deleted = client.delete(f"/contacts/{cid}")
    assert deleted.status_code == 200
    assert deleted.json() == {}
    assert emu.contacts == []
    assert emu.list_members(vip) == {}

    for method in ("GET", "PUT"):
        gone = client.request(method, f"/contacts/{cid}", json={"contact": {}})
        assert gone.status_code == 404
        assert gone.json() == {"message": f"No Result found for Subscriber with id {cid}"}
    gone = client.delete(f"/contacts/{cid}")
    assert gone.status_code == 404
    assert gone.json() == {"message": f"No result found for contact with id {cid}"}


def test_contact_sub_resources(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    a = emu.add_list("A")
    b = emu.add_list("B")
    tier = emu.add_field("Tier")
    cid = emu.add_contact("ana@example.org", first_name="Ana", lists={a: 1, b: 2})
    client.post("/fieldValues", json={"fieldValue": {"contact": cid, "field": tier, "value": "x"}})
    lists = client.get(f"/contacts/{cid}/contactLists").json()["contactLists"]
    assert {(m["list"], m["status"]) for m in lists} == {(str(a), "1"), (str(b), "2")}
    assert all(m["contact"] == str(cid) and m["first_name"] == "Ana" for m in lists)
    values = client.get(f"/contacts/{cid}/fieldValues").json()["fieldValues"]
    assert [(v["field"], v["value"]) for v in values] == [(str(tier), "x")]
    assert client.get("/contacts/999/contactLists").json() == {
        "message": "No Result found for Subscriber with id 999"
    }
    assert client.get("/contacts/999/fieldValues").status_code == 404


def test_fields(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    emu.add_field("Loyalty tier", type="dropdown", options=("Bronze", "Gold"))
    created = client.post("/fields", json={"field": {"type": "date", "title": "Signup date"}})
    assert created.status_code == 201
    field = created.json()["field"]
    assert field["id"] == "2"
    assert field["perstag"] == "SIGNUP_DATE"
    assert field["type"] == "date"
    given = client.post(
        "/fields", json={"field": {"type": "text", "title": "Other", "perstag": "Personalized Tag"}}
    )
    assert given.json()["field"]["perstag"] == "PERSONALIZEDTAG"

    duplicate = client.post("/fields", json={"field": {"type": "text", "title": "signup DATE"}})
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"][0]["code"] == "duplicate"
    assert client.post("/fields", json={"field": {"type": "text"}}).status_code == 422

    listed = client.get("/fields").json()
    assert set(listed) == {"fieldOptions", "fieldRels", "fields", "meta"}
    assert listed["meta"] == {"total": "3"}
    tier = listed["fields"][0]
    assert tier["title"] == "Loyalty tier"
    assert tier["perstag"] == "LOYALTY_TIER"
    assert [o["label"] for o in listed["fieldOptions"]] == ["Bronze", "Gold"]
    assert tier["options"] == [o["id"] for o in listed["fieldOptions"]]
    assert {r["field"] for r in listed["fieldRels"]} == {"1", "2", "3"}

    page = client.get("/fields", params={"limit": 1, "offset": 1}).json()
    assert [f["title"] for f in page["fields"]] == ["Signup date"]
    assert page["meta"]["total"] == "3"
    by_tag = client.get("/fields", params={"filters[perstag]": "LOYALTY_TIER"}).json()
    assert [f["id"] for f in by_tag["fields"]] == ["1"]


def test_field_values(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    tier = emu.add_field("Tier")
    cid = emu.add_contact("ana@example.org")
    response = client.post(
        "/fieldValues", json={"fieldValue": {"contact": cid, "field": tier, "value": "||a||b||"}}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["contacts"][0]["id"] == str(cid)
    value = body["fieldValue"]
    assert (value["contact"], value["field"], value["value"]) == (cid, tier, "||a||b||")
    assert isinstance(value["id"], str)
    again = client.post(
        "/fieldValues", json={"fieldValue": {"contact": str(cid), "field": str(tier), "value": "c"}}
    )
    assert again.json()["fieldValue"]["id"] == value["id"]  # same value row, updated
    assert emu.field_values(cid) == {tier: "c"}

    no_contact = client.post(
        "/fieldValues", json={"fieldValue": {"contact": 9, "field": tier, "value": "x"}}
    )
    assert no_contact.status_code == 404
    no_field = client.post(
        "/fieldValues", json={"fieldValue": {"contact": cid, "field": 9, "value": "x"}}
    )
    assert no_field.status_code == 404
    assert no_field.json() == {"message": "No Result found for Field with id 9"}
    missing = client.post("/fieldValues", json={"fieldValue": {"contact": cid, "value": "x"}})
    assert missing.status_code == 422


def test_recorded_requests(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    client.get("/contacts", params={"email": "a@example.org", "limit": 5})
    client.post("/contact/sync", json={"contact": {"email": "a@example.org"}})
    first, second = emu.requests
    assert (first.method, first.path, first.status) == ("GET", "/contacts", 200)
    assert first.query == {"email": "a@example.org", "limit": "5"}
    assert first.json is None
    assert first.body_bytes == 0
    assert second.json == {"contact": {"email": "a@example.org"}}
    assert second.status == 201
    assert second.body_bytes > 20
    emu.reset_requests()
    assert emu.requests == []


def test_record_bodies_off() -> None:
    quiet = ActiveCampaignEmulator(record_bodies=False)
    with make_client(quiet) as http:
        http.post("/contact/sync", json={"contact": {"email": "a@example.org"}})
    (recorded,) = quiet.requests
    assert recorded.json is None
    assert recorded.body_bytes > 0
    assert recorded.status == 201
