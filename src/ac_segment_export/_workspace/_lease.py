"""Leases: one run of a saved export at a time, with a heartbeat so a dead holder expires."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from typing import TYPE_CHECKING

from ac_segment_export._core.errors import ExportInProgressError
from ac_segment_export._workspace._schema import connect

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

__all__ = ["Lease"]

logger = logging.getLogger("ac_segment_export")

HOST = socket.gethostname()


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


def _alive(pid: int) -> bool:
    """Whether process *pid* of this host exists (elsewhere than POSIX: assumed alive)."""
    if os.name != "posix":  # os.kill(pid, 0) is CTRL_C_EVENT on Windows: the heartbeat decides
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


class Lease:
    """The lease one run holds on its export while it runs.

    Taken with :meth:`acquire` (refused while another holder's heartbeat is fresh, unless
    that holder is a process of this host that no longer exists), renewed every third of
    *ttl* by a thread, given back by :meth:`release`. Taking over an expired lease marks
    the run that held it ``aborted`` in the history.

    Args:
        path: The workspace file.
        export_id: The saved export's row ID.
        export: Its name (for messages).
        run_id: The history row of the run taking the lease.
        holder: Who takes it (the acting user, or the process).
        ttl: Seconds without a heartbeat after which the lease is taken as abandoned.
    """

    def __init__(  # noqa: PLR0917 - one call site, named below
        self, path: Path, export_id: int, export: str, run_id: int, holder: str, ttl: float
    ) -> None:
        self.path = path
        self.export_id = export_id
        self.export = export
        self.run_id = run_id
        self.holder = f"{holder} (pid {os.getpid()} on {HOST})"
        self.ttl = ttl
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> None:
        """Take the lease, or raise :class:`ExportInProgressError` naming its holder."""
        db = connect(self.path)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                self.take(db)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            db.close()
        self.start()

    def take(self, db: sqlite3.Connection) -> None:
        """Take the lease inside the caller's write transaction on *db* (then :meth:`start`).

        Raises:
            ExportInProgressError: Another holder's lease is alive.
        """
        row = db.execute(
            "SELECT run_id, holder, pid, host, acquired_at, heartbeat_at FROM leases "
            "WHERE export_id = ?",
            (self.export_id,),
        ).fetchone()
        now = time.time()
        if row is not None:
            run_id, holder, pid, host, acquired, beat = row
            dead = host == HOST and not _alive(pid)
            if now - beat < self.ttl and not dead:
                msg = (
                    f"The saved export {self.export!r} is already running: {holder} "
                    f"holds it since {_utc(acquired):%Y-%m-%d %H:%M:%S} UTC (last "
                    f"heartbeat {now - beat:.0f} s ago). Nothing was sent; run it "
                    "again when that run has ended."
                )
                raise ExportInProgressError(
                    msg,
                    export=self.export,
                    holder=holder,
                    since=_utc(acquired),
                    heartbeat=_utc(beat),
                )
            why = "its process is gone" if dead else f"no heartbeat for {now - beat:.0f} s"
            logger.warning(
                "Taking over the lease of saved export %r from %s (%s)",
                self.export,
                holder,
                why,
            )
            db.execute(
                "UPDATE runs SET status = 'aborted', error = ? WHERE id = ? AND status = 'running'",
                (f"the run ended without a word: {why}", run_id),
            )
        db.execute(
            "INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.export_id, self.run_id, self.holder, os.getpid(), HOST, now, now),
        )

    def start(self) -> None:
        """Start renewing the lease taken with :meth:`take`."""
        self._thread = threading.Thread(
            target=self._beat, name=f"ac-lease-{self.export_id}", daemon=True
        )
        self._thread.start()

    def _beat(self) -> None:
        db = connect(self.path)
        try:
            while not self._stop.wait(self.ttl / 3):
                self._renew(db)
        finally:
            db.close()

    def _renew(self, db: sqlite3.Connection) -> None:
        try:
            db.execute(
                "UPDATE leases SET heartbeat_at = ? WHERE export_id = ? AND run_id = ?",
                (time.time(), self.export_id, self.run_id),
            )
        except Exception:  # a busy or failing database: the next beat tries again
            logger.warning("Could not renew the lease of %r", self.export, exc_info=True)

    def release(self) -> None:
        """Give the lease back (only if this run still holds it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        db = connect(self.path)
        try:
            db.execute(
                "DELETE FROM leases WHERE export_id = ? AND run_id = ?",
                (self.export_id, self.run_id),
            )
        finally:
            db.close()
