"""The ``drop_after_write`` fault: carried out in full, then the connection is dropped."""

from __future__ import annotations

import contextlib

import httpx
import pytest

from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits, Faults

from .conftest import make_client

HEADERS = {"Api-Token": "test-key"}
TWO = {"contacts": [{"email": "a@example.org"}, {"email": "b@example.org"}]}


@pytest.fixture
def emu() -> ActiveCampaignEmulator:
    return ActiveCampaignEmulator(limits=EmulatorLimits.unlimited())


def test_bulk_batch_is_queued_although_the_answer_is_dropped(emu: ActiveCampaignEmulator) -> None:
    emu.queue_fault("drop_after_write", path="/import/bulk_import")
    with make_client(emu) as http:
        with pytest.raises(
            httpx.RemoteProtocolError, match="Server disconnected without sending a response"
        ):
            http.post("/import/bulk_import", json=TWO)
        answered = http.post("/import/bulk_import", json=TWO)
        assert answered.status_code == 200
    dropped, delivered = emu.requests
    assert (dropped.status, dropped.fault, dropped.processed_status) == (
        0,
        "drop_after_write",
        200,
    )
    assert dropped.applied
    assert dropped.accepted_bulk_import
    assert (delivered.status, delivered.fault, delivered.processed_status) == (200, None, 200)
    assert [r.batch_id for r in emu.accepted_bulk_imports()] == [b.id for b in emu.batches]
    assert delivered.batch_id == answered.json()["batchId"]
    emu.settle()
    assert all(b.status == "completed" for b in emu.batches)
    assert [b.emails for b in emu.batches] == [("a@example.org", "b@example.org")] * 2
    assert emu.contact_count == 2


def test_drop_before_processing_changes_nothing(emu: ActiveCampaignEmulator) -> None:
    emu.queue_fault("drop", path="/import/bulk_import")
    with make_client(emu) as http, pytest.raises(httpx.RemoteProtocolError):
        http.post("/import/bulk_import", json=TWO)
    (dropped,) = emu.requests
    assert (dropped.status, dropped.fault, dropped.processed_status) == (0, "drop", None)
    assert not dropped.applied
    assert dropped.batch_id is None
    assert emu.batches == []
    assert emu.accepted_bulk_imports() == []


def test_rejected_bulk_dropped_after_write_is_not_accepted(emu: ActiveCampaignEmulator) -> None:
    emu.queue_fault("drop_after_write")
    with make_client(emu) as http, pytest.raises(httpx.RemoteProtocolError):
        http.post("/import/bulk_import", json={"contacts": [{"email": "bad"}, {"email": "x"}]})
    (dropped,) = emu.requests
    assert (dropped.status, dropped.processed_status, dropped.batch_id) == (0, 400, None)
    assert emu.accepted_bulk_imports() == []


def test_contact_write_applies_before_the_drop(emu: ActiveCampaignEmulator) -> None:
    emu.queue_fault("drop_after_write", path="/contact/sync")
    with make_client(emu) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/contact/sync", json={"contact": {"email": "a@example.org"}})
        again = http.post("/contact/sync", json={"contact": {"email": "a@example.org"}})
    assert again.status_code == 200  # an update: the first one took effect
    assert [(r.status, r.processed_status) for r in emu.requests] == [(0, 201), (200, 200)]


def test_path_filter_and_count(emu: ActiveCampaignEmulator) -> None:
    emu.queue_fault("drop_after_write", count=2, path="/import")
    with make_client(emu) as http:
        assert http.get("/users/me").status_code == 200  # does not match the path
        for _ in range(2):
            with pytest.raises(httpx.RemoteProtocolError):
                http.post("/import/bulk_import", json=TWO)
        assert http.post("/import/bulk_import", json=TWO).status_code == 200
    assert len(emu.accepted_bulk_imports()) == 3
    assert [r.fault for r in emu.requests] == [None, "drop_after_write", "drop_after_write", None]


def test_random_drop_after_write_follows_the_seed() -> None:
    def run(seed: int) -> list[int]:
        emu = ActiveCampaignEmulator(
            limits=EmulatorLimits.unlimited(), faults=Faults(drop_after_write_rate=0.5), seed=seed
        )
        with make_client(emu) as http:
            for _ in range(20):
                with contextlib.suppress(httpx.RemoteProtocolError):
                    http.post("/import/bulk_import", json=TWO)
        assert len(emu.accepted_bulk_imports()) == 20 == len(emu.batches)
        return [r.status for r in emu.requests]

    first = run(3)
    assert first == run(3)
    assert 0 < first.count(0) < 20
    assert set(first) == {0, 200}
    with pytest.raises(ValueError, match="drop_after_write_rate"):
        Faults(drop_after_write_rate=1.5)


@pytest.mark.anyio
async def test_async_transport_drop_after_write(emu: ActiveCampaignEmulator) -> None:
    emu.queue_fault("drop_after_write")
    async with httpx.AsyncClient(
        transport=emu.transport(), base_url="https://acme.api-us1.com/api/3", headers=HEADERS
    ) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("/import/bulk_import", json=TWO)
    assert len(emu.batches) == 1


def test_drop_after_write_over_the_socket(emu: ActiveCampaignEmulator) -> None:
    emu.queue_fault("drop_after_write", path="/import/bulk_import")
    with (
        emu.serve() as base_url,
        httpx.Client(base_url=f"{base_url}/api/3", headers=HEADERS) as http,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/import/bulk_import", json=TWO)
        assert http.post("/import/bulk_import", json=TWO).status_code == 200
        assert http.get("/users/me").status_code == 200  # the client reconnects
    assert [r.status for r in emu.requests] == [0, 200, 200]
    assert len(emu.accepted_bulk_imports()) == 2
    assert len(emu.batches) == 2
