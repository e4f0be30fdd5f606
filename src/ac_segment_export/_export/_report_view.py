"""What a person reads of a report: reasons grouped, the notebook's HTML view, the frames.

Nothing here changes a report. :func:`breakdown` groups the outcomes that were not exported
by reason (a reason's per-profile details, such as the email or a position, are masked so
that a thousand rejections for one reason are one group); :func:`render_html` is
:meth:`ExportReport._repr_html_`; :func:`to_pandas` and :func:`to_polars` turn the outcomes
into frames, importing those libraries only when asked to.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import TYPE_CHECKING, Any

import attrs

from ac_segment_export._export._report import OutcomeStatus, RecordOutcome

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

    from ac_segment_export._export._report import ExportReport

__all__ = [
    "FRAME_COLUMNS",
    "NOT_READ",
    "ReasonGroup",
    "breakdown",
    "format_duration",
    "reason_key",
    "render_html",
    "throughput",
    "to_pandas",
    "to_polars",
]

#: The reason of profiles counted without an outcome record (never read from the source).
NOT_READ = "not read from the source: the run stopped before reaching them"
#: The columns of :meth:`ExportReport.to_pandas` / :meth:`ExportReport.to_polars`.
FRAME_COLUMNS = ("position", "email", "status", "reason", "field")

_MASK = "…"
# Names that come from the mapping (the same for every profile) are kept: the quoted text or
# number right after "field", "attribute", "tag" or "from". Every other quoted text, email
# or number is masked. Each pattern starts with its first character (a quote, a digit), so
# that the scan for it runs at C speed, and checks behind it what must not precede it.
_MASKS = (
    (
        re.compile(
            r"""'(?<!field ')(?<!attribute ')(?<!tag ')(?<!from ')(?<![\w'"]')(?:[^'\\]|\\.)*'"""
        ),
        f"'{_MASK}'",
    ),
    (
        re.compile(
            r'''"(?<!field ")(?<!attribute ")(?<!tag ")(?<!from ")(?<![\w'"]")(?:[^"\\]|\\.)*"'''
        ),
        f'"{_MASK}"',
    ),
    (re.compile(r"""(?<![^\s'"()<>,;:…])[^\s'"()<>,;:…@]+@[^\s'"()<>,;:…]+"""), _MASK),
    (
        re.compile(
            r"\d(?<![\w.]\d)(?<!field \d)(?<!attribute \d)(?<!tag \d)(?<!from \d)"
            r"(?:[\d,._]*\d)?(?!\w)"
        ),
        _MASK,
    ),
)


def reason_key(reason: str | None) -> str:
    """A reason with its per-profile details masked, so equal reasons group together.

    ``"email 'x@y' is not a valid address"`` and ``"email 'z' is not a valid address"`` both
    become ``"email '…' is not a valid address"``; the names of mapped fields and attributes
    (``field 'Birthday' (attribute 'DOB')``) are kept.
    """
    if not reason:
        return "(no reason given)"
    for pattern, replacement in _MASKS:
        reason = pattern.sub(replacement, reason)
    return reason


@attrs.frozen
class ReasonGroup:
    """Outcomes of one status that share a reason (see :func:`reason_key`).

    Attributes:
        status: Their status.
        reason: The reason, its per-profile details masked.
        count: How many profiles.
        samples: The first few outcomes of the group, as recorded (unmasked).
    """

    status: OutcomeStatus
    reason: str
    count: int
    samples: tuple[RecordOutcome, ...]


def breakdown(report: ExportReport, *, samples: int = 3) -> list[ReasonGroup]:
    """The profiles that were not exported, grouped by status and reason, largest first.

    Profiles counted without a record (those never read once the run stopped) are a group
    of their own, with no samples.
    """
    groups: dict[tuple[OutcomeStatus, str], list[Any]] = {}
    kept = dict.fromkeys(OutcomeStatus, 0)
    cache: dict[str | None, str] = {}
    for outcome in report.outcomes:
        status = outcome.status
        kept[status] += 1
        if status is OutcomeStatus.EXPORTED:
            continue
        reason, email = outcome.reason, outcome.email
        # Most per-profile detail is the profile's own email: masked here at C speed, a
        # million rejections for one reason are one key (and one reason_key call).
        if reason and email and (email := email.strip()) and email in reason:
            reason = reason.replace(email, _MASK)
        key = cache.get(reason)
        if key is None:
            key = cache[reason] = reason_key(reason)
        group = groups.get((status, key))
        if group is None:
            groups[(status, key)] = [1, [outcome]]
        else:
            group[0] += 1
            if len(group[1]) < samples:
                group[1].append(outcome)
    for status, n in report.tally.items():
        if status is not OutcomeStatus.EXPORTED and n > kept[status]:
            groups[(status, NOT_READ)] = [n - kept[status], []]
    order = {status: i for i, status in enumerate(OutcomeStatus)}
    ranked = sorted(groups.items(), key=lambda item: (-item[1][0], order[item[0][0]], item[0][1]))
    return [
        ReasonGroup(status, reason, count, tuple(found))
        for (status, reason), (count, found) in ranked
    ]


def format_duration(seconds: float) -> str:
    """``"0.4 s"``, ``"12.3 s"``, ``"4 min 05 s"``, ``"2 h 03 min"``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def throughput(report: ExportReport) -> tuple[float, str]:
    """Profiles a second in real (wall-clock) time, and what they are.

    A real run counts exported profiles; a dry run, which exports nothing, the profiles it
    checked (every one that got an outcome).
    """
    elapsed = report.elapsed_seconds
    if report.dry_run:
        return (report.accounted / elapsed if elapsed > 0 else 0.0), "profiles checked/s"
    return (report.exported / elapsed if elapsed > 0 else 0.0), "exported/s"


def scale_note(report: ExportReport) -> str | None:
    """What a time-scaled emulator means for the figures, or ``None`` at real time."""
    scale = report.time_scale
    if scale == 1:
        return None
    return (
        f"against an emulator running {scale:g}x faster than real time: its rate limits "
        f"and batch times are {scale:g}x shorter than the real API's"
    )


# -- HTML ---------------------------------------------------------------------------------------

# Mid-tone fills that read on a white and on a near-black background alike; text is never
# drawn in them (it inherits the notebook's own foreground colour).
_COLOURS = {
    OutcomeStatus.EXPORTED: "#2e9e5b",
    OutcomeStatus.REJECTED: "#d64541",
    OutcomeStatus.DUPLICATE: "#8e7cc3",
    OutcomeStatus.SKIPPED: "#4f8fc0",
    OutcomeStatus.FAILED: "#e07b22",
    OutcomeStatus.UNKNOWN: "#c9a227",
    OutcomeStatus.NOT_ATTEMPTED: "#8a8a8a",
}


def _colour(status: OutcomeStatus) -> str:
    return _COLOURS.get(status, "#8a8a8a")


# Scoped to the report's class; the inline styles work without it (a renderer that drops
# <style> still shows a readable report), it only adapts the rules' and stripes' contrast.
_STYLE = """<style>
.acx-report{--acx-rule:rgba(127,127,127,.35);--acx-stripe:rgba(127,127,127,.08);
--acx-muted-opacity:.78}
@media (prefers-color-scheme: dark){.acx-report{--acx-rule:rgba(160,160,160,.4);
--acx-stripe:rgba(255,255,255,.05);--acx-muted-opacity:.85}}
[data-jp-theme-light="false"] .acx-report,body.vscode-dark .acx-report,
html[theme="dark"] .acx-report{--acx-rule:rgba(160,160,160,.4);
--acx-stripe:rgba(255,255,255,.05);--acx-muted-opacity:.85}
.acx-report table{border-collapse:collapse}
.acx-report td,.acx-report th{padding:2px 8px;text-align:left;vertical-align:top;
border-bottom:1px solid var(--acx-rule)}
.acx-report tr.acx-sample td{border-bottom:none;background:var(--acx-stripe)}
</style>"""

_BADGE = (
    "display:inline-block;padding:1px 7px;margin-left:6px;border-radius:9px;font-size:0.8em;"
    "font-weight:600;vertical-align:middle"
)
_MUTED = "opacity:var(--acx-muted-opacity,.78)"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _label(status: OutcomeStatus, *, dry_run: bool) -> str:
    if status is OutcomeStatus.EXPORTED and dry_run:
        return "would export"
    return status.value.replace("_", " ")


def _badge(text: str, *, fill: str | None = None) -> str:
    if fill is None:  # outlined in the text's own colour: readable on any background
        style = f"{_BADGE};border:1px solid currentColor"
    else:  # a fixed pair, chosen for contrast
        style = f"{_BADGE};background:{fill};color:#fff;border:1px solid {fill}"
    return f"<span style='{style}'>{_e(text)}</span>"


def _state(report: ExportReport) -> str:
    if not report.balanced:
        return _badge("counts do not add up", fill="#b42318")
    if report.stopped_early:
        return _badge("stopped early", fill="#9a5b00")
    return _badge("complete")


def _bar(report: ExportReport) -> str:
    total = report.accounted
    if total == 0:
        return (
            "<div style='margin:8px 0;padding:4px 8px;border:1px dashed var(--acx-rule,"
            f"rgba(127,127,127,.35));{_MUTED}'>no profiles</div>"
        )
    parts = []
    for status, n in report.tally.items():
        if not n:
            continue
        fill = _colour(status)
        if status is OutcomeStatus.EXPORTED and report.dry_run:  # striped: nothing was written
            fill = f"repeating-linear-gradient(45deg,{fill} 0 6px,{fill}99 6px 12px)"
        label = f"{_label(status, dry_run=report.dry_run)}: {n:,} ({n / total:.1%})"
        parts.append(
            f"<div class='acx-seg' data-status='{status.value}' data-count='{n}' "
            f"title='{_e(label)}' style='flex:{n} 1 0;min-width:3px;background:{fill}'></div>"
        )
    return (
        "<div class='acx-bar' role='img' aria-label='outcome counts' style='display:flex;"
        "height:14px;margin:8px 0 4px;border-radius:4px;overflow:hidden;"
        "background:var(--acx-rule,rgba(127,127,127,.35))'>" + "".join(parts) + "</div>"
    )


def _legend(report: ExportReport) -> str:
    total = report.accounted or 1
    items = []
    for status, n in report.tally.items():
        swatch = (
            "display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;"
            f"background:{_colour(status)}"
        )
        style = "margin-right:14px;white-space:nowrap" + ("" if n else f";{_MUTED}")
        items.append(
            f"<span class='acx-count' data-status='{status.value}' style='{style}'>"
            f"<span style='{swatch}'></span>{_e(_label(status, dry_run=report.dry_run))} "
            f"<strong>{n:,}</strong>" + (f" ({n / total:.1%})" if n else "") + "</span>"
        )
    return "<div style='line-height:1.8'>" + "".join(items) + "</div>"


def _facts(report: ExportReport) -> list[tuple[str, str]]:
    rate, unit = throughput(report)
    started = report.started_at.astimezone(dt.timezone.utc)
    facts = [
        ("mode", report.mode + (" (dry run: nothing was written)" if report.dry_run else "")),
        ("export user", report.export_user or "unknown user"),
        ("started", f"{started:%Y-%m-%d %H:%M:%S} UTC"),
        ("duration", format_duration(report.elapsed_seconds) + " (real time)"),
        ("throughput", f"{rate:,.0f} {unit} in real time"),
        (
            "requests",
            f"{report.requests:,} ({report.batches:,} batches, {report.retries:,} retries, "
            f"{report.rate_limited:,} rate-limited)",
        ),
    ]
    note = scale_note(report)
    if note is not None:
        facts.append(("time scale", note))
    if report.resumed_from:
        facts.append(("resumed", f"from position {report.resumed_from:,}"))
    if report.leavers is not None or report.unsubscribed:
        mirror = f"{report.leavers if report.leavers is not None else '?'} leavers"
        if report.dry_run:
            mirror += f", would unsubscribe {report.would_unsubscribe or 0:,}"
        else:
            mirror += f", {report.unsubscribed:,} unsubscribed"
            if report.leavers_remaining:
                mirror += f", {report.leavers_remaining:,} still subscribed"
            if report.leavers_unknown:
                mirror += f", {report.leavers_unknown:,} unknown"
        if report.mirror_problem:
            mirror += f" ({report.mirror_problem})"
        facts.append(("mirror", mirror))
    if report.dry_run and report.would_subscribe is not None:
        facts.append(("would subscribe", f"{report.would_subscribe:,}"))
    if report.stopped_early or report.stop_reason:
        facts.append(("stop reason", report.stop_reason or "stopped early"))
    return facts


def _breakdown_table(report: ExportReport) -> str:
    groups = breakdown(report)
    if not groups:
        what = "would be exported" if report.dry_run else "was exported"
        return f"<p style='margin:6px 0;{_MUTED}'>Every profile {what}.</p>"
    rows = []
    for group in groups:
        swatch = (
            "display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;"
            f"background:{_colour(group.status)}"
        )
        rows.append(
            f"<tr class='acx-reason' data-status='{group.status.value}'>"
            f"<td style='white-space:nowrap'><span style='{swatch}'></span>"
            f"{_e(_label(group.status, dry_run=report.dry_run))}</td>"
            f"<td>{_e(group.reason)}</td>"
            f"<td style='text-align:right;font-variant-numeric:tabular-nums'>"
            f"<strong>{group.count:,}</strong></td></tr>"
        )
        rows.extend(
            "<tr class='acx-sample'>"
            f"<td style='text-align:right;{_MUTED}'>#{o.position:,}</td>"
            f"<td colspan='2' style='{_MUTED}'><code>{_e(o.email or '(no email)')}</code>"
            + (f" · {_e(o.field)}" if o.field and o.field not in (o.reason or "") else "")
            + f" · {_e(o.reason or '')}</td></tr>"
            for o in group.samples
        )
    return (
        "<table style='margin-top:4px;font-size:0.95em'><thead><tr><th>outcome</th>"
        "<th>reason, and samples: #position (from 0) · email · reason</th>"
        "<th style='text-align:right'>profiles</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def render_html(report: ExportReport) -> str:
    """The report as one HTML fragment: no JavaScript, every value escaped."""
    title = f"{report.destination} → list {report.list_id} ({report.list_name})"
    badges = _badge(report.mode)
    if report.dry_run:
        badges += _badge("DRY RUN: nothing written", fill="#8a4b00")
    badges += _state(report)
    facts = "".join(
        f"<tr><th style='font-weight:600;white-space:nowrap'>{_e(k)}</th><td>{_e(v)}</td></tr>"
        for k, v in _facts(report)
    )
    return (
        f"{_STYLE}<div class='acx-report' data-dry-run='{str(report.dry_run).lower()}' "
        'style=\'font-family:system-ui,-apple-system,"Segoe UI",sans-serif;font-size:13px;'
        "line-height:1.4;color:inherit;max-width:980px'>"
        f"<div style='font-size:1.15em;font-weight:600'>{_e(title)}{badges}</div>"
        f"{_bar(report)}{_legend(report)}"
        f"<table style='margin-top:6px'><tbody>{facts}</tbody></table>"
        "<div style='font-weight:600;margin-top:10px'>Not exported, by reason</div>"
        f"{_breakdown_table(report)}"
        f"<div style='margin-top:8px;{_MUTED}'><code>{_e(report.equation)}</code></div>"
        "</div>"
    )


# -- frames -------------------------------------------------------------------------------------


def _missing(library: str, method: str) -> ImportError:
    return ImportError(
        f"report.{method}() needs {library}, an optional extra: "
        f"pip install 'ac-segment-export[{library}]'"
    )


def _columns(report: ExportReport) -> dict[str, list[Any]]:
    outcomes = report.outcomes
    return {
        "position": [o.position for o in outcomes],
        "email": [o.email for o in outcomes],
        "status": [o.status.value for o in outcomes],
        "reason": [o.reason for o in outcomes],
        "field": [o.field for o in outcomes],
    }


def to_pandas(report: ExportReport) -> pd.DataFrame:
    """The kept outcomes as a pandas DataFrame (see :meth:`ExportReport.to_pandas`)."""
    try:
        import pandas as pd  # noqa: PLC0415 - an optional extra, imported when asked for
    except ImportError as exc:
        raise _missing("pandas", "to_pandas") from exc
    columns = _columns(report)
    statuses = pd.Categorical(columns["status"], categories=[s.value for s in OutcomeStatus])
    frame: pd.DataFrame = pd.DataFrame(
        {
            "position": pd.Series(columns["position"], dtype="int64"),
            "email": pd.Series(columns["email"], dtype="object"),
            "status": statuses,
            "reason": pd.Series(columns["reason"], dtype="object"),
            "field": pd.Series(columns["field"], dtype="object"),
        }
    )
    return frame


def to_polars(report: ExportReport) -> pl.DataFrame:
    """The kept outcomes as a polars DataFrame (see :meth:`ExportReport.to_polars`)."""
    try:
        import polars as pl  # noqa: PLC0415 - an optional extra, imported when asked for
    except ImportError as exc:
        raise _missing("polars", "to_polars") from exc
    schema: dict[str, Any] = {
        "position": pl.Int64,
        "email": pl.String,
        "status": pl.Enum([s.value for s in OutcomeStatus]),
        "reason": pl.String,
        "field": pl.String,
    }
    return pl.DataFrame(_columns(report), schema=schema)
