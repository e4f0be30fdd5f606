"""`Readings`: each reading of what ActiveCampaign's documentation leaves open."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits, Readings

from .conftest import make_client

if TYPE_CHECKING:
    import httpx


def emulator(readings: Readings = Readings(), **kwargs: Any) -> ActiveCampaignEmulator:  # noqa: B008
    kwargs.setdefault("limits", EmulatorLimits.unlimited())
    return ActiveCampaignEmulator(readings=readings, **kwargs)


def submit(http: httpx.Client, contacts: list[dict[str, Any]]) -> httpx.Response:
    return http.post("/import/bulk_import", json={"contacts": contacts})


def info(http: httpx.Client, batch_id: str) -> dict[str, Any]:
    body: dict[str, Any] = http.get("/import/info", params={"batchId": batch_id}).json()
    return body


def test_defaults_are_the_emulators_choices() -> None:
    readings = Readings()
    assert readings.failure_index_base == 0
    assert readings.unsubscribed_in_failure is False
    assert readings.throttle_status == 429
    assert readings.fields_create_shape == "field"
    assert readings.extra_batch_status is None
    assert ActiveCampaignEmulator().readings == readings
    assert Readings.alternative() == Readings(
        failure_index_base=1,
        unsubscribed_in_failure=True,
        throttle_status=503,
        fields_create_shape="fields",
        extra_batch_status="queued",
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"failure_index_base": 2}, "failure_index_base must be 0 or 1"),
        ({"failure_index_base": True}, "failure_index_base must be 0 or 1"),
        ({"throttle_status": 500}, "throttle_status must be 429 or 503"),
        ({"fields_create_shape": "Field"}, "fields_create_shape must be"),
        ({"extra_batch_status": ""}, "non-empty string"),
        ({"extra_batch_status": "active"}, "must not be a documented status"),
    ],
)
def test_readings_validate(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Readings(**kwargs)


@pytest.mark.parametrize("base", [0, 1])
def test_failure_index_base(base: int) -> None:
    emu = emulator(Readings(failure_index_base=base))  # type: ignore[arg-type]
    contacts: list[dict[str, Any]] = [{"email": f"p{i}@example.org"} for i in range(5)]
    contacts[0]["email"] = "first-bad"
    contacts[3]["email"] = "also bad@example.org"
    with make_client(emu) as http:
        rejected = submit(http, contacts)
    assert rejected.status_code == 400
    assert [r["contact"] for r in rejected.json()["failureReasons"]] == [0 + base, 3 + base]
    assert emu.batches == []


def _unsubscribed_setup(emu: ActiveCampaignEmulator) -> tuple[int, int]:
    vip = emu.add_list("VIP")
    other = emu.add_list("Other")
    emu.add_contact("left@example.org", first_name="Old", lists={vip: 2})
    emu.add_contact("bounced@example.org", first_name="Old", lists={other: 1})
    emu.mark_bounced("bounced@example.org")
    emu.add_contact("kept@example.org", lists={other: 2})  # left another list only
    emu.exclude_email("blocked@example.org")
    return vip, other


def _batch_for_unsubscribed(vip: int) -> list[dict[str, Any]]:
    return [
        {"email": address, "first_name": "New", "subscribe": [{"listid": vip}]}
        for address in (
            "fresh@example.org",
            "left@example.org",
            "bounced@example.org",
            "kept@example.org",
            "blocked@example.org",
        )
    ]


def test_unsubscribed_and_bounced_by_default_are_updated_not_subscribed_not_failed() -> None:
    emu = emulator()
    vip, other = _unsubscribed_setup(emu)
    with make_client(emu) as http:
        batch_id = submit(http, _batch_for_unsubscribed(vip)).json()["batchId"]
        emu.settle()
        result = info(http, batch_id)
    assert result["status"] == "completed"
    assert result["failure"] == ["blocked@example.org"]
    assert len(result["success"]) == 1  # fresh@ is the only new contact
    assert emu.list_members(vip) == {
        "fresh@example.org": 1,
        "left@example.org": 2,
        "kept@example.org": 1,
    }
    left = emu.contact_by_email("left@example.org")
    bounced = emu.contact_by_email("bounced@example.org")
    assert left is not None
    assert bounced is not None
    assert left.first_name == bounced.first_name == "New"
    assert bounced.bounced
    assert bounced.lists == {other: 3}


def test_unsubscribed_in_failure_lists_them_and_imports_nothing_of_them() -> None:
    emu = emulator(Readings(unsubscribed_in_failure=True))
    vip, other = _unsubscribed_setup(emu)
    with make_client(emu) as http:
        batch_id = submit(http, _batch_for_unsubscribed(vip)).json()["batchId"]
        emu.settle()
        result = info(http, batch_id)
    assert result["status"] == "completed"
    assert result["failure"] == [
        "left@example.org",
        "bounced@example.org",
        "blocked@example.org",
    ]
    assert len(result["success"]) == 1
    assert emu.list_members(vip) == {
        "fresh@example.org": 1,
        "left@example.org": 2,
        "kept@example.org": 1,  # unsubscribed from another list only: imported
    }
    left = emu.contact_by_email("left@example.org")
    kept = emu.contact_by_email("kept@example.org")
    assert left is not None
    assert kept is not None
    assert left.first_name == "Old"  # not imported at all
    assert kept.first_name == "New"
    assert kept.lists == {other: 2, vip: 1}


def test_mark_bounced() -> None:
    emu = emulator()
    lst = emu.add_list("L")
    cid = emu.add_contact("b@example.org", lists={lst: 1})
    with pytest.raises(KeyError):
        emu.mark_bounced("nobody@example.org")
    emu.mark_bounced("B@example.org")
    assert emu.list_members(lst) == {"b@example.org": 3}
    with make_client(emu) as http:
        shown = http.get(f"/contacts/{cid}").json()
    assert shown["contact"]["bounced_hard"] == "1"
    assert shown["contactLists"][0]["status"] == "3"


@pytest.mark.parametrize("status", [429, 503])
def test_throttle_status(status: int) -> None:
    emu = ActiveCampaignEmulator(readings=Readings(throttle_status=status))  # type: ignore[arg-type]
    with make_client(emu) as http:
        answers = [http.get("/users/me") for _ in range(6)]
    assert [r.status_code for r in answers] == [200] * 5 + [status]
    limited = answers[-1]
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["RateLimit-Limit"] == "5"
    assert limited.headers["RateLimit-Remaining"] == "0"
    assert limited.json() == {"message": "Too Many Requests"}
    assert emu.requests[-1].status == status
    assert emu.requests[-1].fault is None


def test_scripted_429_stays_429_with_503_throttling() -> None:
    emu = emulator(Readings(throttle_status=503))
    emu.queue_fault("429")
    with make_client(emu) as http:
        assert http.get("/users/me").status_code == 429


@pytest.mark.parametrize("shape", ["field", "fields"])
def test_fields_create_shape(shape: str) -> None:
    emu = emulator(Readings(fields_create_shape=shape))  # type: ignore[arg-type]
    with make_client(emu) as http:
        created = http.post("/fields", json={"field": {"type": "text", "title": "Tier"}})
        duplicate = http.post("/fields", json={"field": {"type": "text", "title": "Tier"}})
    assert created.status_code == 201
    body = created.json()
    if shape == "field":
        assert set(body) == {"field"}
        field = body["field"]
    else:
        assert set(body) == {"fieldOptions", "fieldRels", "fields", "meta"}
        assert body["fieldOptions"] == []
        assert body["meta"] == {"total": "1"}
        (field,) = body["fields"]
    assert field["title"] == "Tier"
    assert field["perstag"] == "TIER"
    assert field["id"] == str(emu.fields[0].id)
    assert duplicate.status_code == 422  # errors keep their shape in both readings


def test_delete_field_and_list() -> None:
    emu = emulator()
    lst = emu.add_list("Scratch")
    fid = emu.add_field("Scratch field")
    cid = emu.add_contact("a@example.org", lists={lst: 1})
    emu.add_contact("b@example.org")
    with make_client(emu) as http:
        assert http.post(
            "/fieldValues", json={"fieldValue": {"contact": cid, "field": fid, "value": "x"}}
        ).is_success
        assert http.delete(f"/fields/{fid}").json() == {}
        assert http.delete(f"/fields/{fid}").status_code == 404
        assert http.delete(f"/lists/{lst}").json() == {}
        assert http.delete(f"/lists/{lst}").status_code == 404
        assert http.get(f"/lists/{lst}").status_code == 404
    assert emu.fields == []
    assert emu.lists == []
    assert emu.field_values(cid) == {}
    contact = emu.contact(cid)
    assert contact is not None
    assert contact.lists == {}


def test_pending_batch_survives_deleting_its_list_and_field() -> None:
    emu = emulator()
    lst = emu.add_list("Scratch")
    fid = emu.add_field("F")
    with make_client(emu) as http:
        item = {"email": "a@example.org", "fields": [{"id": fid, "value": "1"}]}
        item["subscribe"] = [{"listid": lst}]
        item["unsubscribe"] = [{"listid": lst}]
        batch_id = submit(http, [item, {"email": "b@example.org"}]).json()["batchId"]
        http.delete(f"/lists/{lst}")
        http.delete(f"/fields/{fid}")
        emu.settle()
        assert info(http, batch_id)["status"] == "completed"
    contact = emu.contact_by_email("a@example.org")
    assert contact is not None
    assert contact.lists == {}
    assert contact.fields == {}


def test_extra_batch_status_between_claimed_and_active() -> None:
    emu = emulator(Readings(extra_batch_status="queued"))
    with make_client(emu) as http:
        batch_id = submit(http, [{"email": f"p{i}@example.org"} for i in range(10)]).json()[
            "batchId"
        ]
        seen: list[object] = []
        for step in [0.5, 0.6, 0.25, 0.25, 0.25, 0.25]:
            seen.append(info(http, batch_id)["status"])
            emu.advance(step)
        seen.append(info(http, batch_id)["status"])
    # Asked at 0, 0.5, 1.1, 1.35, 1.6 and 1.85 emulated seconds: the batch ends at
    # 1.75 + 10 * 2 ms = 1.77.
    assert seen[:5] == [False, False, "waiting", "claimed", "queued"]
    assert seen[-1] == "completed"
    (batch,) = emu.batches
    assert batch.ends_at == pytest.approx(batch.submitted_at + 1.75 + 10 * 0.002)


def test_extra_batch_status_in_snapshots_is_unambiguous() -> None:
    emu = emulator(Readings(extra_batch_status="queued"))
    with make_client(emu) as http:
        submit(http, [{"email": f"p{i}@example.org"} for i in range(250)])  # active 0.5 s
    (batch,) = emu.batches
    assert (batch.status, batch.info_status) == ("queued", False)
    emu.advance(1.6)
    (batch,) = emu.batches
    assert (batch.status, batch.info_status) == ("queued", "queued")
    emu.advance(0.2)
    (batch,) = emu.batches
    assert (batch.status, batch.info_status) == ("active", "active")


def test_default_lifecycle_has_no_extra_status() -> None:
    emu = emulator()
    with make_client(emu) as http:
        contacts = [{"email": f"p{i}@example.org"} for i in range(250)]  # active 0.5 s
        batch_id = submit(http, contacts).json()["batchId"]
        emu.advance(1.3)
        assert info(http, batch_id)["status"] == "claimed"
        emu.advance(0.25)
        assert info(http, batch_id)["status"] == "active"
        emu.advance(0.5)
        assert info(http, batch_id)["status"] == "completed"


def test_batches_keep_their_contacts() -> None:
    emu = emulator()
    with make_client(emu) as http:
        submit(http, [{"email": "A@example.org", "first_name": "A"}, {"email": "b@example.org"}])
    emu.settle()
    (batch,) = emu.batches
    assert batch.emails == ("A@example.org", "b@example.org")
    assert batch.contacts[0] == {"email": "A@example.org", "first_name": "A"}
    quiet = emulator(record_bodies=False)
    with make_client(quiet) as http:
        submit(http, [{"email": "a@example.org"}, {"email": "b@example.org"}])
    (batch,) = quiet.batches
    assert (batch.emails, batch.contacts, batch.contact_count) == ((), (), 2)
