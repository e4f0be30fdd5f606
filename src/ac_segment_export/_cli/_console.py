"""What the command line shows: progress while it runs, a summary table at the end, or JSON.

Progress goes to standard error (a live bar on a terminal, a plain line every few seconds
otherwise), so standard output holds only the result: the summary table, or with ``--json``
one object a script can read.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from collections.abc import Callable

    from ac_segment_export._export import ExportReport
    from ac_segment_export._export import Progress as ExportProgress

__all__ = ["ProgressDisplay", "emit_json", "print_stored_report", "print_summary"]

#: Seconds between two plain progress lines when standard error is not a terminal.
PLAIN_EVERY = 10.0


def stdout_console() -> Console:
    """The console for results (standard output; colour only on a terminal)."""
    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    """The console for messages and progress (standard error)."""
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


class ProgressDisplay:
    """Shows an export's :class:`Progress` as it arrives; a context manager.

    Args:
        mode: ``"bar"`` (a live bar), ``"plain"`` (a line every :data:`PLAIN_EVERY` seconds),
            or ``"none"``.
        total: About how many profiles there are, when known.
        stream: Where it writes (standard error by default).
    """

    def __init__(self, mode: str, total: int | None, stream: IO[str] | None = None) -> None:
        self.mode = mode
        self.total = total
        self._stream = stream or sys.stderr
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._last_line = 0.0
        self._last: ExportProgress | None = None

    def __enter__(self) -> ProgressDisplay:
        if self.mode == "bar":
            self._progress = Progress(
                TextColumn("[bold]exporting"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("read {task.fields[read]:,} · exported {task.fields[exported]:,}"),
                TextColumn("{task.fields[rate]:,.0f}/s"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self._stream),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                "export", total=self.total, read=0, exported=0, rate=0.0
            )
        return self

    def __exit__(self, *_: object) -> None:
        if self._progress is not None:
            self._progress.stop()
        elif self.mode == "plain" and self._last is not None:
            self._line(self._last)

    @property
    def callback(self) -> Callable[[ExportProgress], None] | None:
        """The exporter's ``on_progress``, or ``None`` when nothing is shown."""
        return None if self.mode == "none" else self.update

    def update(self, p: ExportProgress) -> None:
        """Show one progress report."""
        self._last = p
        if self._progress is not None and self._task is not None:
            total = p.total if p.total is not None else self.total
            if total is not None and p.settled > total:
                total = None
            self._progress.update(
                self._task,
                completed=p.settled,
                total=total,
                read=p.read,
                exported=p.exported,
                rate=p.rate,
            )
        elif self.mode == "plain":
            now = time.monotonic()
            if now - self._last_line >= PLAIN_EVERY:
                self._last_line = now
                self._line(p)

    def _line(self, p: ExportProgress) -> None:
        total = p.total if p.total is not None else self.total
        of = f" of ~{total:,}" if total else ""
        eta = f", about {p.eta_seconds:,.0f} s left" if p.eta_seconds is not None else ""
        print(
            f"progress: read {p.read:,}{of}, settled {p.settled:,}, exported {p.exported:,} "
            f"({p.rate:,.0f}/s{eta})",
            file=self._stream,
            flush=True,
        )


def print_summary(report: ExportReport, console: Console, *, top: int = 5) -> None:
    """The report's counts as a table, with its top rejection reasons."""
    print_report_data(report.to_dict(), list(report.reasons().items())[:top], console)


def print_stored_report(data: dict[str, Any], console: Console, *, top: int = 5) -> None:
    """A stored report (:meth:`ExportReport.to_dict`'s output) as :func:`print_summary` shows it."""
    reasons = Counter(str(o.get("reason")) for o in data.get("outcomes", ()))
    print_report_data(data, reasons.most_common(top), console)


def print_report_data(
    data: dict[str, Any], reasons: list[tuple[str, int]], console: Console
) -> None:
    """The summary table of a report's data."""
    dry_run = bool(data.get("dry_run"))
    title = "Dry run: nothing was written" if dry_run else "Export report"
    table = Table(title=title, title_justify="left")
    table.add_column("outcome")
    table.add_column("profiles", justify="right")
    for name, count in data["counts"].items():
        if name == "unchanged" and not count and data.get("full_refresh") is None:
            continue
        label = "would export" if dry_run and name == "exported" else name
        table.add_row(label.replace("_", " "), f"{count:,}")
    table.add_row("[bold]input", f"[bold]{data['input']:,}")
    console.print(table)
    if reasons:
        why = Table(title="Top reasons profiles were not exported", title_justify="left")
        why.add_column("profiles", justify="right")
        why.add_column("reason")
        for reason, count in reasons:
            why.add_row(f"{count:,}", reason)
        console.print(why)
    if dry_run:
        console.print(
            f"would subscribe {data.get('would_subscribe') or 0:,}, "
            f"would unsubscribe {data.get('would_unsubscribe') or 0:,}"
        )
    if data.get("stop_reason"):
        early = "stopped early: " if data.get("stopped_early") else ""
        from ac_segment_export._cli._app import for_the_command_line  # noqa: PLC0415

        console.print(early + for_the_command_line(str(data["stop_reason"])), markup=False)
    console.print(
        f"{data['requests']:,} requests ({data['retries']:,} retries, "
        f"{data['rate_limited']:,} rate limited) in {data['elapsed_seconds']:,.1f} s",
        markup=False,
    )


def emit_json(payload: dict[str, Any], stream: IO[str] | None = None) -> None:
    """Print *payload* as one JSON object on one line."""
    print(json.dumps(payload, default=str, sort_keys=True), file=stream or sys.stdout)
