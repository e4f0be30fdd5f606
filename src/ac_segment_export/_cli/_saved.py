"""Saved work: ``connection``, ``destination``, ``run`` and ``history``, over the workspace.

The workspace is one SQLite file: ``--workspace PATH``, else ``AC_SEGMENT_EXPORT_WORKSPACE``,
else a per-user default (:func:`default_workspace`). It never holds an API key: a saved
connection names the environment variable the key is read from at run time.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import click
from rich.table import Table

from ac_segment_export._cli._app import cli, handled, user_name
from ac_segment_export._cli._commands import (
    check_columns,
    consent_refused,
    finish_export,
    read_segment,
)
from ac_segment_export._cli._console import emit_json, print_stored_report, stdout_console
from ac_segment_export._cli._mapping import MapSpec, parse_maps
from ac_segment_export._cli._options import DRY_RUN, JSON, MAP, MODE, NO_PROGRESS, REPORT, TAG, USER
from ac_segment_export._cli._readers import InputError
from ac_segment_export._cli._sandbox import make_sandbox
from ac_segment_export._core.errors import ConfigurationError
from ac_segment_export._model import Actor, Audience, Connection, ExportDestination
from ac_segment_export._workspace import SavedSource, Schedule, Workspace

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from ac_segment_export._client import Client
    from ac_segment_export._export import ExportReport, Progress
    from ac_segment_export._workspace import RunRecord, SavedConnection, SavedExport

__all__ = ["default_workspace"]

_APP = "ac-segment-export"


def default_workspace() -> Path:
    """The per-user workspace file: the platform's data directory for this program."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / _APP / "workspace.db"


def _workspace_path(value: str | None) -> Path:
    if value:
        return Path(value).expanduser()
    env = os.environ.get("AC_SEGMENT_EXPORT_WORKSPACE", "").strip()
    return Path(env).expanduser() if env else default_workspace()


def workspace_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--workspace PATH`` on a command."""
    return click.option(
        "--workspace",
        "workspace_path",
        metavar="PATH",
        help="The workspace file (default: AC_SEGMENT_EXPORT_WORKSPACE, else "
        f"{default_workspace()}).",
    )(func)


def open_workspace(value: str | None) -> Workspace:
    """The workspace the options name (created on first use)."""
    return Workspace(_workspace_path(value))


def _actor(user: str | None) -> Actor:
    """Whoever runs the command owns the workspace file: an admin, by name."""
    return Actor.admin(user_name(user))


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


# -- connection -----------------------------------------------------------------------------


@cli.group()
def connection() -> None:
    """Saved connections: a host, where its key is read from, and the recorded consent."""


@connection.command("add")
@click.argument("name")
@click.option(
    "--host",
    envvar="AC_API_URL",
    required=True,
    metavar="HOST",
    help="Your API URL or host (Settings > Developer), or AC_API_URL.",
)
@click.option(
    "--api-key-env",
    default="AC_API_KEY",
    show_default=True,
    metavar="NAME",
    help="The environment variable the key is read from at run time (the key "
    "itself is never saved).",
)
@click.option(
    "--usable-by",
    type=click.Choice([a.value for a in Audience]),
    default=Audience.ADMINS.value,
    show_default=True,
    help="Who may run exports through it.",
)
@click.option(
    "--accept-privacy-terms",
    is_flag=True,
    help="Record your consent to the data-privacy terms (required to export).",
)
@USER
@click.option("--replace", is_flag=True, help="Overwrite a saved connection of that name.")
@workspace_option
@handled
def connection_add(
    *,
    name: str,
    host: str,
    api_key_env: str,
    usable_by: str,
    accept_privacy_terms: bool,
    user: str | None,
    replace: bool,
    workspace_path: str | None,
) -> int:
    """Save a connection named NAME."""
    who = user_name(user)
    placeholder = os.environ.get(api_key_env) or f"read from {api_key_env} at run time"
    conn = Connection(name, host, placeholder, usable_by=Audience(usable_by), export_user=who)
    with open_workspace(workspace_path) as ws:
        if not replace and any(c.name == conn.display_name for c in ws.connections()):
            msg = f"A connection is already saved as {conn.display_name!r}; pass --replace."
            raise ConfigurationError(msg)
        if accept_privacy_terms:
            conn = conn.accept_data_privacy_terms(accepted_by=who)
        saved = ws.save_connection(conn, api_key_env=api_key_env, actor=_actor(user))
    click.echo(f"Saved connection {saved.name!r} for {saved.host} (key from {api_key_env}).")
    if not accept_privacy_terms:
        consent_refused(who)
        click.echo(
            "The connection is saved without consent: exports through it are refused until "
            "you add it again with --replace --accept-privacy-terms.",
            err=True,
        )
    return 0


def _connection_dict(saved: SavedConnection) -> dict[str, Any]:
    consent = saved.consent
    return {
        "name": saved.name,
        "host": saved.host,
        "usable_by": saved.usable_by.value,
        "api_key_source": saved.api_key_source,
        "export_user": saved.export_user,
        "consent": None
        if consent is None
        else {
            "accepted_by": consent.accepted_by,
            "accepted_at": consent.accepted_at.isoformat(),
            "terms_version": consent.terms_version,
            "revoked": consent.revoked,
        },
        "created_at": saved.created_at.isoformat(),
        "updated_at": saved.updated_at.isoformat(),
    }


@connection.command("list")
@JSON
@workspace_option
@handled
def connection_list(*, as_json: bool, workspace_path: str | None) -> int:
    """List the saved connections."""
    with open_workspace(workspace_path) as ws:
        saved = ws.connections()
    if as_json:
        emit_json({"ok": True, "connections": [_connection_dict(c) for c in saved]})
        return 0
    table = Table("name", "host", "key from", "usable by", "consent")
    for c in saved:
        consent = (
            "none"
            if c.consent is None
            else ("revoked" if c.consent.revoked else f"{c.consent.accepted_by}")
        )
        table.add_row(c.name, c.host, c.api_key_source, c.usable_by.value, consent)
    stdout_console().print(table)
    return 0


@connection.command("show")
@click.argument("name")
@JSON
@workspace_option
@handled
def connection_show(*, name: str, as_json: bool, workspace_path: str | None) -> int:
    """Show a saved connection (never its key)."""
    with open_workspace(workspace_path) as ws:
        found = [c for c in ws.connections() if c.name == name.strip()]
        if not found:
            ws.connection(name)  # raises the workspace's error, naming what is saved
        data = _connection_dict(found[0])
    if as_json:
        emit_json({"ok": True, "connection": data})
    else:
        for key, value in data.items():
            click.echo(f"{key}: {json.dumps(value) if isinstance(value, dict) else value}")
    return 0


@connection.command("verify")
@click.argument("name")
@JSON
@workspace_option
@handled
def connection_verify(*, name: str, as_json: bool, workspace_path: str | None) -> int:
    """Check a saved connection's key against ActiveCampaign ("Connect")."""
    with open_workspace(workspace_path) as ws:
        conn = ws.connection(name)
    user = conn.verify()
    if as_json:
        emit_json(
            {
                "ok": True,
                "connection": conn.display_name,
                "host": conn.host,
                "user": {"id": user.id, "username": user.username, "email": user.email},
            }
        )
    else:
        owner = user.username or user.email
        click.echo(
            f"{conn.display_name!r}: the key for {conn.host} belongs to {owner}"
            f" <{user.email}> (user #{user.id})."
        )
    return 0


@connection.command("remove")
@click.argument("name")
@workspace_option
@handled
def connection_remove(*, name: str, workspace_path: str | None) -> int:
    """Remove a saved connection that no saved destination uses."""
    with open_workspace(workspace_path) as ws:
        ws.remove_connection(name)
    click.echo(f"Removed connection {name!r}.")
    return 0


# -- destination ------------------------------------------------------------------------------


@cli.group()
def destination() -> None:
    """Saved exports: a connection's list, a mapping, and when and from what it runs."""


@destination.command("add")
@click.argument("name")
@click.option(
    "--connection", "connection_name", required=True, metavar="NAME", help="The saved connection."
)
@click.option("--list-id", type=click.IntRange(min=1), required=True, help="The list's ID.")
@MAP
@TAG
@MODE
@click.option(
    "--schedule",
    "cron",
    metavar="CRON",
    help="When it runs: a cron expression such as '0 6 * * *' (needs a saved --input or --sql).",
)
@click.option(
    "--timezone",
    default="UTC",
    show_default=True,
    help="The time zone the schedule is read in (an IANA name).",
)
@click.option("--input", "input_path", metavar="PATH", help="The segment file runs read.")
@click.option("--sql", metavar="QUERY", help="Or the DuckDB query runs read.")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "jsonl", "parquet"]),
    help="The saved file's format (default: from its suffix).",
)
@click.option("--encoding", default="utf-8", show_default=True, help="The saved file's encoding.")
@click.option("--delimiter", metavar="CHAR", help="The saved CSV file's delimiter.")
@click.option("--database", metavar="PATH", help="A DuckDB database file for the saved --sql.")
@click.option(
    "--rate-limit-url",
    metavar="URL",
    help="redis://… : pace every run through a rate budget shared with other "
    "workers on the same account.",
)
@click.option("--replace", is_flag=True, help="Overwrite a saved destination of that name.")
@USER
@workspace_option
@handled
def destination_add(
    *,
    name: str,
    connection_name: str,
    list_id: int,
    maps: tuple[str, ...],
    tags: tuple[str, ...],
    mode: str,
    cron: str | None,
    timezone: str,
    input_path: str | None,
    sql: str | None,
    file_format: str | None,
    encoding: str,
    delimiter: str | None,
    database: str | None,
    rate_limit_url: str | None,
    replace: bool,
    user: str | None,
    workspace_path: str | None,
) -> int:
    """Save an export named NAME (saving never runs it)."""
    spec = parse_maps(maps)
    schedule = None if cron is None else Schedule(cron, timezone)
    source = _saved_source(
        input_path,
        sql,
        file_format=file_format,
        encoding=encoding,
        delimiter=delimiter,
        database=database,
    )
    with open_workspace(workspace_path) as ws:
        saved_conn = ws.connection(connection_name)
        dest = ExportDestination(saved_conn, name, list_id, spec.mapping(), tags=tags, mode=mode)  # type: ignore[arg-type]
        saved = ws.save_export(
            dest,
            schedule=schedule,
            actor=_actor(user),
            replace=replace,
            source=source,
            rate_limit_url=rate_limit_url,
        )
    when = (
        "on demand"
        if saved.schedule is None
        else (f"on the schedule {saved.schedule.cron!r} ({saved.schedule.timezone})")
    )
    click.echo(
        f"Saved destination {saved.name!r}: list {saved.list_id} through "
        f"{saved.connection!r}, {saved.mode.value}, runs {when}."
    )
    return 0


def _saved_source(
    input_path: str | None,
    sql: str | None,
    *,
    file_format: str | None,
    encoding: str,
    delimiter: str | None,
    database: str | None,
) -> SavedSource | None:
    """The source to save with a destination, or ``None``."""
    if input_path is not None and sql is not None:
        raise InputError("Give at most one of --input and --sql.")
    if input_path is None and sql is None:
        return None
    if input_path is not None:
        path = str(Path(input_path).expanduser().resolve())  # a scheduler runs elsewhere
        return SavedSource(input=path, format=file_format, encoding=encoding, delimiter=delimiter)
    database = None if database is None else str(Path(database).expanduser().resolve())
    return SavedSource(sql=sql, database=database)


def _export_dict(saved: SavedExport) -> dict[str, Any]:
    mapping = saved.mapping
    source = saved.source
    return {
        "name": saved.name,
        "connection": saved.connection,
        "list_id": saved.list_id,
        "mode": saved.mode.value,
        "mapping": {
            "email": mapping.email.name,
            "first_name": mapping.first_name.name if mapping.first_name else None,
            "last_name": mapping.last_name.name if mapping.last_name else None,
            "phone": mapping.phone.name if mapping.phone else None,
            "fields": {str(ref): attr.name for ref, attr in mapping.fields},
        },
        "tags": list(saved.tags),
        "schedule": None if saved.schedule is None else saved.schedule.to_dict(),
        "source": None if source is None else source.to_dict(),
        "rate_limit_url": saved.rate_limit_url_shown,
        "created_by": saved.created_by,
        "created_at": saved.created_at.isoformat(),
        "updated_at": saved.updated_at.isoformat(),
    }


@destination.command("list")
@JSON
@workspace_option
@handled
def destination_list(*, as_json: bool, workspace_path: str | None) -> int:
    """List the saved destinations."""
    with open_workspace(workspace_path) as ws:
        saved = ws.exports()
        last = {e.name: ws.history(e.name, limit=1) for e in saved}
    if as_json:
        emit_json({"ok": True, "destinations": [_export_dict(e) for e in saved]})
        return 0
    table = Table("name", "connection", "list", "mode", "schedule", "last run")
    for e in saved:
        runs = last[e.name]
        previous = f"{_when(runs[0].started_at)} {runs[0].status.value}" if runs else "never"
        schedule = "" if e.schedule is None else f"{e.schedule.cron} ({e.schedule.timezone})"
        table.add_row(e.name, e.connection, str(e.list_id), e.mode.value, schedule, previous)
    stdout_console().print(table)
    return 0


@destination.command("show")
@click.argument("name")
@JSON
@workspace_option
@handled
def destination_show(*, name: str, as_json: bool, workspace_path: str | None) -> int:
    """Show a saved destination."""
    with open_workspace(workspace_path) as ws:
        data = _export_dict(ws.get_export(name))
    if as_json:
        emit_json({"ok": True, "destination": data})
    else:
        for key, value in data.items():
            shown = json.dumps(value) if isinstance(value, dict | list) else value
            click.echo(f"{key}: {shown}")
    return 0


@destination.command("remove")
@click.argument("name")
@workspace_option
@handled
def destination_remove(*, name: str, workspace_path: str | None) -> int:
    """Remove a saved destination and its sync state (its history stays)."""
    with open_workspace(workspace_path) as ws:
        ws.remove_export(name)
    click.echo(f"Removed destination {name!r}.")
    return 0


# -- run --------------------------------------------------------------------------------------


def open_saved_source(saved: SavedExport) -> Any:
    """The profiles of a saved export's stored source (a file or a query)."""
    source = saved.source
    if source is None:
        msg = (
            f"The saved export {saved.name!r} has no saved source: pass --input or --sql, or "
            "save one with destination add --replace --input PATH."
        )
        raise InputError(msg)
    return read_segment(
        source.input,
        source.sql,
        file_format=source.format,
        encoding=source.encoding,
        delimiter=source.delimiter,
        database=source.database,
    )


@cli.command("run")
@click.argument("name", required=False)
@click.option(
    "--due",
    is_flag=True,
    help="Run, once each, every saved export whose schedule is due since its last run.",
)
@click.option("--input", "input_path", metavar="PATH", help="The segment (else its saved source).")
@click.option("--sql", metavar="QUERY", help="Or a DuckDB query.")
@click.option("--format", "file_format", type=click.Choice(["csv", "jsonl", "parquet"]))
@click.option("--encoding", default="utf-8", show_default=True)
@click.option("--full-refresh", is_flag=True, help="Send every profile, not only what changed.")
@DRY_RUN
@REPORT
@NO_PROGRESS
@JSON
@USER
@click.option(
    "--now",
    "now_text",
    hidden=True,
    metavar="ISO-TIME",
    help="With --due: the time to evaluate schedules at (tests).",
)
@click.option("--sandbox", is_flag=True, help="Run it against the built-in emulator instead.")
@workspace_option
@handled
def run_command(
    *,
    name: str | None,
    due: bool,
    input_path: str | None,
    sql: str | None,
    file_format: str | None,
    encoding: str,
    full_refresh: bool,
    dry_run: bool,
    report_path: str | None,
    no_progress: bool,
    as_json: bool,
    user: str | None,
    now_text: str | None,
    sandbox: bool,
    workspace_path: str | None,
) -> int:
    """Run the saved export NAME now, sending only what changed (or --due: the scheduled ones)."""
    if due:
        if name is not None or input_path is not None or sql is not None:
            raise InputError(
                "run --due takes no NAME, --input or --sql: each runs its saved source."
            )
        from ac_segment_export._cli._due import run_due  # noqa: PLC0415

        return run_due(
            workspace=open_workspace(workspace_path),
            actor=_actor(user),
            now_text=now_text,
            as_json=as_json,
            no_progress=no_progress,
        )
    if name is None:
        raise InputError("Name the saved export to run (destination list shows them), or --due.")
    actor = _actor(user)
    with contextlib.ExitStack() as stack:
        ws = stack.enter_context(open_workspace(workspace_path))
        saved = ws.get_export(name)
        if input_path is not None or sql is not None:
            segment = read_segment(
                input_path, sql, file_format=file_format, encoding=encoding, delimiter=None
            )
        else:
            segment = open_saved_source(saved)
        check_columns(segment, saved.mapping, whose=saved.name)
        client = None
        if sandbox:
            ws, client = _sandbox(stack, ws, saved)
            full_refresh = True
        runner = ws

        def run(on_progress: Callable[[Progress], None] | None) -> ExportReport:
            return runner.run(
                saved.name,
                segment.rows,
                actor=actor,
                full_refresh=full_refresh,
                dry_run=dry_run,
                on_progress=on_progress,
                client=client,
            )

        extra: dict[str, Any] = {"export": saved.name}
        if sandbox:
            extra["sandbox"] = True
        return finish_export(
            run,
            total=segment.estimated_total,
            no_progress=no_progress,
            report_path=report_path,
            as_json=as_json,
            extra=extra,
        )


def _sandbox(
    stack: contextlib.ExitStack, ws: Workspace, saved: SavedExport
) -> tuple[Workspace, Client]:
    """A throw-away copy of the workspace and a client of an emulator with the saved list.

    The real workspace is not touched: its history and sync state stay about the real
    account. The run is a full refresh (the sandbox account starts empty).
    """
    conn = next(c for c in ws.connections() if c.name == saved.connection)
    kind, _, env_name = conn.api_key_source.partition(":")
    if kind != "env":
        msg = "run --sandbox needs a connection whose key is read from an environment variable."
        raise InputError(msg)
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ac-sandbox-")))
    copy = tmp / "workspace.db"
    with sqlite3.connect(ws.path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    source.close()
    target.close()
    from ac_segment_export.testing._wiring import EMULATOR_HOST  # noqa: PLC0415

    spec = MapSpec({}, tuple((ref, attr.name) for ref, attr in saved.mapping.fields), ())
    emu, _ = make_sandbox(spec, saved.list_id)
    sandbox_ws = stack.enter_context(Workspace(copy, environ={**os.environ, env_name: emu.api_key}))
    # In the copy, the connection names the emulator's in-process host (whatever it was).
    there = attrs.evolve(sandbox_ws.connection(conn.name), host=EMULATOR_HOST)
    sandbox_ws.save_connection(there, api_key_env=env_name)
    client = stack.enter_context(emu.client())
    return sandbox_ws, client


# -- history ----------------------------------------------------------------------------------


def _record_dict(r: RunRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "export": r.export,
        "actor": r.actor,
        "started_at": r.started_at.isoformat(),
        "finished_at": None if r.finished_at is None else r.finished_at.isoformat(),
        "status": r.status.value,
        "error": r.error,
        "input": r.input,
        "counts": r.counts,
        "requests": r.requests,
        "retries": r.retries,
        "rate_limited": r.rate_limited,
        "duration": r.duration,
        "full_refresh": r.full_refresh,
    }


@cli.command()
@click.argument("name", required=False)
@click.option("--run", "run_id", type=int, metavar="ID", help="Show one run's report.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@JSON
@workspace_option
@handled
def history(
    *, name: str | None, run_id: int | None, limit: int, as_json: bool, workspace_path: str | None
) -> int:
    """The latest runs (of NAME, or of every saved export); --run ID for one run's report."""
    with open_workspace(workspace_path) as ws:
        if run_id is not None:
            data = ws.run_report(run_id)
            if as_json:
                emit_json({"ok": True, "run": run_id, "report": data})
            else:
                print_stored_report(data, stdout_console())
            return 0
        if name is not None:
            ws.get_export(name)  # an unknown name is an error, not an empty table
        records = ws.history(name, limit=limit)
    if as_json:
        emit_json({"ok": True, "runs": [_record_dict(r) for r in records]})
        return 0
    table = Table(
        "run",
        "export",
        "started",
        "who",
        "status",
        "input",
        "exported",
        "unchanged",
        "not exported",
        "duration",
    )
    for r in records:
        bad = r.input - r.exported - r.unchanged
        duration = "" if r.duration is None else f"{r.duration:,.1f} s"
        table.add_row(
            str(r.id),
            r.export,
            _when(r.started_at),
            r.actor or "",
            r.status.value,
            f"{r.input:,}",
            f"{r.exported:,}",
            f"{r.unchanged:,}",
            f"{bad:,}",
            duration,
        )
    stdout_console().print(table)
    if not records:
        click.echo("No runs yet.", err=True)
    return 0
