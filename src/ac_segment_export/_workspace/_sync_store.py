"""``SQLiteSyncState``: a saved export's sync state in the workspace database."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ac_segment_export._export._sync import MirrorUnsubscribe, SyncMeta

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator, Sequence

__all__ = ["SQLiteSyncState"]


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _when(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


class SQLiteSyncState:
    """The :class:`~ac_segment_export.SyncStateStore` of one saved export, in SQLite.

    Each contact takes one row of a ``WITHOUT ROWID`` table keyed by (export, email hash):
    two 64-bit integers besides the key. Every write is its own committed transaction.

    Args:
        db: A connection to the workspace (used from one thread at a time).
        export_id: The saved export's row ID.
    """

    __slots__ = ("_db", "export_id")

    def __init__(self, db: sqlite3.Connection, export_id: int) -> None:
        self._db = db
        self.export_id = export_id

    def meta(self) -> SyncMeta | None:
        """See :meth:`SyncStateStore.meta`."""
        row = self._db.execute(
            "SELECT fingerprint, full_refresh_at, refresh_started_at FROM sync_meta "
            "WHERE export_id = ?",
            (self.export_id,),
        ).fetchone()
        if row is None:
            return None
        return SyncMeta(row[0], _when(row[1]), _when(row[2]))

    def set_meta(self, meta: SyncMeta, *, clear: bool = False) -> None:
        """See :meth:`SyncStateStore.set_meta`."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if clear:
                db.execute("DELETE FROM sync_state WHERE export_id = ?", (self.export_id,))
            db.execute(
                "INSERT OR REPLACE INTO sync_meta VALUES (?, ?, ?, ?)",
                (
                    self.export_id,
                    meta.fingerprint,
                    _iso(meta.full_refresh_at),
                    _iso(meta.refresh_started_at),
                ),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def entries(self) -> Iterator[tuple[int, int]]:
        """See :meth:`SyncStateStore.entries`."""
        cursor = self._db.execute(
            "SELECT email_hash, values_hash FROM sync_state WHERE export_id = ?",
            (self.export_id,),
        )
        while rows := cursor.fetchmany(10_000):
            yield from rows

    def __len__(self) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM sync_state WHERE export_id = ?", (self.export_id,)
        ).fetchone()
        return int(row[0])

    def _write(self, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(sql, rows)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def confirm(self, entries: Sequence[tuple[int, int]]) -> None:
        """See :meth:`SyncStateStore.confirm`."""
        export = self.export_id
        self._write(
            "INSERT OR REPLACE INTO sync_state VALUES (?, ?, ?)",
            [(export, e, v) for e, v in entries],
        )

    def forget(self, email_hashes: Sequence[int]) -> None:
        """See :meth:`SyncStateStore.forget`."""
        export = self.export_id
        self._write(
            "DELETE FROM sync_state WHERE export_id = ? AND email_hash = ?",
            [(export, h) for h in email_hashes],
        )

    def mirror_unsubscribes(self) -> Iterator[MirrorUnsubscribe]:
        """See :meth:`SyncStateStore.mirror_unsubscribes`."""
        cursor = self._db.execute(
            "SELECT email_hash, status, membership_updated FROM mirror_unsubscribes "
            "WHERE export_id = ?",
            (self.export_id,),
        )
        for email_hash, status, updated in cursor.fetchall():
            yield MirrorUnsubscribe(email_hash, status, updated)

    def record_unsubscribes(self, records: Sequence[MirrorUnsubscribe]) -> None:
        """See :meth:`SyncStateStore.record_unsubscribes`."""
        export = self.export_id
        self._write(
            "INSERT OR REPLACE INTO mirror_unsubscribes VALUES (?, ?, ?, ?)",
            [(export, r.email_hash, r.status, r.membership_updated) for r in records],
        )

    def drop_unsubscribes(self, email_hashes: Sequence[int]) -> None:
        """See :meth:`SyncStateStore.drop_unsubscribes`."""
        export = self.export_id
        self._write(
            "DELETE FROM mirror_unsubscribes WHERE export_id = ? AND email_hash = ?",
            [(export, h) for h in email_hashes],
        )
