"""``export``, ``verify``, ``emulator`` and ``demo``: the commands that need no workspace."""

from __future__ import annotations

import difflib
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import click

from ac_segment_export._cli._app import (
    ExitCode,
    cli,
    fail,
    for_the_command_line,
    handled,
    user_name,
)
from ac_segment_export._cli._console import (
    ProgressDisplay,
    emit_json,
    print_summary,
    stderr_console,
    stdout_console,
)
from ac_segment_export._cli._mapping import parse_maps
from ac_segment_export._cli._options import (
    API_KEY_ENV,
    DRY_RUN,
    HOST,
    JSON,
    MAP,
    MODE,
    NO_PROGRESS,
    REPORT,
    TAG,
    USER,
)
from ac_segment_export._cli._readers import FORMATS, InputError, Segment, open_query, open_segment
from ac_segment_export._cli._sandbox import (
    SAMPLE_MAPS,
    SANDBOX_TIME_SCALE,
    make_sandbox,
    sample_path,
)
from ac_segment_export._core.config import ClientOptions
from ac_segment_export._core.errors import ExportAbortedError
from ac_segment_export._export import Exporter, ExportOptions, ExportReport
from ac_segment_export._export._sources import mapped_columns
from ac_segment_export._model import DATA_PRIVACY_NOTICE, Connection, ExportDestination
from ac_segment_export._workspace._workspace import RunStatus, status_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from ac_segment_export._export import Progress
    from ac_segment_export._model import FieldMapping
    from ac_segment_export.testing import ActiveCampaignEmulator

__all__ = ["finish_export", "progress_mode", "read_segment", "require_key"]

_STATUS_CODES = {
    RunStatus.SUCCEEDED: ExitCode.OK,
    RunStatus.FAILED_PROFILES: ExitCode.FAILED_PROFILES,
    RunStatus.ABORTED: ExitCode.ABORTED,
    RunStatus.REFUSED: ExitCode.CONSENT,
}


# -- shared pieces (also used by the saved-work commands) ----------------------------------------


def progress_mode(*, no_progress: bool) -> str:
    """``"bar"`` on a terminal, ``"plain"`` lines otherwise, ``"none"`` with --no-progress."""
    if no_progress:
        return "none"
    return "bar" if sys.stderr.isatty() else "plain"


def require_key(env_name: str) -> str:
    """The API key from the environment variable *env_name*.

    Raises:
        InputError: The variable is not set (the message says how to set it).
    """
    key = os.environ.get(env_name, "").strip()
    if not key:
        msg = (
            f"No API key: set {env_name} to your ActiveCampaign API key (Settings > "
            "Developer); it is read from the environment so it never lands in shell history."
        )
        raise InputError(msg)
    return key


def read_segment(
    input_path: str | None,
    sql: str | None,
    *,
    file_format: str | None,
    encoding: str,
    delimiter: str | None,
    database: str | None = None,
    attach: tuple[str, ...] = (),
) -> Segment:
    """The segment named by ``--input`` or ``--sql`` (exactly one)."""
    if (input_path is None) == (sql is None):
        msg = "Give the segment with exactly one of --input PATH (or - for stdin) and --sql QUERY."
        raise InputError(msg)
    if sql is not None:
        return open_query(sql, database=database, attach=attach)
    assert input_path is not None
    return open_segment(input_path, format=file_format, encoding=encoding, delimiter=delimiter)


def check_columns(segment: Segment, mapping: FieldMapping, *, whose: str = "") -> None:
    """Refuse, before anything is sent, a mapping that names a column the input lacks.

    Args:
        segment: The input (a stream without a header is checked by the exporter instead,
            on its first profiles, still before any send).
        mapping: The mapping to check.
        whose: The saved export the mapping is from, for the message (``""``: ``--map``).
    """
    wanted = mapped_columns(mapping)
    if segment.columns is None or wanted is None:
        return
    email, optional = wanted
    for column in (email, *optional):
        if column in segment.columns:
            continue
        close = difflib.get_close_matches(column, segment.columns, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        which = f", which the saved export {whose!r} maps" if whose else ""
        fix = "" if whose else " Fix the --map option."
        msg = (
            f"{segment.source} has no column {column!r}{which} (its columns: "
            f"{', '.join(segment.columns)}).{hint}{fix}"
        )
        raise InputError(msg)


def finish_export(
    run: Callable[[Callable[[Progress], None] | None], ExportReport],
    *,
    total: int | None,
    no_progress: bool,
    report_path: str | None,
    as_json: bool,
    extra: dict[str, Any] | None = None,
) -> int:
    """Run an export with progress, then write the report, print the summary; the exit code."""
    display = ProgressDisplay(progress_mode(no_progress=no_progress), total)
    aborted: ExportAbortedError | None = None
    with display:
        try:
            report = run(display.callback)
        except ExportAbortedError as exc:
            if exc.report is None:
                raise
            aborted, report = exc, exc.report
    if report_path is not None:
        Path(report_path).write_text(report.to_json(indent=2) + "\n", encoding="utf-8")
    status = RunStatus.ABORTED if aborted is not None else status_of(report)
    code = _STATUS_CODES[status]
    if as_json:
        payload: dict[str, Any] = {
            "ok": code is ExitCode.OK,
            "exit_code": int(code),
            "status": status.value,
            "report": report.to_dict(),
            **(extra or {}),
        }
        if aborted is not None:
            payload["error"] = {
                "type": type(aborted).__name__,
                "message": for_the_command_line(str(aborted)),
            }
        emit_json(payload)
    else:
        print_summary(report, stdout_console())
        if aborted is not None:
            click.echo(f"error: {for_the_command_line(str(aborted))}", err=True)
        elif code is ExitCode.FAILED_PROFILES:
            click.echo(
                "Some profiles were not exported: see the reasons above"
                + (f" and the report in {report_path}." if report_path else " (--report PATH)."),
                err=True,
            )
    return int(code)


def shared_budget(url: str | None) -> ClientOptions:
    """Client options pacing through the Redis budget *url* names (checked now), or the defaults.

    Raises:
        RateBudgetUnavailableError: Redis cannot be reached (nothing was sent).
        ConfigurationError: The URL names no budget, or the redis extra is missing.
    """
    if not url:
        return ClientOptions()
    from ac_segment_export._distributed import rate_budget_from_url  # noqa: PLC0415

    budget = rate_budget_from_url(url)
    budget.check()
    return ClientOptions(rate_limits=budget)


def consent_refused(user: str) -> int:
    """Print what the consent covers; the exit code of an export refused for want of it."""
    err = stderr_console()
    err.print("[bold]Data privacy[/bold]")
    err.print(DATA_PRIVACY_NOTICE, markup=False)
    err.print(
        f"\nNothing was sent. To accept these terms as {user!r} and export, run the command "
        "again with --accept-privacy-terms.",
        markup=False,
    )
    return int(ExitCode.CONSENT)


# -- export ---------------------------------------------------------------------------------


def _source_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--input",
            "input_path",
            metavar="PATH",
            help="A CSV, JSON Lines or Parquet file; - for standard input.",
        ),
        click.option(
            "--sql",
            metavar="QUERY",
            help="A DuckDB query whose rows are the segment "
            "(reads CSV, Parquet and JSON files; needs the duckdb extra).",
        ),
        click.option(
            "--attach",
            multiple=True,
            metavar="[ALIAS=]DB",
            help="Attach a database read-only for --sql: a DuckDB or SQLite file, or a "
            "postgresql:// URL (repeat it).",
        ),
        click.option(
            "--database",
            metavar="PATH",
            help="A DuckDB database file for --sql (opened read-only).",
        ),
        click.option(
            "--format",
            "file_format",
            type=click.Choice(FORMATS, case_sensitive=False),
            help="The file's format (default: from its suffix; CSV for -).",
        ),
        click.option(
            "--encoding", default="utf-8", show_default=True, help="The text file's encoding."
        ),
        click.option(
            "--delimiter",
            metavar="CHAR",
            help="The CSV delimiter (default: sniffed from the header among , ; tab |).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@cli.command()
@_source_options
@click.option("--list-id", type=click.IntRange(min=1), help="The ActiveCampaign list's ID.")
@MAP
@TAG
@HOST
@API_KEY_ENV
@click.option(
    "--accept-privacy-terms",
    is_flag=True,
    help="Accept the data-privacy terms (required to send profiles).",
)
@USER
@MODE
@click.option(
    "--max-unsubscribe-fraction",
    type=click.FloatRange(0, 1),
    help="mirror: refuse to unsubscribe more than this share of the list (default 0.5).",
)
@click.option(
    "--allow-empty", is_flag=True, help="mirror: an empty segment unsubscribes every member."
)
@DRY_RUN
@click.option(
    "--max-profiles",
    type=click.IntRange(min=1),
    help="Send at most N profiles (default 1,000,000); the rest are reported not attempted.",
)
@REPORT
@click.option(
    "--rate-limit-url",
    metavar="URL",
    envvar="AC_RATE_LIMIT_URL",
    help="redis://… : share the account's rate budget with every other worker using it.",
)
@NO_PROGRESS
@JSON
@click.option(
    "--sandbox",
    is_flag=True,
    help="Export into the built-in emulator instead "
    "(the list and mapped fields are created; with no input, a shipped sample).",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=1),
    default=SANDBOX_TIME_SCALE,
    show_default=True,
    help="With --sandbox: how much faster emulated time runs.",
)
@handled
def export(
    *,
    input_path: str | None,
    sql: str | None,
    attach: tuple[str, ...],
    database: str | None,
    file_format: str | None,
    encoding: str,
    delimiter: str | None,
    list_id: int | None,
    maps: tuple[str, ...],
    tags: tuple[str, ...],
    host: str | None,
    api_key_env: str,
    accept_privacy_terms: bool,
    user: str | None,
    mode: str,
    max_unsubscribe_fraction: float | None,
    allow_empty: bool,
    dry_run: bool,
    max_profiles: int | None,
    report_path: str | None,
    rate_limit_url: str | None,
    no_progress: bool,
    as_json: bool,
    sandbox: bool,
    time_scale: float,
) -> int:
    """Export one file (or query) to one list, saving nothing.

    \b
    Examples:
      ac-segment-export export --sandbox --accept-privacy-terms
      ac-segment-export export --input customers.csv --list-id 7 --map email=Email
          --map field:LOYALTY_TIER=Tier --accept-privacy-terms
    """  # noqa: D301 - click's no-rewrap marker
    who = user_name(user)
    if sandbox and input_path is None and sql is None:
        input_path = str(sample_path())
        maps = maps or SAMPLE_MAPS
        if not as_json:
            click.echo(f"No --input: exporting the shipped sample {input_path}", err=True)
    spec = parse_maps(maps)
    if not sandbox:
        if host is None:
            raise InputError("Give --host (your API URL, Settings > Developer) or set AC_API_URL.")
        if list_id is None:
            raise InputError("Give --list-id: the ID of the ActiveCampaign list to export into.")
    if not accept_privacy_terms:
        if as_json:
            fail(
                "the data-privacy terms were not accepted (--accept-privacy-terms); nothing "
                "was sent",
                ExitCode.CONSENT,
                kind="ConsentRequiredError",
            )
        return consent_refused(who)
    key = None if sandbox else require_key(api_key_env)
    segment = read_segment(
        input_path,
        sql,
        file_format=file_format,
        encoding=encoding,
        delimiter=delimiter,
        database=database,
        attach=attach,
    )
    check_columns(segment, spec.mapping())
    emu: ActiveCampaignEmulator | None = None
    if sandbox:
        emu, list_id = make_sandbox(spec, list_id, time_scale=time_scale)
        connection = emu.connection("Sandbox", accepted_by=None, export_user=who)
    else:
        assert host is not None
        assert key is not None
        connection = Connection("Command line", host, key, export_user=who)
    connection = connection.accept_data_privacy_terms(accepted_by=who)
    assert list_id is not None
    destination = ExportDestination(
        connection,
        "Command-line export",
        list_id,
        spec.mapping(),
        tags=tags,
        mode=cast("Literal['upsert', 'mirror']", mode),
    )
    options = ExportOptions(dry_run=dry_run, allow_empty=allow_empty)
    if max_profiles is not None:
        options = options.replace(max_profiles=max_profiles)
    if max_unsubscribe_fraction is not None:
        options = options.replace(max_unsubscribe_fraction=max_unsubscribe_fraction)

    client_options = shared_budget(rate_limit_url)

    def run(on_progress: Callable[[Progress], None] | None) -> ExportReport:
        with connection.client(client_options) as client:
            exporter = Exporter(
                destination, client=client, options=options, on_progress=on_progress
            )
            return exporter.run(segment.rows)

    extra = {"sandbox": True} if sandbox else {}
    code = finish_export(
        run,
        total=segment.estimated_total,
        no_progress=no_progress,
        report_path=report_path,
        as_json=as_json,
        extra=extra,
    )
    if emu is not None and not as_json:
        members = emu.list_members(list_id, status=1)
        click.echo(f"The sandbox list {list_id} now has {len(members):,} active members.")
    return code


# -- verify ---------------------------------------------------------------------------------


@cli.command()
@HOST
@API_KEY_ENV
@JSON
@click.option("--sandbox", is_flag=True, help="Check against the built-in emulator.")
@handled
def verify(*, host: str | None, api_key_env: str, as_json: bool, sandbox: bool) -> int:
    """Check a host and key ("Connect"): say whom the key belongs to. Sends no profile."""
    if sandbox:
        from ac_segment_export.testing import ActiveCampaignEmulator  # noqa: PLC0415

        connection = ActiveCampaignEmulator().connection("Sandbox", accepted_by=None)
    else:
        if host is None:
            raise InputError("Give --host (your API URL, Settings > Developer) or set AC_API_URL.")
        connection = Connection("Command line", host, require_key(api_key_env))
    user = connection.verify()
    if as_json:
        emit_json(
            {
                "ok": True,
                "exit_code": 0,
                "host": connection.host,
                "user": {
                    "id": user.id,
                    "username": user.username,
                    "email": user.email,
                    "first_name": user.first_name,
                    "last_name": user.last_name,
                },
            }
        )
    else:
        name = " ".join(p for p in (user.first_name, user.last_name) if p) or user.username
        click.echo(
            f"The key for {connection.host} belongs to {name} <{user.email}> (user #{user.id})."
        )
    return 0


# -- emulator ---------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="The loopback port (0: any free one).",
)
@API_KEY_ENV
@click.option("--list", "lists", multiple=True, metavar="NAME", help="Create a list (repeat it).")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="PERSTAG",
    help="Create a text custom field (repeat it).",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0.001),
    default=1.0,
    show_default=True,
    help="How much faster than real time emulated time runs.",
)
@handled
def emulator(
    *,
    port: int,
    api_key_env: str,
    lists: tuple[str, ...],
    fields: tuple[str, ...],
    time_scale: float,
) -> int:
    """Serve the ActiveCampaign emulator on loopback for other programs (Ctrl-C stops it)."""
    from ac_segment_export._cli._mapping import sandbox_field  # noqa: PLC0415
    from ac_segment_export.testing import ActiveCampaignEmulator  # noqa: PLC0415

    key = os.environ.get(api_key_env, "").strip() or "emulator-key"
    emu = ActiveCampaignEmulator(api_key=key, time_scale=time_scale, record_bodies=False)
    for name in lists:
        emu.add_list(name)
    for ref in fields:
        title, perstag = sandbox_field(ref)
        emu.add_field(title, perstag=perstag)
    with emu.serve(port) as url:
        told = "the key in " + api_key_env if key != "emulator-key" else "the key 'emulator-key'"
        click.echo(f"ActiveCampaign emulator at {url} (accepting {told}); Ctrl-C stops it.")
        click.echo(f"AC_API_URL={url}", err=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
    return 0


# -- demo -------------------------------------------------------------------------------------


@cli.command()
@click.option("--profiles", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--time-scale", type=click.FloatRange(min=1), default=60.0, show_default=True)
def demo(*, profiles: int, time_scale: float) -> int:
    """A sample export of generated profiles into the emulator, printing the report."""
    from ac_segment_export._cli._demo import demo as run_demo  # noqa: PLC0415

    return run_demo(profiles, time_scale)
