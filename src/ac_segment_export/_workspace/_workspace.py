"""``Workspace``: saved connections and exports, run history and sync state, in one SQLite file."""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ac_segment_export._core.config import ClientOptions, RateLimits
from ac_segment_export._core.errors import (
    APIError,
    ConfigurationError,
    ExportAbortedError,
    ExportInProgressError,
    MirrorRefusedError,
    PolicyError,
    UnsupportedSourceError,
)
from ac_segment_export._distributed._redis import (
    RedisRateBudget,
    _masked,
    rate_budget_from_url,
)
from ac_segment_export._export._exporter import AsyncExporter, CancelToken, Exporter
from ac_segment_export._export._options import ExportOptions
from ac_segment_export._export._report import ExportReport, OutcomeStatus, Progress
from ac_segment_export._model._connection import Connection, Consent
from ac_segment_export._model._destination import ExportDestination, ExportMode
from ac_segment_export._model._roles import Actor, Audience
from ac_segment_export._model._serde import (
    connection_from_dict,
    destination_from_dict,
    mapping_from_dict,
)
from ac_segment_export._workspace._lease import Lease
from ac_segment_export._workspace._schedule import Schedule, aware
from ac_segment_export._workspace._schema import connect, migrate
from ac_segment_export._workspace._source import SavedSource
from ac_segment_export._workspace._sync_store import SQLiteSyncState

if TYPE_CHECKING:
    import os
    import sqlite3
    from collections.abc import AsyncIterable, Iterable

    from ac_segment_export._client import AsyncClient, Client
    from ac_segment_export._core.secrets import Secret
    from ac_segment_export._model._mapping import FieldMapping

__all__ = [
    "DueOutcome",
    "DueRun",
    "RunRecord",
    "RunStatus",
    "SavedConnection",
    "SavedExport",
    "Workspace",
]

Transforms = Mapping[str, Callable[[Any], Any]]


class RunStatus(str, enum.Enum):
    """How a run of a saved export ended (a history row's ``status``)."""

    #: Still going (or its process died: the next run taking the lease marks it aborted).
    RUNNING = "running"
    #: Every profile exported, unchanged, a duplicate or skipped as unsubscribed.
    SUCCEEDED = "succeeded"
    #: It ran to its end, but some profiles were rejected, failed, unknown or not attempted.
    FAILED_PROFILES = "failed_profiles"
    #: It stopped as a whole (Ctrl-C, cancelled, a refused key, repeated failures).
    ABORTED = "aborted"
    #: Refused before sending anything (no consent, no permission, no key, already running),
    #: or mirror refused to unsubscribe.
    REFUSED = "refused"


def _any(value: object) -> object:
    """*value*, for a check of what untyped callers pass."""
    return value


def _seconds(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and value > 0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _when(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def _masked_url(url: str | None) -> str:
    return repr(None if url is None else _masked(url))


def _check_rate_limit_url(url: object) -> str | None:
    """The URL, checked as :func:`rate_budget_from_url` would take it (nothing is reached)."""
    if url is None:
        return None
    if not isinstance(url, str):
        msg = f"rate_limit_url must be a redis:// or rediss:// URL, not {type(url).__name__}."
        raise ConfigurationError(msg)
    rate_budget_from_url(url)
    return url.strip()


@attrs.frozen
class SavedConnection:
    """A saved connection as anyone may see it: everything but the key.

    Attributes:
        name: Its display name (unique in the workspace).
        host: The REST endpoint.
        usable_by: Who may run exports through it.
        consent: The recorded data-privacy consent (a revoked one stays on record).
        export_user: Who exports through it run as.
        api_key_source: Where the key is read at run time: ``"env:NAME"`` or ``"ref:REF"``.
        created_at: When it was first saved (UTC).
        updated_at: When it was last saved (UTC).
    """

    name: str
    host: str
    usable_by: Audience
    consent: Consent | None
    export_user: str | None
    api_key_source: str
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen
class SavedExport:
    """A saved export: a destination with its options and schedule (never its key).

    Attributes:
        name: Its name (unique in the workspace).
        connection: The saved connection's name.
        list_id: The ActiveCampaign list.
        mapping: The field mapping.
        tags: Tags added to every contact.
        mode: Upsert or mirror.
        run_automations: Whether automations run on import.
        options: How it runs.
        schedule: When it should run, or ``None`` (on demand only).
        created_by: Who saved it first, when known.
        created_at: When it was first saved (UTC).
        updated_at: When it was last saved (UTC).
        source: Where its segment is read, or ``None`` (the caller passes the profiles).
        rate_limit_url: The Redis URL of the rate budget its runs pace through, or ``None``.
            Its password, if any, is hidden from the repr.
        schedule_anchor: Scheduled runs handle the fire times after this one (UTC): when
            the schedule was saved, then the fire time the last scheduled run handled.
            ``None`` without a schedule.
    """

    name: str
    connection: str
    list_id: int
    mapping: FieldMapping
    tags: tuple[str, ...]
    mode: ExportMode
    run_automations: bool
    options: ExportOptions
    schedule: Schedule | None
    created_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    source: SavedSource | None = None
    rate_limit_url: str | None = attrs.field(default=None, repr=_masked_url)
    schedule_anchor: dt.datetime | None = None

    @property
    def rate_limit_url_shown(self) -> str | None:
        """:attr:`rate_limit_url` with its password hidden (``redis://:***@host``), to show."""
        return None if self.rate_limit_url is None else _masked(self.rate_limit_url)

    def next_fire(self) -> dt.datetime | None:
        """The first fire time its scheduled runs have not handled yet (UTC), if scheduled.

        In the past when the export is due. ``None`` without a schedule, or for one that
        never fires.

        Raises:
            ConfigurationError: croniter is not installed (the ``schedule`` extra).
        """
        if self.schedule is None:
            return None
        return self.schedule.next_fire(self.schedule_anchor or self.created_at)


_COUNTS = tuple(s.value for s in OutcomeStatus)


@attrs.frozen
class RunRecord:
    """One row of run history.

    Attributes:
        id: The run's ID (for :meth:`Workspace.run_report`).
        export: The saved export's name.
        actor: Who ran it, when known.
        started_at: When it started (UTC).
        finished_at: When it ended (UTC), ``None`` while running.
        status: How it ended.
        error: The error that stopped or refused it, if any.
        input: Profiles read.
        counts: Profiles per outcome (``"exported"``, ``"unchanged"``, ``"rejected"``, …).
        requests: Requests sent to ActiveCampaign.
        retries: Retries among them.
        rate_limited: Answers that were rate limits (429s).
        duration: Seconds the export ran.
        full_refresh: Whether it sent every profile (``None``: it never got that far).
        scheduled_for: The fire time a scheduled run handled (UTC); ``None`` for a run on
            demand.
    """

    id: int
    export: str
    actor: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: RunStatus
    error: str | None
    input: int
    counts: dict[str, int]
    requests: int
    retries: int
    rate_limited: int
    duration: float | None
    full_refresh: bool | None
    scheduled_for: dt.datetime | None = None

    @property
    def exported(self) -> int:
        """Profiles exported."""
        return self.counts["exported"]

    @property
    def unchanged(self) -> int:
        """Profiles not sent because ActiveCampaign already had them as they are."""
        return self.counts["unchanged"]


_RUN_COLUMNS = (
    "id, export_name, actor, started_at, finished_at, status, error, input, "
    + ", ".join(_COUNTS)
    + ", requests, retries, rate_limited, duration, full_refresh, scheduled_for"
)


def _record(row: tuple[Any, ...]) -> RunRecord:
    n = len(_COUNTS)
    counts = dict(zip(_COUNTS, row[8 : 8 + n], strict=True))
    rest = row[8 + n :]
    return RunRecord(
        id=row[0],
        export=row[1],
        actor=row[2],
        started_at=dt.datetime.fromisoformat(row[3]),
        finished_at=_when(row[4]),
        status=RunStatus(row[5]),
        error=row[6],
        input=row[7],
        counts=counts,
        requests=rest[0],
        retries=rest[1],
        rate_limited=rest[2],
        duration=rest[3],
        full_refresh=None if rest[4] is None else bool(rest[4]),
        scheduled_for=_when(rest[5]),
    )


def status_of(report: ExportReport) -> RunStatus:
    """The history status of a run that ended with *report* (and raised nothing)."""
    bad = (
        OutcomeStatus.REJECTED,
        OutcomeStatus.FAILED,
        OutcomeStatus.UNKNOWN,
        OutcomeStatus.NOT_ATTEMPTED,
    )
    if report.stopped_early or any(report.tally[s] for s in bad):
        return RunStatus.FAILED_PROFILES
    return RunStatus.SUCCEEDED


class DueOutcome(str, enum.Enum):
    """How a due run ended (:attr:`DueRun.outcome`)."""

    #: Every profile exported, unchanged, a duplicate or skipped as unsubscribed.
    SUCCEEDED = "succeeded"
    #: It ran to its end, but some profiles were rejected, failed, unknown or not attempted.
    FAILED_PROFILES = "failed_profiles"
    #: It stopped as a whole (cancelled, a refused key, repeated API failures).
    ABORTED = "aborted"
    #: Refused before sending anything (no consent, no permission, no key, no saved
    #: source), or mirror refused to unsubscribe.
    REFUSED = "refused"
    #: Another run of the export holds its lease: nothing ran, nothing was recorded, and
    #: the fire time stays due (the next call runs it once that run has ended).
    BUSY = "busy"
    #: The source could not be opened or read (``open_source`` raised, it returned no
    #: iterable of mappings, or reading it failed mid-run).
    SOURCE_ERROR = "source_error"


_DUE_OF_RUN = {
    RunStatus.SUCCEEDED: DueOutcome.SUCCEEDED,
    RunStatus.FAILED_PROFILES: DueOutcome.FAILED_PROFILES,
    RunStatus.ABORTED: DueOutcome.ABORTED,
    RunStatus.REFUSED: DueOutcome.REFUSED,
}


@attrs.frozen
class DueRun:
    """What :meth:`Workspace.run_due` did with one due export.

    Attributes:
        export: The saved export, as it was when its run began.
        fire_time: The fire time the run handled (UTC): the latest at or before ``now``.
            Earlier fire times missed since the last scheduled run are covered by it.
        outcome: How it ended.
        run_id: Its history row (for :meth:`Workspace.run_report`); ``None`` when busy.
        report: The export's report, when it got as far as having one.
        error: The exception that stopped, refused or skipped it, if any.
    """

    export: SavedExport
    fire_time: dt.datetime
    outcome: DueOutcome
    run_id: int | None
    report: ExportReport | None = attrs.field(default=None, repr=False)
    error: BaseException | None = None

    @property
    def failed(self) -> bool:
        """Whether it calls for attention: anything but succeeded or busy."""
        return self.outcome not in (DueOutcome.SUCCEEDED, DueOutcome.BUSY)


def _from_source(exc: BaseException) -> bool:
    """Whether an export that raised *exc* was stopped by its source."""
    if isinstance(exc, UnsupportedSourceError):
        return True
    if isinstance(exc, MirrorRefusedError) or not isinstance(exc, ExportAbortedError):
        return False
    cause = exc.__cause__
    # The exporter chains what stopped it: an APIError, or what reading the profiles raised.
    return isinstance(cause, Exception) and not isinstance(cause, APIError)


def _limits_of(pacing: object) -> RateLimits:
    """The rates a shared budget keeps to: the workspace's own, ActiveCampaign's if they are off."""
    limits = pacing if isinstance(pacing, RateLimits) else getattr(pacing, "limits", None)
    if isinstance(limits, RateLimits) and limits.enabled:
        return limits
    return RateLimits()


@attrs.define
class _Run:
    """A run being prepared or going on: its history row and what it needs."""

    id: int
    export_id: int
    name: str
    actor: Actor | None
    lease: Lease | None = None
    db: sqlite3.Connection | None = None
    exporter: Exporter | AsyncExporter | None = None
    budget: RedisRateBudget | None = None


class Workspace:
    """Saved connections and exports, run history and incremental sync state, in one file.

    An embedded SQLite database (WAL mode, created on first use, its schema migrated
    forward when a newer library opens it). It never holds an API key: a connection is
    saved with the name of the environment variable (or your secret provider's reference)
    that holds it, and the key is read from there at run time.

    Args:
        path: The database file (created, with its directory's ``-wal``/``-shm`` companions).
        secret_provider: Resolves keys saved with ``api_key_ref=`` (called with the
            reference, returns the key).
        environ: Where keys saved with ``api_key_env=`` are read (default ``os.environ``).
        transforms: Named transforms used by saved mappings (``{"upper": str.upper}``).
        client_options: How clients built for runs send (timeouts, retries, pacing,
            transport); a run given ``client=`` uses that client instead.
        lease_ttl: Seconds without a heartbeat after which a run's lease is taken as
            abandoned (its process died); heartbeats come every third of it.

    Permissions follow the model: pass ``actor=`` to have them checked. Only admins save or
    remove connections or read a key; anyone allowed to use a connection may save, remove
    and run exports through it. Without an actor, the calling code is trusted.

    Raises:
        WorkspaceError: The file is not a workspace, is damaged, or is from a newer version.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        secret_provider: Callable[[str], str | Secret] | None = None,
        environ: Mapping[str, str] | None = None,
        transforms: Transforms | None = None,
        client_options: ClientOptions | None = None,
        lease_ttl: float = 60.0,
    ) -> None:
        if not isinstance(_any(client_options), ClientOptions | None):
            msg = f"client_options must be ClientOptions, not {type(client_options).__name__}."
            raise ConfigurationError(msg)
        if not _seconds(lease_ttl):
            msg = f"lease_ttl must be a positive number of seconds, not {lease_ttl!r}."
            raise ConfigurationError(msg)
        self.path = Path(path)
        self._secret_provider = secret_provider
        self._environ = environ
        self._transforms = transforms
        self._client_options = client_options or ClientOptions()
        self._lease_ttl = float(lease_ttl)
        self._lock = threading.RLock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = connect(self.path)
        try:
            migrate(self._db, self.path)
        except BaseException:
            self._db.close()
            raise

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    # -- plumbing --------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the workspace's own database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    @property
    def schema_version(self) -> int:
        """The database's schema version."""
        return int(self._one("PRAGMA user_version")[0])

    # -- connections -----------------------------------------------------------------------------

    def save_connection(
        self,
        connection: Connection,
        *,
        api_key_env: str | None = None,
        api_key_ref: str | None = None,
        actor: Actor | None = None,
    ) -> SavedConnection:
        """Save (or update) a connection under its display name, without its key.

        Args:
            connection: The connection (its consent and export user are saved with it).
            api_key_env: The environment variable that holds the key at run time.
            api_key_ref: Or a reference your ``secret_provider`` resolves.
            actor: The acting user; must be an admin.

        Raises:
            PermissionDeniedError: *actor* is not an admin.
            ConfigurationError: Neither or both of *api_key_env* and *api_key_ref*.
        """
        if not isinstance(_any(connection), Connection):
            msg = f"Expected a Connection, not {type(connection).__name__}."
            raise ConfigurationError(msg)
        if actor is not None:
            connection._require_admin(actor, "save")  # the model's own check
        if (api_key_env is None) == (api_key_ref is None):
            msg = (
                "The workspace never stores an API key: pass api_key_env= (the environment "
                "variable that holds it) or api_key_ref= (your secret provider's reference), "
                "exactly one of them."
            )
            raise ConfigurationError(msg)
        data = connection.to_dict(api_key_env=api_key_env, api_key_ref=api_key_ref)
        now = _now().isoformat()
        with self._tx() as db:
            db.execute(
                "INSERT INTO connections (name, data, created_at, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET data = excluded.data, "
                "updated_at = excluded.updated_at",
                (connection.display_name, json.dumps(data, sort_keys=True), now, now),
            )
        return self._saved_connection(connection.display_name)

    def _connection_row(self, name: str) -> tuple[int, dict[str, Any], str, str]:
        row = self._one(
            "SELECT id, data, created_at, updated_at FROM connections WHERE name = ?", (name,)
        )
        if row is None:
            known = ", ".join(repr(r[0]) for r in self._all("SELECT name FROM connections"))
            msg = f"No saved connection is named {name!r} (saved: {known or 'none'})."
            raise ConfigurationError(msg)
        return row[0], json.loads(row[1]), row[2], row[3]

    def _saved_connection(self, name: str) -> SavedConnection:
        _, data, created, updated = self._connection_row(name)
        connection = connection_from_dict(data, api_key="unused-placeholder")
        ((kind, where),) = data["api_key"].items()
        return SavedConnection(
            name=connection.display_name,
            host=connection.host,
            usable_by=connection.usable_by,
            consent=connection.consent,
            export_user=connection.export_user,
            api_key_source=f"{kind}:{where}",
            created_at=dt.datetime.fromisoformat(created),
            updated_at=dt.datetime.fromisoformat(updated),
        )

    def connections(self) -> list[SavedConnection]:
        """Every saved connection, by name (no keys: anyone may list them)."""
        return [self._saved_connection(r[0]) for r in self._all("SELECT name FROM connections")]

    def connection(self, name: str, *, actor: Actor | None = None) -> Connection:
        """The saved connection with its key read from where it was saved to be found.

        Raises:
            PermissionDeniedError: *actor* is not an admin (contributors never read a key).
            SecretNotFoundError: The environment variable is not set, or the reference
                cannot be resolved.
        """
        _, data, _, _ = self._connection_row(name)
        if actor is not None:
            connection_from_dict(data, api_key="unused-placeholder").api_key_for(actor)
        return self._resolve(data)

    def _resolve(self, data: Mapping[str, Any]) -> Connection:
        return connection_from_dict(
            data, secret_provider=self._secret_provider, environ=self._environ
        )

    def remove_connection(self, name: str, *, actor: Actor | None = None) -> None:
        """Remove a saved connection that no saved export uses.

        Raises:
            PermissionDeniedError: *actor* is not an admin.
            ConfigurationError: Unknown, or saved exports use it (they are named).
        """
        connection_id, data, _, _ = self._connection_row(name)
        if actor is not None:
            connection_from_dict(data, api_key="unused-placeholder").check_remove(actor)
        with self._tx() as db:
            users = [
                r[0]
                for r in db.execute(
                    "SELECT name FROM exports WHERE connection_id = ?", (connection_id,)
                )
            ]
            if users:
                msg = (
                    f"Connection {name!r} is used by saved exports {', '.join(map(repr, users))}; "
                    "remove them first."
                )
                raise ConfigurationError(msg)
            db.execute("DELETE FROM connections WHERE id = ?", (connection_id,))

    # -- exports ---------------------------------------------------------------------------------

    def save_export(
        self,
        destination: ExportDestination,
        *,
        options: ExportOptions | None = None,
        schedule: Schedule | None = None,
        source: SavedSource | None = None,
        rate_limit_url: str | None = None,
        actor: Actor | None = None,
        replace: bool = False,
    ) -> SavedExport:
        """Save a destination as a named export (saving never runs it).

        Its connection must be saved first (by display name). The definition is checked
        (not against the API, nor Redis, nor the source's file): mapping, options,
        schedule, source and rate budget URL.

        Args:
            destination: The destination; its name names the saved export.
            options: How it runs (default :class:`ExportOptions`).
            schedule: When it should run, or ``None``. Its fire times count from now: a
                new or changed schedule is not due for times before it was saved.
            source: Where its segment is read (needed with a schedule).
            rate_limit_url: A ``redis://`` or ``rediss://`` URL: every run of the export
                paces through the account's rate budget in that Redis, shared with every
                process and machine using it (see :class:`RedisRateBudget`). Stored as
                given: a password in it is in the workspace file (never in a repr).
            actor: The acting user; must be allowed to use the connection.
            replace: Overwrite a saved export of the same name (else that is an error).
                Changing the mapping makes the next run a full refresh.

        Raises:
            ConfigurationError: The connection is not saved, the name is taken, the
                definition is invalid, or a schedule comes without a source.
            PermissionDeniedError: *actor* may not use the connection.
        """
        if not isinstance(_any(destination), ExportDestination):
            msg = f"Expected an ExportDestination, not {type(destination).__name__}."
            raise ConfigurationError(msg)
        options = ExportOptions() if options is None else options
        if not isinstance(_any(options), ExportOptions):
            msg = f"options must be an ExportOptions, not {type(options).__name__}."
            raise ConfigurationError(msg)
        if not isinstance(_any(schedule), Schedule | None):
            msg = f"schedule must be a Schedule (cron and time zone), not {schedule!r}."
            raise ConfigurationError(msg)
        if not isinstance(_any(source), SavedSource | None):
            msg = f"source must be a SavedSource (a file or a query), not {source!r}."
            raise ConfigurationError(msg)
        if schedule is not None and source is None:
            msg = (
                f"The export {destination.name!r} has a schedule but no source: a scheduled "
                "run must know what to read. Pass source=SavedSource(input='segment.csv') "
                "(a CSV, JSON Lines or Parquet file) or SavedSource(sql='SELECT ...')."
            )
            raise ConfigurationError(msg)
        rate_limit_url = _check_rate_limit_url(rate_limit_url)
        if not isinstance(_any(replace), bool):
            msg = f"replace must be True or False, not {replace!r}."
            raise ConfigurationError(msg)
        if actor is not None:
            destination.check_use(actor)
        conn_name = destination.connection.display_name
        connection_id, data, _, _ = self._connection_row(conn_name)
        saved = connection_from_dict(data, api_key="unused-placeholder")
        if saved.host != destination.connection.host:
            msg = (
                f"The destination's connection is for {destination.connection.host}, but the "
                f"saved connection {conn_name!r} is for {saved.host}; save the connection first."
            )
            raise ConfigurationError(msg)
        stored = destination.to_dict(include_connection=False, transforms=self._transforms)
        # The definition must load back as it will at run time.
        destination_from_dict(stored, connection=saved, transforms=self._transforms)
        now = _now().isoformat()
        schedule_json = None if schedule is None else json.dumps(schedule.to_dict())
        values = (
            json.dumps(stored, sort_keys=True),
            json.dumps(options.to_dict(), sort_keys=True),
            schedule_json,
            None if source is None else json.dumps(source.to_dict(), sort_keys=True),
            rate_limit_url,
        )
        with self._tx() as db:
            exists = db.execute(
                "SELECT id, schedule, schedule_anchor FROM exports WHERE name = ?",
                (destination.name,),
            ).fetchone()
            anchor = None if schedule is None else now
            if exists is not None and schedule_json is not None and exists[1] == schedule_json:
                anchor = exists[2] or now  # the same schedule: its handled fire times stay
            if exists is not None and not replace:
                msg = (
                    f"A saved export is already named {destination.name!r}; pass replace=True "
                    "to overwrite it, or choose another name."
                )
                raise ConfigurationError(msg)
            if exists is None:
                db.execute(
                    "INSERT INTO exports (name, connection_id, destination, options, schedule, "
                    "source, rate_limit_url, schedule_anchor, created_by, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        destination.name,
                        connection_id,
                        *values,
                        anchor,
                        actor.user if actor else None,
                        now,
                        now,
                    ),
                )
            else:
                db.execute(
                    "UPDATE exports SET connection_id = ?, destination = ?, options = ?, "
                    "schedule = ?, source = ?, rate_limit_url = ?, schedule_anchor = ?, "
                    "updated_at = ? WHERE id = ?",
                    (connection_id, *values, anchor, now, exists[0]),
                )
        return self.get_export(destination.name)

    _EXPORT_COLUMNS = (
        "e.id, e.name, c.name, e.destination, e.options, e.schedule, e.created_by, "
        "e.created_at, e.updated_at, e.source, e.rate_limit_url, e.schedule_anchor"
    )

    def _export_row(self, name: str) -> tuple[Any, ...]:
        if not isinstance(_any(name), str):
            msg = f"An export name must be a string, not {type(name).__name__}."
            raise ConfigurationError(msg)
        row = self._one(
            f"SELECT {self._EXPORT_COLUMNS} FROM exports e JOIN connections c "  # noqa: S608
            "ON c.id = e.connection_id WHERE e.name = ?",
            (name.strip(),),
        )
        if row is None:
            known = ", ".join(repr(r[0]) for r in self._all("SELECT name FROM exports"))
            msg = f"No saved export is named {name!r} (saved: {known or 'none'})."
            raise ConfigurationError(msg)
        return tuple(row)

    def _saved_export(self, row: tuple[Any, ...]) -> SavedExport:
        _, name, connection, destination, options, schedule, by, created, updated = row[:9]
        source, rate_limit_url, anchor = row[9:12]
        stored = json.loads(destination)
        return SavedExport(
            name=name,
            connection=connection,
            list_id=stored["list_id"],
            mapping=mapping_from_dict(stored["mapping"], transforms=self._transforms),
            tags=tuple(stored.get("tags", ())),
            mode=ExportMode(stored.get("mode", "upsert")),
            run_automations=bool(stored.get("run_automations", False)),
            options=ExportOptions.from_dict(json.loads(options)),
            schedule=None if schedule is None else Schedule.from_dict(json.loads(schedule)),
            created_by=by,
            created_at=dt.datetime.fromisoformat(created),
            updated_at=dt.datetime.fromisoformat(updated),
            source=None if source is None else SavedSource.from_dict(json.loads(source)),
            rate_limit_url=rate_limit_url,
            schedule_anchor=None if schedule is None else _when(anchor or created),
        )

    def get_export(self, name: str) -> SavedExport:
        """The saved export named *name*.

        Raises:
            ConfigurationError: No saved export has that name.
        """
        return self._saved_export(self._export_row(name))

    def exports(self) -> list[SavedExport]:
        """Every saved export, by name."""
        rows = self._all(
            f"SELECT {self._EXPORT_COLUMNS} FROM exports e JOIN connections c "  # noqa: S608
            "ON c.id = e.connection_id ORDER BY e.name"
        )
        return [self._saved_export(tuple(r)) for r in rows]

    def remove_export(self, name: str, *, actor: Actor | None = None) -> None:
        """Remove a saved export with its sync state (its run history stays).

        Raises:
            ConfigurationError: No saved export has that name.
            ExportInProgressError: A run of it is going on.
            PermissionDeniedError: *actor* may not use its connection.
        """
        row = self._export_row(name)
        if actor is not None:
            _, data, _, _ = self._connection_row(row[2])
            connection_from_dict(data, api_key="unused-placeholder").check_use(actor)
        export_id = row[0]
        with self._tx() as db:
            lease = db.execute(
                "SELECT holder, acquired_at, heartbeat_at FROM leases WHERE export_id = ?",
                (export_id,),
            ).fetchone()
            if lease is not None and time.time() - lease[2] < self._lease_ttl:
                since = dt.datetime.fromtimestamp(lease[1], dt.timezone.utc)
                msg = (
                    f"The saved export {row[1]!r} is running ({lease[0]} holds it since "
                    f"{since:%Y-%m-%d %H:%M:%S} UTC); remove it when that run has ended."
                )
                raise ExportInProgressError(
                    msg,
                    export=row[1],
                    holder=lease[0],
                    since=since,
                    heartbeat=dt.datetime.fromtimestamp(lease[2], dt.timezone.utc),
                )
            for table in ("sync_state", "sync_meta", "mirror_unsubscribes", "leases"):
                db.execute(f"DELETE FROM {table} WHERE export_id = ?", (export_id,))  # noqa: S608
            db.execute("UPDATE runs SET export_id = NULL WHERE export_id = ?", (export_id,))
            db.execute("DELETE FROM exports WHERE id = ?", (export_id,))

    def sync_state(self, name: str) -> SQLiteSyncState:
        """The saved export's sync state, to inspect (or reset with ``set_meta(..., clear=True)``).

        It uses the workspace's own connection: use it from the thread that uses the workspace.
        """
        return SQLiteSyncState(self._db, self._export_row(name)[0])

    def synced_contacts(self, name: str) -> int:
        """How many contacts the saved export's sync state holds as confirmed."""
        export_id = self._export_row(name)[0]
        row = self._one("SELECT count(*) FROM sync_state WHERE export_id = ?", (export_id,))
        return int(row[0])

    # -- history ---------------------------------------------------------------------------------

    def history(self, name: str | None = None, *, limit: int = 100) -> list[RunRecord]:
        """The latest runs, newest first (of one saved export when *name* is given)."""
        if isinstance(_any(limit), bool) or not isinstance(_any(limit), int) or limit < 1:
            msg = f"limit must be a positive integer, not {limit!r}."
            raise ConfigurationError(msg)
        if name is None:
            rows = self._all(
                f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?",  # noqa: S608
                (limit,),
            )
        else:
            rows = self._all(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE export_name = ? "  # noqa: S608
                "ORDER BY id DESC LIMIT ?",
                (name, limit),
            )
        return [_record(tuple(r)) for r in rows]

    def run_report(self, run_id: int) -> dict[str, Any]:
        """The full report of a run (as :meth:`ExportReport.to_dict` made it).

        Raises:
            ConfigurationError: No run has this ID, or it ended without a report (it was
                refused before it started).
        """
        row = self._one("SELECT report, status FROM runs WHERE id = ?", (run_id,))
        if row is None:
            msg = f"No run has ID {run_id!r}."
            raise ConfigurationError(msg)
        if row[0] is None:
            msg = f"Run {run_id} has no report (status {row[1]}: it never started sending)."
            raise ConfigurationError(msg)
        report: dict[str, Any] = json.loads(row[0])
        return report

    # -- running ---------------------------------------------------------------------------------

    def _begin(self, name: str, actor: Actor | None) -> _Run:
        if not isinstance(_any(actor), Actor | None):
            msg = f"actor must be an Actor, not {type(actor).__name__}."
            raise ConfigurationError(msg)
        row = self._export_row(name)
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO runs (export_id, export_name, actor, started_at, status) "
                "VALUES (?, ?, ?, ?, 'running')",
                (row[0], row[1], actor.user if actor else None, _now().isoformat()),
            )
            run_id = cursor.lastrowid
        assert run_id is not None
        return _Run(run_id, row[0], row[1], actor)

    def _prepare(
        self,
        run: _Run,
        *,
        kind: type[Exporter] | type[AsyncExporter],
        client: Any,
        full_refresh: bool,
        dry_run: bool,
        cancel: CancelToken | None,
        on_progress: Callable[[Progress], None] | None,
    ) -> Exporter | AsyncExporter:
        """Everything before the first request; a failure is a refused run."""
        row = self._export_row(run.name)
        _, data, _, _ = self._connection_row(row[2])
        connection = self._resolve(data)
        destination = destination_from_dict(
            json.loads(row[3]), connection=connection, transforms=self._transforms
        )
        options = ExportOptions.from_dict(json.loads(row[4]))
        if dry_run:
            options = options.replace(dry_run=True)
        destination.preflight(run.actor)
        if run.lease is None:  # a scheduled run took it when it claimed its fire time
            holder = run.actor.user if run.actor else "an unnamed user"
            run.lease = Lease(self.path, run.export_id, run.name, run.id, holder, self._lease_ttl)
            run.lease.acquire()
        if row[10] is not None and client is None:
            run.budget = RedisRateBudget(
                row[10], limits=_limits_of(self._client_options.rate_limits)
            )
        run.db = connect(self.path)
        exporter = kind(
            destination,
            client=client,
            actor=run.actor,
            options=options,
            cancel=cancel,
            on_progress=on_progress,
            sync_state=SQLiteSyncState(run.db, run.export_id),
            full_refresh=full_refresh,
        )
        run.exporter = exporter
        return exporter

    def _options_for(self, run: _Run) -> ClientOptions:
        """The options of the client a run builds: the export's shared budget, if any."""
        if run.budget is None:
            return self._client_options
        return attrs.evolve(self._client_options, rate_limits=run.budget)

    def _end(
        self,
        run: _Run,
        status: RunStatus,
        *,
        report: ExportReport | None = None,
        error: BaseException | None = None,
        message: str | None = None,
    ) -> None:
        if run.lease is not None:
            run.lease.release()
        if run.db is not None:
            run.db.close()
        if run.budget is not None:
            run.budget.close()
        counts = report.counts if report is not None else dict.fromkeys(_COUNTS, 0)
        if message is None and error is not None:
            message = str(error) or type(error).__name__
        values: tuple[Any, ...] = (
            _now().isoformat(),
            status.value,
            message,
            report.input_count if report else 0,
            *(counts[c] for c in _COUNTS),
            report.requests if report else 0,
            report.retries if report else 0,
            report.rate_limited if report else 0,
            report.elapsed_seconds if report else None,
            None if report is None or report.full_refresh is None else int(report.full_refresh),
            report.to_json() if report else None,
            run.id,
        )
        assignments = ", ".join(
            f"{c} = ?"
            for c in (
                "finished_at",
                "status",
                "error",
                "input",
                *_COUNTS,
                "requests",
                "retries",
                "rate_limited",
                "duration",
                "full_refresh",
                "report",
            )
        )
        with self._tx() as db:
            db.execute(f"UPDATE runs SET {assignments} WHERE id = ?", values)  # noqa: S608

    def _failed(self, run: _Run, exc: BaseException) -> RunStatus:
        """Record how a run that raised *exc* ended."""
        report = getattr(exc, "report", None)
        if not isinstance(report, ExportReport) and run.exporter is not None:
            report = run.exporter.last_report
        if isinstance(exc, MirrorRefusedError):
            status = RunStatus.REFUSED
        elif isinstance(exc, ExportAbortedError) or report is not None:
            status = RunStatus.ABORTED
        elif isinstance(exc, PolicyError | ConfigurationError):
            status = RunStatus.REFUSED
        else:
            status = RunStatus.ABORTED
        self._end(run, status, report=report, error=exc)
        return status

    def run(
        self,
        name: str,
        profiles: Iterable[Mapping[str, Any]],
        *,
        actor: Actor | None = None,
        full_refresh: bool = False,
        client: Client | None = None,
        dry_run: bool = False,
        cancel: CancelToken | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> ExportReport:
        """Run a saved export on *profiles*, sending only what changed; record the run.

        Takes the export's lease, resolves the key, checks consent and permission, then
        exports with incremental sync: profiles ActiveCampaign already has with the same
        values are ``unchanged``. Every outcome goes into the history row.

        Args:
            name: The saved export.
            profiles: Any iterable of mappings.
            actor: Who runs it (checked against the connection's audience).
            full_refresh: Send everything and rebuild the sync state.
            client: A client to send through (default: one built from the connection with
                the workspace's ``client_options``, pacing through the export's
                ``rate_limit_url`` budget when it has one, closed after the run). A client
                given here paces as it was built.
            dry_run: Count what would be sent, unchanged, subscribed and unsubscribed.
            cancel: A :class:`CancelToken` to stop the run.
            on_progress: Called with a :class:`Progress` about twice a second.

        Raises:
            ExportInProgressError: Another run of this export holds its lease.
            SecretNotFoundError: The key's environment variable or reference is missing.
            ConsentRequiredError: The connection has no (or a revoked) consent.
            PermissionDeniedError: *actor* may not use the connection.
            ExportAbortedError: The export stopped as a whole (its report is recorded).
        """
        run = self._begin(name, actor)
        try:
            exporter = self._prepare(
                run,
                kind=Exporter,
                client=client,
                full_refresh=full_refresh,
                dry_run=dry_run,
                cancel=cancel,
                on_progress=on_progress,
            )
            assert isinstance(exporter, Exporter)
            own = None
            if client is None:
                own = exporter.client = exporter.destination.connection.client(
                    self._options_for(run)
                )
            try:
                report = exporter.run(profiles)
            finally:
                if own is not None:
                    own.close()
        except BaseException as exc:
            self._failed(run, exc)
            raise
        self._end(run, status_of(report), report=report)
        return report

    async def arun(
        self,
        name: str,
        profiles: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
        *,
        actor: Actor | None = None,
        full_refresh: bool = False,
        client: AsyncClient | None = None,
        dry_run: bool = False,
        cancel: CancelToken | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> ExportReport:
        """The async :meth:`run` (profiles may be an async iterable)."""
        run = self._begin(name, actor)
        try:
            exporter = self._prepare(
                run,
                kind=AsyncExporter,
                client=client,
                full_refresh=full_refresh,
                dry_run=dry_run,
                cancel=cancel,
                on_progress=on_progress,
            )
            assert isinstance(exporter, AsyncExporter)
            own = None
            if client is None:
                own = exporter.client = exporter.destination.connection.async_client(
                    self._options_for(run)
                )
            try:
                report = await exporter.run(profiles)
            finally:
                if own is not None:
                    await own.aclose()
                if run.budget is not None:
                    await run.budget.aclose()
        except BaseException as exc:
            self._failed(run, exc)
            raise
        self._end(run, status_of(report), report=report)
        return report

    # -- schedules -------------------------------------------------------------------------------

    def _clock(self, now: dt.datetime | None) -> dt.datetime:
        return _now() if now is None else aware(now, "now")

    def due(self, now: dt.datetime | None = None) -> list[SavedExport]:
        """The saved exports that are due: a fire time of their schedule lies in (anchor, now].

        The anchor is the fire time the export's last scheduled run handled, or when its
        schedule was saved if none ran since (:attr:`SavedExport.schedule_anchor`).

        Args:
            now: The time to judge by (aware; default: the current time).

        Raises:
            ConfigurationError: *now* is naive, or croniter is not installed
                (``pip install 'ac-segment-export[schedule]'``).
        """
        when = self._clock(now)
        found = []
        for export in self.exports():
            fire = export.next_fire()
            if fire is not None and fire <= when:
                found.append(export)
        return found

    def run_due(
        self,
        open_source: Callable[[SavedExport], Iterable[Mapping[str, Any]]],
        *,
        now: dt.datetime | None = None,
        names: Iterable[str] | None = None,
        actor: Actor | None = None,
        client: Client | None = None,
        cancel: CancelToken | None = None,
        on_progress: Callable[[SavedExport, Progress], None] | None = None,
    ) -> list[DueRun]:
        """Run every due saved export once, one after another, and say how each ended.

        For each export :meth:`due` lists (by name), in one transaction: the latest fire
        time at or before *now* is recorded as handled, a history row is opened for it
        (:attr:`RunRecord.scheduled_for`) and the export's lease is taken. So several missed
        fire times make one run, two schedulers never run one fire time twice, and a run
        that crashes is not started again until the next fire time (its history row is
        marked ``aborted`` when the next run takes the lease over). Then the run goes as
        :meth:`run` goes (key, consent, permission, incremental sync, history), reading
        ``open_source(export)``.

        An export whose lease another run holds is reported ``busy``: nothing runs, nothing
        is recorded, and the fire time stays due for the next call.

        Args:
            open_source: Called with the :class:`SavedExport` (its :attr:`~SavedExport.source`
                says what to read); returns its profiles (an iterable of mappings, or a
                frame the exporter reads). What it raises is a ``source_error``.
            now: The time to judge by (aware; default: the current time).
            names: Only these saved exports (default: every due one).
            actor: Who the runs are recorded as (checked against each connection's
                audience); default: unnamed.
            client: A client to send through (default: one a run, built as :meth:`run`
                builds it).
            cancel: A :class:`CancelToken`: stops the run going on, and the ones after it
                are not started.
            on_progress: Called with the export and a :class:`Progress`, about twice a
                second.

        Returns:
            One :class:`DueRun` an export that was due, in the order they ran.

        Raises:
            ConfigurationError: *now* is naive, *names* names an unknown export, or croniter
                is not installed.
        """
        if not callable(_any(open_source)):
            msg = f"open_source must be a callable (SavedExport -> profiles), not {open_source!r}."
            raise ConfigurationError(msg)
        if not isinstance(_any(actor), Actor | None):
            msg = f"actor must be an Actor, not {type(actor).__name__}."
            raise ConfigurationError(msg)
        when = self._clock(now)
        wanted: set[str] | None = None
        if names is not None:
            if isinstance(_any(names), str):
                msg = f"names must be a list of saved export names, not the string {names!r}."
                raise ConfigurationError(msg)
            listed = list(names)
            if not all(isinstance(_any(n), str) for n in listed):
                msg = f"names must be a list of saved export names, not {names!r}."
                raise ConfigurationError(msg)
            wanted = {n.strip() for n in listed}
            unknown = wanted - {e.name for e in self.exports()}
            if unknown:
                msg = f"No saved export is named {', '.join(map(repr, sorted(unknown)))}."
                raise ConfigurationError(msg)
        results: list[DueRun] = []
        for export in self.due(when):
            if wanted is not None and export.name not in wanted:
                continue
            if cancel is not None and cancel.cancelled:
                break
            result = self._run_scheduled(
                export,
                open_source,
                when,
                actor=actor,
                client=client,
                cancel=cancel,
                on_progress=on_progress,
            )
            if result is not None:
                results.append(result)
        return results

    def _claim(
        self, name: str, now: dt.datetime, actor: Actor | None
    ) -> tuple[_Run, dt.datetime] | DueRun | None:
        """Record the latest fire time as handled, open its run and take the lease, at once.

        ``None`` when it is no longer due (another scheduler handled it meanwhile); a busy
        :class:`DueRun` when another run holds the lease (then nothing is written).
        """
        holder = actor.user if actor else "the scheduler"
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT id, schedule, schedule_anchor, created_at FROM exports WHERE name = ?",
                    (name,),
                ).fetchone()
                if row is None or row[1] is None:
                    db.execute("ROLLBACK")
                    return None
                schedule = Schedule.from_dict(json.loads(row[1]))
                first = schedule.next_fire(dt.datetime.fromisoformat(row[2] or row[3]))
                fire = schedule.last_fire(now)
                if first is None or first > now or fire is None:
                    db.execute("ROLLBACK")
                    return None
                cursor = db.execute(
                    "INSERT INTO runs (export_id, export_name, actor, started_at, status, "
                    "scheduled_for) VALUES (?, ?, ?, ?, 'running', ?)",
                    (
                        row[0],
                        name,
                        actor.user if actor else None,
                        _now().isoformat(),
                        fire.isoformat(),
                    ),
                )
                run_id = cursor.lastrowid
                assert run_id is not None
                lease = Lease(self.path, row[0], name, run_id, holder, self._lease_ttl)
                lease.take(db)
                db.execute(
                    "UPDATE exports SET schedule_anchor = ? WHERE id = ?",
                    (fire.isoformat(), row[0]),
                )
                db.execute("COMMIT")
            except ExportInProgressError as exc:
                db.execute("ROLLBACK")
                assert fire is not None
                return DueRun(self.get_export(name), fire, DueOutcome.BUSY, None, error=exc)
            except BaseException:
                db.execute("ROLLBACK")
                raise
        lease.start()
        return _Run(run_id, row[0], name, actor, lease=lease), fire

    def _run_scheduled(
        self,
        export: SavedExport,
        open_source: Callable[[SavedExport], Iterable[Mapping[str, Any]]],
        now: dt.datetime,
        *,
        actor: Actor | None,
        client: Client | None,
        cancel: CancelToken | None,
        on_progress: Callable[[SavedExport, Progress], None] | None,
    ) -> DueRun | None:
        claimed = self._claim(export.name, now, actor)
        if not isinstance(claimed, tuple):
            return claimed
        run, fire = claimed
        saved = self.get_export(export.name)
        progress = None
        if on_progress is not None:
            callback = on_progress

            def progress(update: Progress) -> None:
                callback(saved, update)

        def result(
            outcome: DueOutcome,
            report: ExportReport | None = None,
            error: BaseException | None = None,
        ) -> DueRun:
            return DueRun(saved, fire, outcome, run.id, report, error)

        try:
            if saved.source is None:
                msg = (
                    f"The saved export {saved.name!r} has a schedule but no saved source (it "
                    "was saved before sources were): save it again with source=SavedSource(...)."
                )
                raise ConfigurationError(msg)
            exporter = self._prepare(
                run,
                kind=Exporter,
                client=client,
                full_refresh=False,
                dry_run=False,
                cancel=cancel,
                on_progress=progress,
            )
            assert isinstance(exporter, Exporter)
        except Exception as exc:  # noqa: BLE001 - a refused run, recorded and reported
            return result(_DUE_OF_RUN[self._failed(run, exc)], error=exc)
        except BaseException as exc:
            self._failed(run, exc)
            raise
        try:
            profiles = open_source(saved)
        except Exception as exc:  # noqa: BLE001 - the caller's code: a source error
            message = f"The source could not be opened: {type(exc).__name__}: {exc}"
            self._end(run, RunStatus.ABORTED, error=exc, message=message)
            return result(DueOutcome.SOURCE_ERROR, error=exc)
        except BaseException as exc:
            self._failed(run, exc)
            raise
        outcome, report, error = self._send_scheduled(run, exporter, profiles, client)
        return result(outcome, report, error)

    def _send_scheduled(
        self,
        run: _Run,
        exporter: Exporter,
        profiles: Iterable[Mapping[str, Any]],
        client: Client | None,
    ) -> tuple[DueOutcome, ExportReport | None, Exception | None]:
        try:
            own = None
            if client is None:
                own = exporter.client = exporter.destination.connection.client(
                    self._options_for(run)
                )
            try:
                report = exporter.run(profiles)
            finally:
                if own is not None:
                    own.close()
        except Exception as exc:
            status = self._failed(run, exc)
            if isinstance(exc.__cause__, KeyboardInterrupt):
                raise  # Ctrl-C stops the scheduler, not just this run
            partial = getattr(exc, "report", None)
            if not isinstance(partial, ExportReport):
                partial = exporter.last_report
            outcome = DueOutcome.SOURCE_ERROR if _from_source(exc) else _DUE_OF_RUN[status]
            return outcome, partial, exc
        except BaseException as exc:
            self._failed(run, exc)
            raise
        status = status_of(report)
        self._end(run, status, report=report)
        return _DUE_OF_RUN[status], report, None
