"""Due runs: what is due, one run for missed fire times, DST, busy leases, sources, history."""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Any

import pytest

from ac_segment_export import (
    Actor,
    Audience,
    ConfigurationError,
    DueOutcome,
    ExportDestination,
    ExportInProgressError,
    RunStatus,
    SavedExport,
    SavedSource,
    Schedule,
    Workspace,
)

from .conftest import FAST, KEY_ENV, MAPPING, NAME, client_options, rows, sent_emails

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from pathlib import Path

    from ac_segment_export import Connection
    from ac_segment_export.testing import ActiveCampaignEmulator

UTC = dt.timezone.utc
SOURCE = SavedSource(input="/data/vip.csv")
DAILY = Schedule("0 6 * * *", "Europe/Rome")  # 05:00 UTC in winter
NEW_YEAR = dt.datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def set_anchor(ws: Workspace, name: str, when: dt.datetime) -> None:
    """Make the schedule count from *when* (saving counts from the real now)."""
    with ws._tx() as db:
        db.execute(
            "UPDATE exports SET schedule_anchor = ? WHERE name = ?", (when.isoformat(), name)
        )


def schedule(
    ws: Workspace,
    connection: Connection,
    cron: Schedule = DAILY,
    *,
    since: dt.datetime = NEW_YEAR,
    name: str = NAME,
    **extra: Any,
) -> SavedExport:
    ws.save_export(
        ExportDestination(connection, name, 1, MAPPING),
        options=FAST,
        schedule=cron,
        source=SOURCE,
        replace=True,
        **extra,
    )
    set_anchor(ws, name, since)
    return ws.get_export(name)


class Sources:
    """An ``open_source``: the profiles of each export, and which exports it was asked for."""

    def __init__(self, profiles: Iterable[Mapping[str, Any]] | None = None) -> None:
        self.profiles = list(profiles if profiles is not None else rows(20))
        self.asked: list[SavedExport] = []

    def __call__(self, export: SavedExport) -> Iterable[Mapping[str, Any]]:
        self.asked.append(export)
        return self.profiles


def test_an_export_is_due_once_a_fire_time_passed_since_its_anchor(
    ws: Workspace, connection: Connection, emu: ActiveCampaignEmulator
) -> None:
    saved = schedule(ws, connection)
    assert saved.schedule_anchor == utc(2026, 1, 1, 12, 0)
    assert saved.next_fire() == utc(2026, 1, 2, 5, 0)
    assert ws.due(now=utc(2026, 1, 2, 4, 59)) == []
    assert [e.name for e in ws.due(now=utc(2026, 1, 2, 5, 0))] == [NAME]
    source = Sources()
    (result,) = ws.run_due(source, now=utc(2026, 1, 2, 5, 1))
    assert result.outcome is DueOutcome.SUCCEEDED
    assert not result.failed
    assert result.fire_time == utc(2026, 1, 2, 5, 0)
    assert result.report is not None
    assert result.report.exported == 20
    assert [e.source for e in source.asked] == [SOURCE]
    assert len(sent_emails(emu)) == 20
    (record,) = ws.history(NAME)
    assert record.id == result.run_id
    assert record.status is RunStatus.SUCCEEDED
    assert record.scheduled_for == utc(2026, 1, 2, 5, 0)
    assert record.exported == 20
    assert ws.get_export(NAME).schedule_anchor == utc(2026, 1, 2, 5, 0)
    assert ws.get_export(NAME).next_fire() == utc(2026, 1, 3, 5, 0)
    assert ws.due(now=utc(2026, 1, 3, 4, 59)) == []
    assert ws.run_due(source, now=utc(2026, 1, 3, 4, 59)) == []
    assert len(source.asked) == 1


def test_several_missed_fire_times_make_one_run_for_the_latest(
    ws: Workspace, connection: Connection
) -> None:
    schedule(ws, connection)
    source = Sources()
    now = utc(2026, 1, 9, 12, 0)  # seven fire times passed
    (result,) = ws.run_due(source, now=now)
    assert result.fire_time == utc(2026, 1, 9, 5, 0)
    assert ws.run_due(source, now=now) == []
    assert [r.scheduled_for for r in ws.history(NAME)] == [utc(2026, 1, 9, 5, 0)]


def test_a_new_schedule_counts_from_when_it_is_saved(ws: Workspace, connection: Connection) -> None:
    before = dt.datetime.now(UTC)
    ws.save_export(
        ExportDestination(connection, NAME, 1, MAPPING),
        options=FAST,
        schedule=DAILY,
        source=SOURCE,
        replace=True,
    )
    saved = ws.get_export(NAME)
    assert saved.schedule_anchor is not None
    assert saved.schedule_anchor >= before
    assert ws.due() == []  # not due for fire times before it was saved
    set_anchor(ws, NAME, utc(2026, 1, 1, 12, 0))
    # saving it again with the same schedule keeps its anchor; another schedule resets it
    ws.save_export(
        ExportDestination(connection, NAME, 1, MAPPING),
        options=FAST,
        schedule=DAILY,
        source=SOURCE,
        replace=True,
    )
    assert ws.get_export(NAME).schedule_anchor == utc(2026, 1, 1, 12, 0)
    ws.save_export(
        ExportDestination(connection, NAME, 1, MAPPING),
        schedule=Schedule("0 7 * * *", "Europe/Rome"),
        source=SOURCE,
        replace=True,
    )
    anchor = ws.get_export(NAME).schedule_anchor
    assert anchor is not None
    assert anchor >= before
    ws.save_export(ExportDestination(connection, NAME, 1, MAPPING), replace=True)
    assert ws.get_export(NAME).schedule_anchor is None
    assert ws.get_export(NAME).next_fire() is None


def test_a_schedule_without_a_source_is_refused_when_saved(
    ws: Workspace, connection: Connection
) -> None:
    with pytest.raises(ConfigurationError, match="has a schedule but no source"):
        ws.save_export(ExportDestination(connection, "Nightly", 1, MAPPING), schedule=DAILY)
    assert [e.name for e in ws.exports()] == [NAME]
    with pytest.raises(ConfigurationError, match="source must be a SavedSource"):
        ws.save_export(
            ExportDestination(connection, "Nightly", 1, MAPPING),
            source="/data/vip.csv",  # type: ignore[arg-type]
        )
    saved = ws.save_export(ExportDestination(connection, "On demand", 1, MAPPING), source=SOURCE)
    assert saved.source == SOURCE  # a source without a schedule is fine (run on demand)
    assert saved.schedule is None
    assert saved.schedule_anchor is None


def test_spring_forward_the_skipped_time_runs_once(ws: Workspace, connection: Connection) -> None:
    # New York, 2026-03-08: 02:30 does not exist; it runs at 03:00 EDT (07:00 UTC).
    schedule(ws, connection, Schedule("30 2 * * *", "America/New_York"), since=utc(2026, 3, 7, 12))
    source = Sources()
    assert ws.run_due(source, now=utc(2026, 3, 8, 6, 59)) == []
    (result,) = ws.run_due(source, now=utc(2026, 3, 8, 7, 0))
    assert result.fire_time == utc(2026, 3, 8, 7, 0)
    assert ws.run_due(source, now=utc(2026, 3, 8, 23, 0)) == []
    (after,) = ws.run_due(source, now=utc(2026, 3, 9, 7, 0))
    assert after.fire_time == utc(2026, 3, 9, 6, 30)  # 02:30 EDT
    assert len(ws.history(NAME)) == 2


def test_fall_back_the_repeated_time_runs_once_not_twice(
    ws: Workspace, connection: Connection
) -> None:
    # Europe/Rome, 2026-10-25: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
    schedule(ws, connection, Schedule("30 2 * * *", "Europe/Rome"), since=utc(2026, 10, 24, 12))
    source = Sources()
    (result,) = ws.run_due(source, now=utc(2026, 10, 25, 0, 31))
    assert result.fire_time == utc(2026, 10, 25, 0, 30)
    assert ws.run_due(source, now=utc(2026, 10, 25, 1, 31)) == []  # the second 02:30
    assert ws.run_due(source, now=utc(2026, 10, 25, 23, 0)) == []
    assert len(ws.history(NAME)) == 1


def test_the_fall_back_day_in_new_york(ws: Workspace, connection: Connection) -> None:
    schedule(ws, connection, Schedule("30 1 * * *", "America/New_York"), since=utc(2026, 10, 31))
    source = Sources()
    assert [r.fire_time for r in ws.run_due(source, now=utc(2026, 11, 1, 5, 30))] == [
        utc(2026, 11, 1, 5, 30)
    ]
    assert ws.run_due(source, now=utc(2026, 11, 1, 6, 30)) == []  # 01:30 EST
    assert ws.due(now=utc(2026, 11, 2, 6, 29)) == []


class Holder:
    """A manual run of the export in a thread, holding the lease until released."""

    def __init__(self, ws: Workspace) -> None:
        self.reading = threading.Event()
        self.release = threading.Event()
        self.error: BaseException | None = None

        def source() -> Iterator[dict[str, Any]]:
            yield from rows(300)
            self.reading.set()
            assert self.release.wait(30)

        def target() -> None:
            try:
                ws.run(NAME, source(), actor=Actor.admin("ada@example.com"))
            except BaseException as exc:
                self.error = exc

        self.thread = threading.Thread(target=target)
        self.thread.start()
        assert self.reading.wait(30)

    def finish(self) -> None:
        self.release.set()
        self.thread.join(30)
        assert self.error is None, self.error


def test_an_export_whose_lease_is_held_is_busy_and_stays_due(
    ws: Workspace, connection: Connection, emu: ActiveCampaignEmulator
) -> None:
    schedule(ws, connection)
    source = Sources(rows(10, start=1000))
    now = utc(2026, 1, 2, 6, 0)
    holder = Holder(ws)
    try:
        sent = len(emu.requests)
        (busy,) = ws.run_due(source, now=now)
        assert busy.outcome is DueOutcome.BUSY
        assert not busy.failed
        assert busy.run_id is None
        assert isinstance(busy.error, ExportInProgressError)
        assert "ada@example.com" in busy.error.holder
        assert source.asked == []  # the source was not even opened
        assert len(emu.requests) == sent
        (manual,) = ws.history(NAME)  # only the holder's own row: none claims the busy run
        assert manual.scheduled_for is None
        assert manual.status is RunStatus.RUNNING
        assert ws.get_export(NAME).schedule_anchor == utc(2026, 1, 1, 12, 0)
    finally:
        holder.finish()
    (ran,) = ws.run_due(source, now=now)  # still due, and it runs once the lease is free
    assert ran.outcome is DueOutcome.SUCCEEDED
    assert ran.report is not None
    assert ran.report.exported == 10
    assert [r.status for r in ws.history(NAME)] == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED]


def test_two_schedulers_on_one_workspace_run_a_fire_time_once(
    ws: Workspace, connection: Connection, emu: ActiveCampaignEmulator, environ: dict[str, str]
) -> None:
    schedule(ws, connection)
    now = utc(2026, 1, 2, 6, 0)
    with Workspace(ws.path, environ=environ, client_options=client_options(emu)) as other:
        first = other.due(now=now)
        assert [e.name for e in first] == [NAME]
        assert len(ws.run_due(Sources(), now=now)) == 1
        assert other.run_due(Sources(), now=now) == []  # handled meanwhile: nothing to do
    assert len(ws.history(NAME)) == 1


def test_a_source_that_cannot_be_opened_is_a_source_error_and_consumes_the_fire_time(
    ws: Workspace, connection: Connection, emu: ActiveCampaignEmulator
) -> None:
    schedule(ws, connection)

    def missing(export: SavedExport) -> Iterable[Mapping[str, Any]]:
        msg = f"{export.source.input if export.source else '?'} does not exist"
        raise FileNotFoundError(msg)

    now = utc(2026, 1, 2, 6, 0)
    (result,) = ws.run_due(missing, now=now)
    assert result.outcome is DueOutcome.SOURCE_ERROR
    assert result.failed
    assert isinstance(result.error, FileNotFoundError)
    assert result.report is None
    assert emu.requests == []
    (record,) = ws.history(NAME)
    assert record.status is RunStatus.ABORTED
    assert (
        record.error
        == "The source could not be opened: FileNotFoundError: /data/vip.csv does not exist"
    )
    assert record.scheduled_for == utc(2026, 1, 2, 5, 0)
    assert ws.run_due(missing, now=now) == []  # not retried every few minutes


def test_a_source_failing_mid_run_is_a_source_error_with_its_partial_report(
    ws: Workspace, connection: Connection
) -> None:
    schedule(ws, connection)

    def broken(_: SavedExport) -> Iterator[dict[str, Any]]:
        yield from rows(300)
        msg = "the disk went away"
        raise OSError(msg)

    (result,) = ws.run_due(broken, now=utc(2026, 1, 2, 6, 0))
    assert result.outcome is DueOutcome.SOURCE_ERROR
    assert result.report is not None
    assert result.report.input_count == 300
    assert ws.history(NAME)[0].status is RunStatus.ABORTED
    not_iterable = ws.run_due(lambda _: 42, now=utc(2026, 1, 3, 6, 0))  # type: ignore[arg-type,return-value]
    assert [r.outcome for r in not_iterable] == [DueOutcome.SOURCE_ERROR]


def test_failed_profiles_and_refusals_are_reported(
    tmp_path: Path, emu: ActiveCampaignEmulator, connection: Connection, environ: dict[str, str]
) -> None:
    with Workspace(tmp_path / "w.db", environ=environ, client_options=client_options(emu)) as ws:
        ws.save_connection(connection, api_key_env=KEY_ENV)
        schedule(ws, connection, name="A bad rows")
        schedule(ws, connection, name="B refused")
        bad = [*rows(5), {"email": "not an email", "first": "x", "tier": "gold"}]
        now = utc(2026, 1, 2, 6, 0)
        results = ws.run_due(Sources(bad), now=now, names=["A bad rows"])
        assert [(r.export.name, r.outcome) for r in results] == [
            ("A bad rows", DueOutcome.FAILED_PROFILES)
        ]
        assert results[0].failed
        carl = Actor.contributor("carl@contoso.com")  # the connection is admins-only
        (refused,) = ws.run_due(Sources(), now=now, actor=carl)
        assert refused.export.name == "B refused"
        assert refused.outcome is DueOutcome.REFUSED
        assert refused.failed
        assert ws.history("B refused")[0].status is RunStatus.REFUSED
        assert ws.history("B refused")[0].actor == "carl@contoso.com"
        with pytest.raises(ConfigurationError, match="No saved export is named 'Nope'"):
            ws.run_due(Sources(), now=now, names=["Nope"])
        with pytest.raises(ConfigurationError, match="list of saved export names"):
            ws.run_due(Sources(), now=now, names="A bad rows")
        with pytest.raises(ConfigurationError, match="aware datetime"):
            ws.run_due(Sources(), now=dt.datetime(2026, 1, 2))
        with pytest.raises(ConfigurationError, match="aware datetime"):
            ws.due(now=dt.datetime(2026, 1, 2))


def test_a_missing_key_is_refused_and_the_next_export_still_runs(
    tmp_path: Path, emu: ActiveCampaignEmulator, connection: Connection
) -> None:
    environ: dict[str, str] = {}
    with Workspace(tmp_path / "w.db", environ=environ, client_options=client_options(emu)) as ws:
        ws.save_connection(connection, api_key_env=KEY_ENV)
        other = connection.edit(Actor.admin("qa@example.com"), display_name="Other")
        other = other.accept_data_privacy_terms("qa@example.com")
        ws.save_connection(other, api_key_env="ACX_OTHER_KEY")
        schedule(ws, connection, name="A")
        schedule(ws, other, name="B")
        environ["ACX_OTHER_KEY"] = "wsKEY-7f3c2a9d41e84b0c9a55d2e1f0b7c6a3"
        results = ws.run_due(Sources(), now=utc(2026, 1, 2, 6, 0))
        assert [(r.export.name, r.outcome) for r in results] == [
            ("A", DueOutcome.REFUSED),
            ("B", DueOutcome.SUCCEEDED),
        ]
        assert KEY_ENV in str(results[0].error)


def test_a_crashed_run_consumed_its_fire_time_when_it_started(
    ws: Workspace, connection: Connection, environ: dict[str, str]
) -> None:
    schedule(ws, connection)
    seen: list[dt.datetime | None] = []

    def interrupted(_: SavedExport) -> Iterator[dict[str, Any]]:
        with Workspace(ws.path, environ=environ) as look:  # another process's view
            seen.append(look.get_export(NAME).schedule_anchor)
            (running,) = look.history(NAME)
            assert running.status is RunStatus.RUNNING
        yield from rows(10)
        raise KeyboardInterrupt

    now = utc(2026, 1, 2, 6, 0)
    with pytest.raises(KeyboardInterrupt):
        ws.run_due(interrupted, now=now)
    assert seen == [utc(2026, 1, 2, 5, 0)]  # recorded before the source was read
    assert ws.history(NAME)[0].status is RunStatus.ABORTED
    assert ws.run_due(Sources(), now=now) == []  # the next fire time runs it again
    assert len(ws.run_due(Sources(), now=utc(2026, 1, 3, 5, 0))) == 1


def test_every_due_export_runs_by_name_and_the_others_wait(
    ws: Workspace, connection: Connection
) -> None:
    schedule(ws, connection, name="B weekly", cron=Schedule("0 6 * * mon", "Europe/Rome"))
    schedule(ws, connection, name="A daily")
    ws.save_export(ExportDestination(connection, "C manual", 1, MAPPING), source=SOURCE)
    friday = utc(2026, 1, 2, 6, 0)  # a Friday: the weekly one is not due
    assert [e.name for e in ws.due(now=friday)] == ["A daily"]
    monday = utc(2026, 1, 5, 6, 0)
    assert [r.export.name for r in ws.run_due(Sources(), now=monday)] == ["A daily", "B weekly"]


def test_the_audience_of_the_connection_applies_to_scheduled_runs(
    tmp_path: Path, emu: ActiveCampaignEmulator, connection: Connection, environ: dict[str, str]
) -> None:
    shared = connection.edit(
        Actor.admin("qa@example.com"), usable_by=Audience.ADMINS_AND_CONTRIBUTORS
    )
    with Workspace(tmp_path / "w.db", environ=environ, client_options=client_options(emu)) as ws:
        ws.save_connection(shared, api_key_env=KEY_ENV)
        schedule(ws, shared)
        carl = Actor.contributor("carl@contoso.com")
        (result,) = ws.run_due(Sources(), now=utc(2026, 1, 2, 6, 0), actor=carl)
        assert result.outcome is DueOutcome.SUCCEEDED
        assert ws.history(NAME)[0].actor == "carl@contoso.com"
