"""Incremental sync: only new or changed contacts are sent; the rest are ``unchanged``."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest

from ac_segment_export import (
    ExportDestination,
    Exporter,
    FieldMapping,
    OutcomeStatus,
    SQLiteSyncState,
    SyncMeta,
    SyncStateStore,
)

from .conftest import FAST, MAPPING, NAME, rows, sent_emails

if TYPE_CHECKING:
    from ac_segment_export import Connection, Workspace
    from ac_segment_export.testing import ActiveCampaignEmulator

N = 600


def test_the_second_run_sends_nothing(
    any_ws: tuple[Workspace, Connection], emu: ActiveCampaignEmulator
) -> None:
    ws, _ = any_ws
    first = ws.run(NAME, rows(N))
    assert first.exported == N
    assert first.full_refresh is True
    assert ws.synced_contacts(NAME) == N
    emu.reset_requests()
    second = ws.run(NAME, rows(N))
    assert second.full_refresh is False
    assert second.counts["unchanged"] == N
    assert second.exported == 0
    assert second.balanced
    assert "unchanged 600" in second.equation
    assert sent_emails(emu) == []
    assert all(r.method == "GET" for r in emu.requests)
    assert ws.history()[0].unchanged == N


def test_changing_ten_profiles_sends_those_ten(
    any_ws: tuple[Workspace, Connection], emu: ActiveCampaignEmulator
) -> None:
    ws, _ = any_ws
    ws.run(NAME, rows(N))
    changed = rows(N)
    for i in (3, 50, 99, 120, 250, 251, 400, 401, 500, 599):
        changed[i]["tier"] = "platinum" if i % 2 else "silver"
    changed[3]["first"] = "Renamed"
    emu.reset_requests()
    report = ws.run(NAME, changed)
    assert report.exported == 10
    assert report.counts["unchanged"] == N - 10
    expected = {changed[i]["email"] for i in (3, 50, 99, 120, 250, 251, 400, 401, 500, 599)}
    assert set(sent_emails(emu)) == expected
    contact = emu.contact_by_email("user3@example.com")
    assert contact is not None
    assert contact.first_name == "Renamed"
    emu.reset_requests()
    assert ws.run(NAME, changed).exported == 0  # and now they are in sync


def test_new_profiles_are_sent_and_leavers_stay_in_the_state(
    ws: Workspace, emu: ActiveCampaignEmulator
) -> None:
    ws.run(NAME, rows(100))
    emu.reset_requests()
    report = ws.run(NAME, rows(100, start=50))
    assert report.exported == 50
    assert report.counts["unchanged"] == 50
    assert set(sent_emails(emu)) == {f"user{i}@example.com" for i in range(100, 150)}
    assert ws.synced_contacts(NAME) == 150


def test_a_mapping_change_sends_everything(
    any_ws: tuple[Workspace, Connection], emu: ActiveCampaignEmulator
) -> None:
    ws, connection = any_ws
    ws.run(NAME, rows(N))
    other = FieldMapping(email="email", first_name="first", last_name="tier")
    ws.save_export(ExportDestination(connection, NAME, 1, other), options=FAST, replace=True)
    emu.reset_requests()
    report = ws.run(NAME, rows(N))
    assert report.full_refresh is True
    assert report.exported == N
    assert len(sent_emails(emu)) == N
    assert ws.run(NAME, rows(N)).exported == 0


def test_tags_are_part_of_what_is_compared(
    ws: Workspace, emu: ActiveCampaignEmulator, connection: Connection
) -> None:
    ws.run(NAME, rows(50))
    tagged = ExportDestination(connection, NAME, 1, MAPPING, tags=("vip",))
    ws.save_export(tagged, options=FAST, replace=True)
    assert ws.run(NAME, rows(50)).exported == 50


def test_full_refresh_sends_everything_and_rebuilds_the_state(
    ws: Workspace, emu: ActiveCampaignEmulator
) -> None:
    ws.run(NAME, rows(N))
    emu.reset_requests()
    report = ws.run(NAME, rows(300), full_refresh=True)
    assert report.exported == 300
    assert report.full_refresh is True
    assert len(sent_emails(emu)) == 300
    assert ws.synced_contacts(NAME) == 300  # rebuilt: only what this refresh confirmed
    assert ws.run(NAME, rows(300)).exported == 0


def test_full_refresh_every_heals_drift(ws: Workspace, emu: ActiveCampaignEmulator) -> None:
    ws.run(NAME, rows(100))
    assert ws.run(NAME, rows(100)).exported == 0
    store = ws.sync_state(NAME)
    assert isinstance(store, SQLiteSyncState)
    meta = store.meta()
    assert meta is not None
    assert meta.refresh_started_at is None
    assert meta.full_refresh_at is not None
    week_ago = meta.full_refresh_at - dt.timedelta(days=7, seconds=1)
    store.set_meta(SyncMeta(meta.fingerprint, week_ago, None))
    report = ws.run(NAME, rows(100))
    assert report.full_refresh is True
    assert report.exported == 100
    assert ws.run(NAME, rows(100)).exported == 0


def test_an_interrupted_full_refresh_is_continued_then_completed(
    ws: Workspace, emu: ActiveCampaignEmulator
) -> None:
    def stop_after(n: int) -> object:
        yield from rows(n)
        raise KeyboardInterrupt

    with pytest.raises(Exception, match="interrupted"):
        ws.run(NAME, stop_after(700))
    confirmed = ws.synced_contacts(NAME)
    emu.reset_requests()
    report = ws.run(NAME, rows(N + 100))
    assert report.full_refresh is True  # the refresh goes on
    assert report.counts["unchanged"] == confirmed
    assert report.exported == N + 100 - confirmed
    emu.reset_requests()
    later = ws.run(NAME, rows(N + 100))
    assert later.full_refresh is False  # and it completed
    assert later.exported == 0


def test_failed_contacts_are_not_recorded_as_synced(
    ws: Workspace, emu: ActiveCampaignEmulator
) -> None:
    emu.exclude_email("user7@example.com")
    first = ws.run(NAME, rows(50))
    assert first.counts["failed"] == 1
    assert ws.synced_contacts(NAME) == 49
    emu.reset_requests()
    second = ws.run(NAME, rows(50))
    assert second.counts["unchanged"] == 49
    assert sent_emails(emu) == ["user7@example.com"]


def test_the_small_remainder_through_contact_sync_is_recorded_too(
    ws: Workspace, emu: ActiveCampaignEmulator
) -> None:
    ws.run(NAME, rows(5))  # 5 contacts go through contact/sync, not bulk import
    assert ws.synced_contacts(NAME) == 5
    emu.reset_requests()
    assert ws.run(NAME, rows(5)).counts["unchanged"] == 5
    assert sent_emails(emu) == []


def test_dry_run_counts_what_would_be_sent_and_writes_nothing(
    ws: Workspace, emu: ActiveCampaignEmulator
) -> None:
    ws.run(NAME, rows(100))
    changed = rows(120)
    changed[0]["tier"] = "platinum"
    emu.reset_requests()
    report = ws.run(NAME, changed, dry_run=True)
    assert report.dry_run
    assert report.counts["unchanged"] == 99
    assert report.exported == 21  # would be sent
    assert report.would_subscribe == 20
    assert sent_emails(emu) == []
    assert ws.synced_contacts(NAME) == 100
    assert "would send 21 (unchanged 99), would subscribe 20" in report.summary()
    assert ws.run(NAME, changed).exported == 21


def test_rejected_and_duplicate_profiles_keep_their_outcomes(ws: Workspace) -> None:
    ws.run(NAME, rows(20))
    profiles = [*rows(20), {"email": "bad"}, rows(1)[0]]
    report = ws.run(NAME, profiles)
    assert report.counts["unchanged"] == 20
    assert report.counts["rejected"] == 1
    assert report.counts["duplicate"] == 1
    assert report.balanced
    assert not report.by_status(OutcomeStatus.UNCHANGED)  # counted, not listed


def test_an_exporter_takes_any_sync_state_store(
    destination_args: tuple[Connection, ActiveCampaignEmulator],
) -> None:
    connection, emu = destination_args
    store = MemoryStore()
    assert isinstance(store, SyncStateStore)
    destination = ExportDestination(connection, "Mem", 1, MAPPING)
    from .conftest import client_options

    with connection.client(client_options(emu)) as client:
        first = Exporter(destination, client=client, options=FAST, sync_state=store).run(rows(40))
        again = Exporter(destination, client=client, options=FAST, sync_state=store).run(rows(40))
        forced = Exporter(
            destination, client=client, options=FAST, sync_state=store, full_refresh=True
        ).run(rows(40))
    assert first.exported == 40
    assert again.counts["unchanged"] == 40
    assert forced.exported == 40
    assert len(store.pairs) == 40


class FailingStore:
    """A store whose writes start failing after *ok* confirmations (a full disk)."""

    def __init__(self, ok: int) -> None:
        self.inner = MemoryStore()
        self.ok = ok

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def confirm(self, entries: object) -> None:
        if self.ok <= 0:
            msg = "database or disk is full"
            raise OSError(msg)
        self.ok -= 1
        self.inner.confirm(entries)


def test_a_failing_store_never_stops_the_export_and_only_costs_resends(
    destination_args: tuple[Connection, ActiveCampaignEmulator],
) -> None:
    connection, emu = destination_args
    from .conftest import client_options

    store = FailingStore(ok=1)
    destination = ExportDestination(connection, "Full disk", 1, MAPPING)
    with connection.client(client_options(emu)) as client:
        first = Exporter(destination, client=client, options=FAST, sync_state=store).run(rows(600))
        assert first.exported == 600
        assert first.sync_problem is not None
        assert "disk is full" in first.sync_problem
        assert "incremental sync:" in first.summary()
        assert len(store.inner.pairs) == 250  # the one batch recorded before the failure
        store.ok = 10
        second = Exporter(destination, client=client, options=FAST, sync_state=store).run(rows(600))
    assert second.counts["unchanged"] == 250
    assert second.exported == 350
    assert second.sync_problem is None


@pytest.fixture
def destination_args(
    connection: Connection, emu: ActiveCampaignEmulator
) -> tuple[Connection, ActiveCampaignEmulator]:
    return connection, emu


class MemoryStore:
    """A SyncStateStore in a dict: what a platform with its own database writes."""

    def __init__(self) -> None:
        self.pairs: dict[int, int] = {}
        self._meta: SyncMeta | None = None

    def meta(self) -> SyncMeta | None:
        return self._meta

    def set_meta(self, meta: SyncMeta, *, clear: bool = False) -> None:
        if clear:
            self.pairs.clear()
        self._meta = meta

    def entries(self) -> list[tuple[int, int]]:
        return list(self.pairs.items())

    def confirm(self, entries: object) -> None:
        self.pairs.update(entries)  # type: ignore[call-overload]

    def forget(self, email_hashes: object) -> None:
        for h in email_hashes:  # type: ignore[attr-defined]
            self.pairs.pop(h, None)

    def mirror_unsubscribes(self) -> list[object]:
        return []

    def record_unsubscribes(self, records: object) -> None:
        pass

    def drop_unsubscribes(self, email_hashes: object) -> None:
        pass
