"""The schema migrates forward: a workspace written at version 1 opens, keeps and runs."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from typing import TYPE_CHECKING

import pytest

from ac_segment_export import (
    DueOutcome,
    ExportDestination,
    RunStatus,
    SavedSource,
    Schedule,
    Workspace,
    WorkspaceError,
)
from ac_segment_export._workspace._schema import SCHEMA_VERSION, connect, migrate

from .conftest import FAST, KEY_ENV, MAPPING, NAME, client_options, rows

if TYPE_CHECKING:
    from pathlib import Path

    from ac_segment_export import Connection
    from ac_segment_export.testing import ActiveCampaignEmulator

STAMP = "2026-01-02T03:04:05+00:00"


def _version_1(path: Path, connection: Connection) -> None:
    """A workspace as version 1 of the schema wrote it, with a connection, export and run."""
    db = connect(path)
    assert migrate(db, path, upto=1) == 0
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"connections", "exports", "runs"}
    data = connection.to_dict(api_key_env=KEY_ENV)
    destination = ExportDestination(connection, NAME, 1, MAPPING).to_dict(include_connection=False)
    db.execute(
        "INSERT INTO connections (name, data, created_at, updated_at) VALUES (?, ?, ?, ?)",
        ("Acme", json.dumps(data), STAMP, STAMP),
    )
    db.execute(
        "INSERT INTO exports (name, connection_id, destination, options, schedule, created_by, "
        "created_at, updated_at) VALUES (?, 1, ?, ?, NULL, 'ada', ?, ?)",
        (NAME, json.dumps(destination), json.dumps(FAST.to_dict()), STAMP, STAMP),
    )
    db.execute(
        "INSERT INTO runs (export_id, export_name, actor, started_at, finished_at, status, "
        "input, exported, requests, duration, report) "
        "VALUES (1, ?, 'ada', ?, ?, 'succeeded', 7, 7, 4, 1.5, '{}')",
        (NAME, STAMP, STAMP),
    )
    db.close()


def test_a_version_1_workspace_is_upgraded_and_keeps_everything(
    tmp_path: Path,
    emu: ActiveCampaignEmulator,
    connection: Connection,
    environ: dict[str, str],
) -> None:
    path = tmp_path / "old.db"
    _version_1(path, connection)
    with Workspace(path, environ=environ, client_options=client_options(emu)) as ws:
        assert ws.schema_version == SCHEMA_VERSION == 3
        (saved,) = ws.connections()
        assert saved.name == "Acme"
        export = ws.get_export(NAME)
        assert export.options == FAST
        assert export.created_by == "ada"
        (old,) = ws.history()
        assert old.status is RunStatus.SUCCEEDED
        assert old.exported == 7
        assert old.unchanged == 0  # the new column, filled for old rows
        assert old.full_refresh is None
        assert ws.run(NAME, rows(20)).exported == 20
        assert ws.run(NAME, rows(20)).counts["unchanged"] == 20
    with Workspace(path, environ=environ) as again:  # opening an up-to-date one changes nothing
        assert again.schema_version == 3
        assert len(again.history()) == 3


def test_two_processes_opening_an_old_workspace_migrate_it_once(
    tmp_path: Path, connection: Connection
) -> None:
    path = tmp_path / "old.db"
    _version_1(path, connection)
    first, second = Workspace(path), Workspace(path)
    try:
        assert first.schema_version == second.schema_version == 3
        with contextlib.closing(sqlite3.connect(path)) as db:
            columns = [r[1] for r in db.execute("PRAGMA table_info(runs)")]
        assert columns.count("unchanged") == 1
    finally:
        first.close()
        second.close()


def _version_2(path: Path, connection: Connection) -> None:
    """A workspace as version 2 wrote it: a scheduled export (no source then) and a run."""
    db = connect(path)
    assert migrate(db, path, upto=2) == 0
    data = connection.to_dict(api_key_env=KEY_ENV)
    destination = ExportDestination(connection, NAME, 1, MAPPING).to_dict(include_connection=False)
    db.execute(
        "INSERT INTO connections (name, data, created_at, updated_at) VALUES (?, ?, ?, ?)",
        ("Acme", json.dumps(data), STAMP, STAMP),
    )
    schedule = json.dumps(Schedule("0 6 * * *", "Europe/Rome").to_dict())
    db.execute(
        "INSERT INTO exports (name, connection_id, destination, options, schedule, created_by, "
        "created_at, updated_at) VALUES (?, 1, ?, ?, ?, 'ada', ?, ?)",
        (NAME, json.dumps(destination), json.dumps(FAST.to_dict()), schedule, STAMP, STAMP),
    )
    db.execute(
        "INSERT INTO runs (export_id, export_name, actor, started_at, finished_at, status, "
        "input, exported, unchanged, requests, duration, report) "
        "VALUES (1, ?, 'ada', ?, ?, 'succeeded', 7, 7, 0, 4, 1.5, '{}')",
        (NAME, STAMP, STAMP),
    )
    db.close()


def test_a_version_2_workspace_gains_sources_budgets_and_schedule_anchors(
    tmp_path: Path,
    emu: ActiveCampaignEmulator,
    connection: Connection,
    environ: dict[str, str],
) -> None:
    path = tmp_path / "v2.db"
    _version_2(path, connection)
    with Workspace(path, environ=environ, client_options=client_options(emu)) as ws:
        assert ws.schema_version == 3
        export = ws.get_export(NAME)
        assert export.schedule == Schedule("0 6 * * *", "Europe/Rome")
        assert export.source is None
        assert export.rate_limit_url is None
        created = dt.datetime.fromisoformat(STAMP)
        assert export.schedule_anchor == created  # counts from its creation
        (old,) = ws.history()
        assert old.scheduled_for is None
        assert old.exported == 7
        # scheduled before sources were saved: due, but refused with what to do
        now = created + dt.timedelta(days=1, hours=3)
        assert [e.name for e in ws.due(now=now)] == [NAME]
        (refused,) = ws.run_due(lambda _: rows(3), now=now)
        assert refused.outcome is DueOutcome.REFUSED
        assert "save it again with source=" in str(refused.error)
        assert emu.requests == []
        ws.save_export(
            ExportDestination(connection, NAME, 1, MAPPING),
            options=FAST,
            schedule=Schedule("0 6 * * *", "Europe/Rome"),
            source=SavedSource(input="/data/vip.csv"),
            replace=True,
        )
        assert ws.get_export(NAME).schedule_anchor == refused.fire_time  # same schedule
        (ran,) = ws.run_due(lambda _: rows(3), now=now + dt.timedelta(days=1))
        assert ran.outcome is DueOutcome.SUCCEEDED
    with contextlib.closing(sqlite3.connect(path)) as db:
        columns = {r[1] for r in db.execute("PRAGMA table_info(exports)")}
        assert {"source", "rate_limit_url", "schedule_anchor"} <= columns
        assert "scheduled_for" in {r[1] for r in db.execute("PRAGMA table_info(runs)")}


def test_a_workspace_from_a_newer_library_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Workspace(path).close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        db.commit()
    with pytest.raises(WorkspaceError, match="schema version 4, newer than this library's \\(3\\)"):
        Workspace(path)
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
