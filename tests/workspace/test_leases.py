"""Leases: one run of a saved export at a time; a dead holder's lease expires."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from ac_segment_export import (
    Actor,
    ExportDestination,
    ExportInProgressError,
    RunStatus,
    Workspace,
)

from .conftest import FAST, MAPPING, NAME, client_options, rows

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from ac_segment_export import Connection, ExportReport
    from ac_segment_export.testing import ActiveCampaignEmulator


class Held:
    """A run in a thread whose source waits, mid-way, until released."""

    def __init__(self, ws: Workspace, name: str, actor: Actor) -> None:
        self.reading = threading.Event()
        self.release = threading.Event()
        self.report: ExportReport | None = None
        self.error: BaseException | None = None

        def source() -> Iterator[dict[str, Any]]:
            yield from rows(300)
            self.reading.set()
            assert self.release.wait(30)
            yield from rows(300, start=300)

        def target() -> None:
            try:
                self.report = ws.run(name, source(), actor=actor)
            except BaseException as exc:
                self.error = exc

        self.thread = threading.Thread(target=target)
        self.thread.start()
        assert self.reading.wait(30)

    def finish(self) -> ExportReport:
        self.release.set()
        self.thread.join(30)
        assert self.error is None, self.error
        assert self.report is not None
        return self.report


def test_a_second_run_of_one_export_is_refused_naming_the_holder(
    ws: Workspace, emu: ActiveCampaignEmulator
) -> None:
    held = Held(ws, NAME, Actor.admin("ada@example.com"))
    try:
        before = len(emu.requests)
        with pytest.raises(ExportInProgressError) as caught:
            ws.run(NAME, rows(10), actor=Actor.admin("bob@example.com"))
        assert len(emu.requests) == before  # refused: nothing sent (the holder waits)
        error = caught.value
        assert "ada@example.com" in error.holder
        assert "ada@example.com" in str(error)
        assert error.export == NAME
        assert (time.time() - error.since.timestamp()) < 30
        assert "since" in str(error)
    finally:
        report = held.finish()
    assert report.exported == 600
    statuses = {r.actor: r.status for r in ws.history()}
    assert statuses == {
        "ada@example.com": RunStatus.SUCCEEDED,
        "bob@example.com": RunStatus.REFUSED,
    }
    assert ws.run(NAME, rows(600)).counts["unchanged"] == 600  # the lease was given back


def test_a_running_export_cannot_be_removed(ws: Workspace) -> None:
    held = Held(ws, NAME, Actor.admin("ada@example.com"))
    try:
        with pytest.raises(ExportInProgressError, match="is running"):
            ws.remove_export(NAME)
    finally:
        held.finish()
    ws.remove_export(NAME)
    assert ws.exports() == []


def test_two_exports_run_side_by_side(ws: Workspace, connection: Connection) -> None:
    ws.save_export(ExportDestination(connection, "Other", 1, MAPPING), options=FAST)
    held = Held(ws, NAME, Actor.admin("ada@example.com"))
    try:
        other = ws.run("Other", rows(50, start=1000))
    finally:
        first = held.finish()
    assert other.exported == 50
    assert first.exported == 600
    assert {r.status for r in ws.history()} == {RunStatus.SUCCEEDED}


def _plant_lease(ws: Workspace, *, pid: int, host: str, age: float) -> int:
    """A lease (and its running history row) as a holder that may be dead left it."""
    export_id = ws.sync_state(NAME).export_id
    with ws._tx() as db:
        cursor = db.execute(
            "INSERT INTO runs (export_id, export_name, actor, started_at, status) "
            "VALUES (?, ?, 'ghost', '2026-01-01T00:00:00+00:00', 'running')",
            (export_id, NAME),
        )
        now = time.time()
        db.execute(
            "INSERT INTO leases VALUES (?, ?, ?, ?, ?, ?, ?)",
            (export_id, cursor.lastrowid, "ghost (pid 1 on x)", pid, host, now - age, now - age),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid


def test_a_fresh_lease_of_a_live_process_refuses(ws: Workspace) -> None:
    import os

    _plant_lease(ws, pid=os.getpid(), host=socket.gethostname(), age=1.0)
    with pytest.raises(ExportInProgressError, match="ghost"):
        ws.run(NAME, rows(3))


def test_a_lease_without_heartbeat_expires_and_its_run_is_marked_aborted(
    ws: Workspace,
) -> None:
    ghost = _plant_lease(ws, pid=1, host="elsewhere.example", age=120.0)  # ttl is 60 s
    assert ws.run(NAME, rows(3)).exported == 3
    rows_by_id = {r.id: r for r in ws.history()}
    assert rows_by_id[ghost].status is RunStatus.ABORTED
    assert "no heartbeat" in (rows_by_id[ghost].error or "")


def test_a_lease_of_a_dead_local_process_is_taken_at_once(ws: Workspace) -> None:
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    ghost = _plant_lease(ws, pid=int(dead.stdout), host=socket.gethostname(), age=0.0)
    assert ws.run(NAME, rows(3)).exported == 3
    assert {r.id: r for r in ws.history()}[ghost].status is RunStatus.ABORTED


def test_the_heartbeat_keeps_a_long_run_leased(
    tmp_path: Path, emu: ActiveCampaignEmulator, connection: Connection, environ: dict[str, str]
) -> None:
    with Workspace(
        tmp_path / "ws.db", environ=environ, client_options=client_options(emu), lease_ttl=1.0
    ) as ws:
        ws.save_connection(connection, api_key_env="ACX_TEST_WORKSPACE_KEY")
        ws.save_export(ExportDestination(connection, NAME, 1, MAPPING), options=FAST)
        held = Held(ws, NAME, Actor.admin("ada@example.com"))
        try:
            time.sleep(2.5)  # 2.5 ttl: only the heartbeat keeps the lease
            with pytest.raises(ExportInProgressError):
                ws.run(NAME, rows(3))
        finally:
            held.finish()
