"""Bulk import: whole-request validation, limits, the batch lifecycle and its effects."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ac_segment_export.testing import ActiveCampaignEmulator

NOT_QUEUED = (
    "JSON payload did not pass validation. Please fix failure Reasons and retry. "
    "The import was not queued for processing."
)


def people(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"email": f"p{i}@example.org", **extra} for i in range(n)]


def submit(client: httpx.Client, contacts: list[dict[str, Any]]) -> httpx.Response:
    return client.post("/import/bulk_import", json={"contacts": contacts})


def info(client: httpx.Client, batch_id: str) -> dict[str, Any]:
    response = client.get("/import/info", params={"batchId": batch_id})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_accepted_shape(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    response = submit(client, people(3))
    assert response.status_code == 200
    body = response.json()
    assert body["Success"] == 1
    assert body["queued_contacts"] == 3
    assert body["message"] == "Contact import queued"
    assert len(body["batchId"]) == 36
    (batch,) = emu.batches
    assert batch.id == body["batchId"]
    assert batch.contact_count == 3
    assert batch.status == "queued"


def test_batch_ids_are_deterministic_per_seed() -> None:
    def first_id(seed: int) -> str:
        emu = ActiveCampaignEmulator(seed=seed)
        with httpx.Client(transport=emu.transport(), headers={"Api-Token": "test-key"}) as http:
            response = http.post(
                "https://x.api-us1.com/api/3/import/bulk_import", json={"contacts": people(2)}
            )
        return str(response.json()["batchId"])

    assert first_id(1) == first_id(1)
    assert first_id(1) != first_id(2)


def test_whole_request_rejection_lists_every_bad_contact(
    emu: ActiveCampaignEmulator, client: httpx.Client
) -> None:
    vip = emu.add_list("VIP")
    tier = emu.add_field("Tier")
    contacts = [
        {
            "email": "good@example.org",
            "subscribe": [{"listid": vip}],
            "fields": [{"id": tier, "value": "x"}],
        },
        {"email": "no-at.example.org"},
        {"first_name": "No email"},
        {"email": "ok@example.org"},
        {"email": "unknown-list@example.org", "subscribe": [{"listid": 999}]},
        {"email": "unknown-field@example.org", "fields": [{"id": 77, "value": "x"}]},
        {"email": "two..dots@example.org"},
        {"email": "white space@example.org"},
        {"email": "tld@example.c"},
        {"email": "@example.org"},
    ]
    response = submit(client, contacts)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] == 0
    assert body["message"] == NOT_QUEUED
    reasons = {r["contact"]: r["failureReason"] for r in body["failureReasons"]}
    assert sorted(reasons) == [1, 2, 4, 5, 6, 7, 8, 9]
    assert reasons[1] == "Field 'email' incorrect format"
    assert reasons[2] == "Field 'email' is required"
    assert "999" in reasons[4]
    assert "77" in reasons[5]
    assert reasons[6] == reasons[7] == reasons[8] == reasons[9] == "Field 'email' incorrect format"
    assert emu.batches == []
    emu.settle()
    assert emu.contacts == []


def test_contact_count_limits(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    assert submit(client, people(250)).status_code == 200
    too_many = submit(client, people(251))
    assert too_many.status_code == 400
    body = too_many.json()
    assert body["success"] == 0
    assert "250" in body["failureReasons"][0]
    empty = submit(client, [])
    assert empty.status_code == 400
    assert empty.json()["success"] == 0
    missing = client.post(
        "/import/bulk_import", json={"callback": {"url": "x", "requestType": "GET"}}
    )
    assert missing.status_code == 400
    broken = client.post(
        "/import/bulk_import", content=b"[", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["success"] == 0
    assert len(emu.batches) == 1


def test_byte_limit(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    def body_of(size: int) -> bytes:
        base = json.dumps({"contacts": [{"email": "a@example.org", "first_name": ""}]})
        padding = size - len(base)
        return json.dumps(
            {"contacts": [{"email": "a@example.org", "first_name": "x" * padding}]}
        ).encode()

    at_limit = body_of(399_999)  # "less than 400K bytes (399,999 bytes or less)"
    assert len(at_limit) == 399_999
    ok = client.post(
        "/import/bulk_import", content=at_limit, headers={"Content-Type": "application/json"}
    )
    assert ok.status_code == 200
    over = body_of(400_000)
    rejected = client.post(
        "/import/bulk_import", content=over, headers={"Content-Type": "application/json"}
    )
    assert rejected.status_code == 400
    assert "399999" in rejected.json()["failureReasons"][0]
    assert len(emu.batches) == 1


def test_lifecycle(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    response = submit(client, people(250, first_name="P"))
    batch_id = response.json()["batchId"]
    assert info(client, batch_id) == {"status": False, "success": [], "failure": []}
    emu.advance(1.05)
    assert info(client, batch_id)["status"] == "waiting"
    emu.advance(0.25)
    assert info(client, batch_id)["status"] == "claimed"
    emu.advance(0.25)
    assert info(client, batch_id)["status"] == "active"
    assert emu.contact_count == 0  # effects apply at the end
    emu.advance(0.5)  # 2 ms x 250 contacts
    final = info(client, batch_id)
    assert final["status"] == "completed"
    assert len(final["success"]) == 250
    assert final["failure"] == []
    assert emu.contact_count == 250
    assert {c.first_name for c in emu.contacts} == {"P"}
    (batch,) = emu.batches
    assert batch.status == "completed"
    assert batch.attempts == 5
    assert batch.success == tuple(final["success"])


def test_settle_ends_everything(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    first = submit(client, people(5)).json()["batchId"]
    emu.settle()
    assert info(client, first)["status"] == "completed"
    assert emu.contact_count == 5


def test_upsert_semantics(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    vip = emu.add_list("VIP")
    other = emu.add_list("Other")
    tier = emu.add_field("Tier")
    colour = emu.add_field("Colour")
    existing = emu.add_contact("Ana@Example.org", first_name="Ana", last_name="Ruiz", phone="+34")
    emu.set_membership(existing, other, 1)
    client.post(
        "/fieldValues", json={"fieldValue": {"contact": existing, "field": colour, "value": "red"}}
    )
    response = submit(
        client,
        [
            {
                "email": "ana@EXAMPLE.org",
                "last_name": "Ruiz Gil",
                "tags": ["segment:vip", "2024-q2"],
                "fields": [{"id": str(tier), "value": "gold"}],
                "subscribe": [{"listid": str(vip)}],
                "unsubscribe": [{"listid": other}],
                "exclude_automations": True,
            },
            {
                "email": "ben@example.org",
                "first_name": "Ben",
                "tags": ["segment:vip"],
                "subscribe": [{"listid": vip}],
            },
        ],
    )
    batch_id = response.json()["batchId"]
    emu.settle()
    result = info(client, batch_id)
    ben = emu.contact_by_email("ben@example.org")
    assert ben is not None
    assert result["success"] == [str(ben.id)]  # only newly created contacts
    ana = emu.contact_by_email("ana@example.org")
    assert ana is not None
    assert ana.id == existing
    assert (ana.first_name, ana.last_name, ana.phone) == ("Ana", "Ruiz Gil", "+34")
    assert ana.fields == {colour: "red", tier: "gold"}
    assert emu.contact_tags(existing) == {"segment:vip", "2024-q2"}
    assert ana.lists == {other: 2, vip: 1}
    assert emu.list_members(vip) == {"Ana@Example.org": 1, "ben@example.org": 1}


def test_bulk_never_resubscribes(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    vip = emu.add_list("VIP")
    gone = emu.add_contact("gone@example.org", lists={vip: 2})
    unconfirmed = emu.add_contact("maybe@example.org", lists={vip: 0})
    submit(
        client,
        [
            {"email": e, "subscribe": [{"listid": vip}]}
            for e in ("gone@example.org", "maybe@example.org", "new@example.org")
        ],
    )
    emu.settle()
    assert emu.list_members(vip) == {
        "gone@example.org": 2,
        "maybe@example.org": 1,
        "new@example.org": 1,
    }
    assert emu.contact(gone) is not None
    assert emu.contact(unconfirmed) is not None


def test_exclusion_list_and_processing_failures(
    emu: ActiveCampaignEmulator, client: httpx.Client
) -> None:
    emu.exclude_email("Blocked@example.org")
    batch_id = submit(
        client,
        [
            {"email": "blocked@EXAMPLE.org"},
            {"email": "ok@example.org"},
            {"email": "o'neil@example.org"},
        ],
    ).json()["batchId"]
    emu.settle()
    result = info(client, batch_id)
    assert result["failure"] == ["blocked@EXAMPLE.org", "o'neil@example.org"]
    assert len(result["success"]) == 1
    assert [c.email for c in emu.contacts] == ["ok@example.org"]


def test_interrupted_and_failed_batches(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    emu.queue_fault("interrupt_batch")
    interrupted = submit(client, people(5)).json()["batchId"]
    emu.queue_fault("fail_batch")
    failed = submit(client, [{"email": "never@example.org"}, {"email": "nor@example.org"}]).json()[
        "batchId"
    ]
    normal = submit(client, [{"email": "fine@example.org"}, {"email": "also@example.org"}]).json()[
        "batchId"
    ]
    emu.settle()
    result = info(client, interrupted)
    assert result["status"] == "interrupted"
    assert len(result["success"]) == 2  # the first half (5 // 2) was applied
    assert emu.contact_by_email("p1@example.org") is not None
    assert emu.contact_by_email("p2@example.org") is None  # the rest is reported nowhere
    assert sorted(result["success"]) == sorted(
        str(c.id) for c in emu.contacts if c.email in {"p0@example.org", "p1@example.org"}
    )
    assert info(client, failed) == {"status": "failed", "success": [], "failure": []}
    assert emu.contact_by_email("never@example.org") is None
    assert info(client, normal)["status"] == "completed"
    assert emu.contact_count == 4


def test_random_batch_faults_follow_the_seed() -> None:
    from ac_segment_export.testing import EmulatorLimits, Faults

    def outcomes(seed: int) -> list[str]:
        emu = ActiveCampaignEmulator(
            limits=EmulatorLimits.unlimited(),
            faults=Faults(interrupted_batch_rate=0.3, failed_batch_rate=0.3),
            seed=seed,
        )
        with httpx.Client(transport=emu.transport(), headers={"Api-Token": "test-key"}) as http:
            for i in range(20):
                contacts = [{"email": f"a{i}@example.org"}, {"email": f"b{i}@example.org"}]
                http.post(
                    "https://x.api-us1.com/api/3/import/bulk_import", json={"contacts": contacts}
                )
        emu.settle()
        return [b.status for b in emu.batches]

    first = outcomes(7)
    assert first == outcomes(7)
    assert {"completed", "interrupted", "failed"} <= set(first)


def test_info_errors(client: httpx.Client) -> None:
    missing = client.get("/import/info")
    assert missing.status_code == 400
    assert missing.json() == {"success": 0, "message": "'batchId' is a required field."}
    unknown = client.get("/import/info", params={"batchId": "nope"})
    assert unknown.status_code == 404
    assert "nope" in unknown.json()["message"]


def test_aggregate_status(emu: ActiveCampaignEmulator, client: httpx.Client) -> None:
    submit(client, people(3))
    submit(client, people(4))
    pending = client.get("/import/bulk_import").json()
    assert pending["recentlyCompleted"] == []
    (row,) = pending["outstanding"]
    assert (row["batches"], row["contacts"]) == ("2", "7")
    assert len(row["forDate"]) == 10
    emu.settle()
    done = client.get("/import/bulk_import").json()
    assert done["outstanding"] == []
    assert [(r["batches"], r["contacts"]) for r in done["recentlyCompleted"]] == [("2", "7")]
    emu.advance(8 * 24 * 3600)
    assert client.get("/import/bulk_import").json() == {"outstanding": [], "recentlyCompleted": []}


@pytest.mark.parametrize("listid", ["7", 7])
def test_list_ids_as_strings_or_ints(
    emu: ActiveCampaignEmulator, client: httpx.Client, listid: object
) -> None:
    for i in range(7):
        emu.add_list(f"L{i}")
    assert (
        submit(
            client,
            [
                {"email": "a@example.org", "subscribe": [{"listid": listid}]},
                {"email": "b@example.org"},
            ],
        ).status_code
        == 200
    )
    emu.settle()
    assert emu.list_members(7) == {"a@example.org": 1}
