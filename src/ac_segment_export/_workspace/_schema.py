"""The workspace database: its schema, versioned with ``PRAGMA user_version``, migrated forward.

Each entry of :data:`MIGRATIONS` takes the database from the version before it to its own
(the first creates it). Opening a workspace applies the missing ones in one transaction; a
database from a newer version of the library is refused, never altered.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from ac_segment_export._core.errors import WorkspaceError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "connect", "migrate"]

#: Version 1: saved connections and exports, and run history.
_V1 = (
    """CREATE TABLE connections (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        data TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE exports (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        connection_id INTEGER NOT NULL REFERENCES connections(id),
        destination TEXT NOT NULL,
        options TEXT NOT NULL,
        schedule TEXT,
        created_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        export_id INTEGER,
        export_name TEXT NOT NULL,
        actor TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL,
        error TEXT,
        input INTEGER NOT NULL DEFAULT 0,
        exported INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0,
        duplicate INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        unknown INTEGER NOT NULL DEFAULT 0,
        not_attempted INTEGER NOT NULL DEFAULT 0,
        requests INTEGER NOT NULL DEFAULT 0,
        retries INTEGER NOT NULL DEFAULT 0,
        rate_limited INTEGER NOT NULL DEFAULT 0,
        duration REAL,
        report TEXT
    )""",
    "CREATE INDEX runs_by_export ON runs (export_name, id)",
)

#: Version 2: incremental sync (the ``unchanged`` count, the sync state, mirror's record of
#: its unsubscribes) and leases.
_V2 = (
    "ALTER TABLE runs ADD COLUMN unchanged INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE runs ADD COLUMN full_refresh INTEGER",
    """CREATE TABLE sync_meta (
        export_id INTEGER PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        full_refresh_at TEXT,
        refresh_started_at TEXT
    )""",
    """CREATE TABLE sync_state (
        export_id INTEGER NOT NULL,
        email_hash INTEGER NOT NULL,
        values_hash INTEGER NOT NULL,
        PRIMARY KEY (export_id, email_hash)
    ) WITHOUT ROWID""",
    """CREATE TABLE mirror_unsubscribes (
        export_id INTEGER NOT NULL,
        email_hash INTEGER NOT NULL,
        status INTEGER NOT NULL,
        membership_updated TEXT NOT NULL,
        PRIMARY KEY (export_id, email_hash)
    ) WITHOUT ROWID""",
    """CREATE TABLE leases (
        export_id INTEGER PRIMARY KEY,
        run_id INTEGER,
        holder TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        acquired_at REAL NOT NULL,
        heartbeat_at REAL NOT NULL
    )""",
)

#: Version 3: scheduled runs. A saved export's source and shared rate budget, the fire time
#: its scheduled runs have handled (``schedule_anchor``: set when its schedule is saved, moved
#: on by each scheduled run as it starts), and the fire time a run handled.
_V3 = (
    "ALTER TABLE exports ADD COLUMN source TEXT",
    "ALTER TABLE exports ADD COLUMN rate_limit_url TEXT",
    "ALTER TABLE exports ADD COLUMN schedule_anchor TEXT",
    "UPDATE exports SET schedule_anchor = created_at WHERE schedule IS NOT NULL",
    "ALTER TABLE runs ADD COLUMN scheduled_for TEXT",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3)

#: The schema version this library writes.
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path, *, timeout: float = 30.0) -> sqlite3.Connection:
    """A connection to the workspace at *path* (autocommit: transactions are explicit)."""
    try:
        db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        msg = f"Cannot open the workspace {str(path)!r}: {exc}."
        raise WorkspaceError(msg) from None
    return db


def migrate(db: sqlite3.Connection, path: Path, *, upto: int = SCHEMA_VERSION) -> int:
    """Bring the database to version *upto* (WAL mode on); return the version found."""
    try:
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            msg = f"The workspace {str(path)!r} cannot use WAL mode (journal mode {mode!r})."
            raise WorkspaceError(msg)
        db.execute("BEGIN IMMEDIATE")
        try:
            found = int(db.execute("PRAGMA user_version").fetchone()[0])
            if found > SCHEMA_VERSION:
                msg = (
                    f"The workspace {str(path)!r} has schema version {found}, newer than this "
                    f"library's ({SCHEMA_VERSION}); upgrade ac-segment-export to open it."
                )
                raise WorkspaceError(msg)
            if found == 0 and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                msg = f"{str(path)!r} is an SQLite database, but not a workspace."
                raise WorkspaceError(msg)
            for version in range(found + 1, upto + 1):
                for statement in MIGRATIONS[version - 1]:
                    db.execute(statement)
            if upto > found:
                db.execute(f"PRAGMA user_version = {int(upto)}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    except sqlite3.DatabaseError as exc:
        msg = f"The workspace {str(path)!r} cannot be used: {exc}."
        raise WorkspaceError(msg) from None
    return found
