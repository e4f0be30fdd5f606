"""``run --due``: every saved export whose schedule is due, once each, from its saved source."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click
from rich.table import Table

from ac_segment_export._cli._app import ExitCode
from ac_segment_export._cli._commands import check_columns, progress_mode
from ac_segment_export._cli._console import ProgressDisplay, emit_json, stdout_console
from ac_segment_export._cli._readers import InputError
from ac_segment_export._workspace import DueOutcome

if TYPE_CHECKING:
    from ac_segment_export._export import Progress
    from ac_segment_export._model import Actor
    from ac_segment_export._workspace import DueRun, SavedExport, Workspace

__all__ = ["run_due"]

_CODES = {
    DueOutcome.SUCCEEDED: ExitCode.OK,
    DueOutcome.BUSY: ExitCode.OK,
    DueOutcome.FAILED_PROFILES: ExitCode.FAILED_PROFILES,
    DueOutcome.SOURCE_ERROR: ExitCode.USAGE,
    DueOutcome.REFUSED: ExitCode.CONSENT,
    DueOutcome.ABORTED: ExitCode.ABORTED,
}


def parse_now(text: str | None) -> dt.datetime | None:
    """``--now``: an ISO 8601 time with its offset (``2026-03-29T06:00+02:00``), or ``None``."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        msg = f"--now {text!r} is not an ISO 8601 time (e.g. 2026-03-29T06:00:00+02:00)."
        raise InputError(msg) from None
    if moment.tzinfo is None:
        msg = f"--now {text!r} needs its UTC offset (e.g. +00:00), so it names one moment."
        raise InputError(msg)
    return moment


class _Progress:
    """One progress display per export, each closed when the next export starts."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._name: str | None = None
        self._display: ProgressDisplay | None = None

    def update(self, export: SavedExport, progress: Progress) -> None:
        if export.name != self._name:
            self.close()
            self._name = export.name
            if self.mode != "none":
                click.echo(f"running {export.name!r}", err=True)
            self._display = ProgressDisplay(self.mode, progress.total).__enter__()
        assert self._display is not None
        self._display.update(progress)

    def close(self) -> None:
        if self._display is not None:
            self._display.__exit__(None, None, None)
            self._display = None


def _row(run: DueRun) -> dict[str, Any]:
    report = run.report
    return {
        "export": run.export.name,
        "fire_time": run.fire_time.isoformat(),
        "outcome": run.outcome.value,
        "run_id": run.run_id,
        "counts": None if report is None else report.counts,
        "input": None if report is None else report.input_count,
        "error": None if run.error is None else str(run.error),
    }


def run_due(
    *,
    workspace: Workspace,
    actor: Actor,
    now_text: str | None,
    as_json: bool,
    no_progress: bool,
) -> int:
    """Run the due exports; print one line (or row) each; the worst exit code among them."""
    from ac_segment_export._cli._saved import open_saved_source  # noqa: PLC0415 - a cycle

    now = parse_now(now_text)

    def open_source(saved: SavedExport) -> Any:
        segment = open_saved_source(saved)
        check_columns(segment, saved.mapping, whose=saved.name)
        return segment.rows

    display = _Progress(progress_mode(no_progress=no_progress or as_json))
    with workspace as ws:
        try:
            runs = ws.run_due(open_source, now=now, actor=actor, on_progress=display.update)
        finally:
            display.close()
    code = max((_CODES[r.outcome] for r in runs), default=ExitCode.OK)
    if as_json:
        emit_json(
            {
                "ok": code is ExitCode.OK,
                "exit_code": int(code),
                "now": (now or dt.datetime.now(dt.timezone.utc)).isoformat(),
                "runs": [_row(r) for r in runs],
            }
        )
        return int(code)
    if not runs:
        click.echo("Nothing is due.")
        return int(code)
    table = Table("export", "fire time", "outcome", "run", "result")
    for r in runs:
        if r.report is not None:
            result = r.report.equation
        elif r.error is not None:
            result = str(r.error)
        else:
            result = ""
        zone = ZoneInfo(r.export.schedule.timezone) if r.export.schedule else dt.timezone.utc
        fire = r.fire_time.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        run_id = "" if r.run_id is None else str(r.run_id)
        table.add_row(r.export.name, fire, r.outcome.value, run_id, result)
    stdout_console().print(table)
    return int(code)
