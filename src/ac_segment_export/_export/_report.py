"""What an export did with every profile: outcomes, counts and the report."""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import TYPE_CHECKING, Any

import attrs

from ac_segment_export._core import convert

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import pandas as pd
    import polars as pl

__all__ = ["ExportReport", "OutcomeStatus", "Progress", "RecordOutcome"]


class OutcomeStatus(str, enum.Enum):
    """What happened to one input profile. Every profile ends in exactly one of these."""

    #: ActiveCampaign imported it into the list.
    EXPORTED = "exported"
    #: Incremental sync: ActiveCampaign confirmed these very values in an earlier run of the
    #: saved export, so it was not sent again.
    UNCHANGED = "unchanged"
    #: It failed our checks (or ActiveCampaign named it when rejecting a request); never sent.
    REJECTED = "rejected"
    #: Another profile with the same email (case-insensitive) was kept instead.
    DUPLICATE = "duplicate"
    #: It unsubscribed from the list, so it is never re-subscribed; not sent.
    SKIPPED = "skipped"
    #: It was sent but ActiveCampaign did not import it (the reason says why, when known).
    FAILED = "failed"
    #: Its batch was in flight when the export stopped, and its end could not be learnt.
    UNKNOWN = "unknown"
    #: The export stopped (cancelled, limit reached, fatal error) before it was sent.
    NOT_ATTEMPTED = "not_attempted"


@attrs.frozen
class RecordOutcome:
    """The outcome of one input profile.

    Attributes:
        position: The profile's position in the input, counted from 0 (the first profile
            read is position 0, as in ``list(profiles)[position]``).
        email: The normalised email when the profile had a valid one, whatever else was
            wrong with it; for a profile rejected for its email, the email as read; ``None``
            when none could be read.
        status: What happened.
        reason: Why, for everything but exported profiles.
        field: The mapped attribute or field the reason is about, when there is one.
    """

    position: int
    email: str | None
    status: OutcomeStatus
    reason: str | None = None
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (read back by :meth:`from_dict`)."""
        data: dict[str, Any] = convert.converter.unstructure(self)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordOutcome:
        """An outcome from :meth:`to_dict`'s output."""
        outcome: RecordOutcome = convert.converter.structure(data, cls)
        return outcome


@attrs.frozen
class Progress:
    """A progress snapshot, passed to ``on_progress``.

    Attributes:
        read: Profiles read from the input so far.
        settled: Profiles whose outcome is final.
        exported: Profiles confirmed exported.
        total: The input's length when known, else ``None``.
        rate: Profiles settled per second since the start.
        eta_seconds: Estimated seconds left, when the total is known.
    """

    read: int
    settled: int
    exported: int
    total: int | None
    rate: float
    eta_seconds: float | None


def _new_counts() -> dict[OutcomeStatus, int]:
    return dict.fromkeys(OutcomeStatus, 0)


@attrs.define(eq=False)
class ExportReport:
    """The account of one export run.

    The counts always add up: ``input = exported + unchanged + rejected + duplicate + skipped
    + failed + unknown + not_attempted`` (see :attr:`equation`). Every profile that was
    neither exported nor unchanged has a :class:`RecordOutcome` in :attr:`outcomes`; exported
    and unchanged ones are counted (exported ones can be streamed to a sink), so a million
    rows do not sit in memory. An exported outcome with a reason (a contact mirror had
    unsubscribed, re-subscribed) is kept too.

    In a dry run (:attr:`dry_run`) nothing is written: the ``exported`` count holds the
    profiles that *would* be exported, and every rendering (``repr``, :meth:`summary`,
    :attr:`equation`, the notebook view) says "would export" instead. Times are real
    (wall-clock) seconds; :attr:`time_scale` is the emulator's time scale when the run went
    to a time-scaled emulator (1 otherwise).
    """

    destination: str
    list_id: int
    list_name: str
    export_user: str | None
    mode: str
    dry_run: bool = False
    started_at: dt.datetime = attrs.field(factory=lambda: dt.datetime.now(dt.timezone.utc))
    finished_at: dt.datetime | None = None
    elapsed_seconds: float = 0.0
    input_count: int = 0
    tally: dict[OutcomeStatus, int] = attrs.field(factory=_new_counts)
    outcomes: list[RecordOutcome] = attrs.field(factory=list)
    batches: int = 0
    bulk_requests: int = 0
    sync_requests: int = 0
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    resubmitted_batches: int = 0
    unsubscribed: int = 0
    leavers: int | None = None
    leavers_unknown: int = 0
    leavers_remaining: int = 0
    mirror_problem: str | None = None
    would_subscribe: int | None = None
    would_unsubscribe: int | None = None
    stopped_early: bool = False
    stop_reason: str | None = None
    resumed_from: int = 0
    time_scale: float = 1.0
    #: Incremental sync: whether this run sent every profile (``None``: no sync state).
    full_refresh: bool | None = None
    #: Incremental sync: contacts mirror had unsubscribed that came back, re-subscribed.
    resubscribed: int = 0
    #: Incremental sync: what failed when the sync state could not be written.
    sync_problem: str | None = None
    _sink: Callable[[RecordOutcome], None] | None = attrs.field(default=None, repr=False)
    #: The exception the exported sink raised; from then on exported outcomes are kept in
    #: :attr:`outcomes` instead (so the report says which profiles the sink did not get).
    sink_error: BaseException | None = attrs.field(default=None, repr=False)

    def record(self, outcome: RecordOutcome) -> None:
        """Count one outcome (and keep it, unless it is an export and a sink takes those)."""
        self.tally[outcome.status] += 1
        if outcome.status is OutcomeStatus.EXPORTED:
            # One with a reason (a re-subscribe) is kept; so is one the sink did not get.
            keep = outcome.reason is not None and not self.dry_run
            if self._sink is not None:
                if self.sink_error is None:
                    try:
                        self._sink(outcome)
                    except Exception as exc:  # noqa: BLE001 - kept, and the run ends on it
                        self.sink_error = exc
                        keep = True
                else:
                    keep = True
            if keep:
                self.outcomes.append(outcome)
        else:
            self.outcomes.append(outcome)

    @property
    def has_sink(self) -> bool:
        """Whether exported outcomes are streamed to a sink."""
        return self._sink is not None

    def count_only(self, status: OutcomeStatus, n: int) -> None:
        """Count *n* profiles that have no outcome record (profiles never read from the input)."""
        self.tally[status] += n

    @property
    def counts(self) -> dict[str, int]:
        """Profiles per outcome, keyed by status name (``"exported"``, ``"rejected"``, …)."""
        return {status.value: n for status, n in self.tally.items()}

    @property
    def accounted(self) -> int:
        """Profiles with an outcome."""
        return sum(self.tally.values())

    @property
    def balanced(self) -> bool:
        """Whether every input profile has exactly one outcome."""
        return self.accounted == self.input_count

    @property
    def equation(self) -> str:
        """The accounting, written out: ``input 10 = exported 7 + rejected 2 + …``.

        A dry run's reads ``input 10 = would_export 7 + rejected 2 + …``. ``unchanged`` is
        written out where incremental sync is on (or counted something).
        """
        terms = " + ".join(
            f"{self._name(s)} {n}"
            for s, n in self.tally.items()
            if s is not OutcomeStatus.UNCHANGED or n or self.full_refresh is not None
        )
        mark = "=" if self.balanced else "!="
        return f"input {self.input_count} {mark} {terms}"

    def _name(self, status: OutcomeStatus) -> str:
        if self.dry_run and status is OutcomeStatus.EXPORTED:
            return "would_export"
        return status.value

    @property
    def exported(self) -> int:
        """Profiles confirmed exported."""
        return self.tally[OutcomeStatus.EXPORTED]

    def by_status(self, status: OutcomeStatus) -> list[RecordOutcome]:
        """The kept outcomes with this status."""
        return [o for o in self.outcomes if o.status is status]

    def reasons(self) -> dict[str, int]:
        """How many profiles were not exported for each reason, largest first.

        A reason's per-profile details (the email, a position, a batch ID) are masked, so
        1,000 profiles rejected for one reason are one entry: ``{"email '…' is not a valid
        address": 1000}``. The names of mapped fields and attributes stay. Profiles counted
        without an outcome record (never read, once the run stopped) are one entry too.
        The counts add up to ``input - exported``.
        """
        from ac_segment_export._export._report_view import breakdown  # noqa: PLC0415

        counts: dict[str, int] = {}
        for group in breakdown(self, samples=0):
            counts[group.reason] = counts.get(group.reason, 0) + group.count
        return dict(sorted(counts.items(), key=lambda item: -item[1]))

    def to_pandas(self) -> pd.DataFrame:
        """The kept outcomes (:attr:`outcomes`) as a pandas DataFrame.

        One row an outcome, columns ``position`` (int64, counted from 0), ``email``,
        ``status`` (a categorical of every :class:`OutcomeStatus` value), ``reason`` and
        ``field``. Exported profiles are counted, not kept, so they have rows only when an
        ``exported_sink`` raised (the ones it did not get).

        Raises:
            ImportError: pandas is not installed; the message names the extra
                (``pip install 'ac-segment-export[pandas]'``).
        """
        from ac_segment_export._export._report_view import to_pandas  # noqa: PLC0415

        return to_pandas(self)

    def to_polars(self) -> pl.DataFrame:
        """The kept outcomes as a polars DataFrame (the columns of :meth:`to_pandas`).

        ``status`` is a ``pl.Enum`` of every :class:`OutcomeStatus` value.

        Raises:
            ImportError: polars is not installed; the message names the extra
                (``pip install 'ac-segment-export[polars]'``).
        """
        from ac_segment_export._export._report_view import to_polars  # noqa: PLC0415

        return to_polars(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the whole report (no secrets: the report holds none)."""
        return {
            "destination": self.destination,
            "list_id": self.list_id,
            "list_name": self.list_name,
            "export_user": self.export_user,
            "mode": self.mode,
            "dry_run": self.dry_run,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "input": self.input_count,
            "counts": self.counts,
            "balanced": self.balanced,
            "batches": self.batches,
            "bulk_requests": self.bulk_requests,
            "sync_requests": self.sync_requests,
            "requests": self.requests,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "resubmitted_batches": self.resubmitted_batches,
            "unsubscribed": self.unsubscribed,
            "leavers": self.leavers,
            "leavers_unknown": self.leavers_unknown,
            "leavers_remaining": self.leavers_remaining,
            "mirror_problem": self.mirror_problem,
            "would_subscribe": self.would_subscribe,
            "would_unsubscribe": self.would_unsubscribe,
            "stopped_early": self.stopped_early,
            "stop_reason": self.stop_reason,
            "resumed_from": self.resumed_from,
            "time_scale": self.time_scale,
            "full_refresh": self.full_refresh,
            "resubscribed": self.resubscribed,
            "sync_problem": self.sync_problem,
            "outcomes": [o.to_dict() for o in self.outcomes],
        }

    def to_json(self, **kwargs: Any) -> str:
        """The report as JSON (``kwargs`` go to :func:`json.dumps`)."""
        return json.dumps(self.to_dict(), **kwargs)

    def summary(self) -> str:
        """A few human-readable lines; rates are in real (wall-clock) time.

        A dry run says so on its first line and counts "would export", never "exported";
        a run against a time-scaled emulator says the scale.
        """
        from ac_segment_export._export._report_view import scale_note, throughput  # noqa: PLC0415

        mode = f"{self.mode}{' (dry run: nothing was written)' if self.dry_run else ''}"
        rate, unit = throughput(self)
        lines = [
            f"Export {self.destination!r} -> list {self.list_id} ({self.list_name}), {mode}, "
            f"as {self.export_user or 'unknown user'}",
            self.equation,
            f"{self.batches} batches, {self.requests} requests, {self.retries} retries, "
            f"{self.rate_limited} rate-limited, {self.elapsed_seconds:.1f} s "
            f"({rate:,.0f} {unit}, real time)",
        ]
        note = scale_note(self)
        if note is not None:
            lines.append(f"time scale: {note}")
        if self.leavers is not None and not self.dry_run:
            line = f"mirror: {self.leavers} leavers, {self.unsubscribed} unsubscribed"
            if self.leavers_remaining:
                line += f", {self.leavers_remaining} still subscribed"
            if self.leavers_unknown:
                line += f", {self.leavers_unknown} unknown"
            if self.mirror_problem:
                line += f" ({self.mirror_problem})"
            lines.append(line)
        elif self.unsubscribed:
            lines.append(f"mirror: {self.unsubscribed} leavers unsubscribed")
        if self.would_subscribe is not None:
            send = ""
            if self.full_refresh is not None:
                send = (
                    f"would send {self.exported} "
                    f"(unchanged {self.tally[OutcomeStatus.UNCHANGED]}), "
                )
            lines.append(
                f"dry run: {send}would subscribe {self.would_subscribe}, "
                f"would unsubscribe {self.would_unsubscribe or 0}"
            )
        if self.stopped_early:
            lines.append(f"stopped early: {self.stop_reason}")
        elif self.stop_reason:
            lines.append(self.stop_reason)
        if self.sync_problem:
            lines.append(f"incremental sync: {self.sync_problem}")
        return "\n".join(lines)

    @classmethod
    def merge(cls, reports: Sequence[ExportReport]) -> ExportReport:
        """One report of a segment exported in parts (partitions, workers), in the given order.

        Counts, requests and outcomes add up, so the merged report balances whenever every
        part does: ``input = exported + …`` over the whole segment. An outcome's
        ``position`` becomes its position in the parts laid end to end (a part's positions
        shifted by the inputs of the parts before it). The run spans the earliest start to
        the latest finish; it stopped early if any part did.

        Raises:
            ConfigurationError: No reports, or reports of different destinations or lists.
        """
        from ac_segment_export._core.errors import ConfigurationError  # noqa: PLC0415

        parts = list(reports)
        if not parts:
            msg = "ExportReport.merge needs at least one report."
            raise ConfigurationError(msg)
        first = parts[0]
        for part in parts[1:]:
            if (part.destination, part.list_id, part.mode, part.dry_run) != (
                first.destination,
                first.list_id,
                first.mode,
                first.dry_run,
            ):
                msg = (
                    f"Cannot merge the report of {part.destination!r} (list {part.list_id}, "
                    f"{part.mode}) into that of {first.destination!r} (list {first.list_id}, "
                    f"{first.mode}): they are not parts of one export."
                )
                raise ConfigurationError(msg)
        merged = cls(
            destination=first.destination,
            list_id=first.list_id,
            list_name=first.list_name,
            export_user=first.export_user,
            mode=first.mode,
            dry_run=first.dry_run,
            started_at=min(p.started_at for p in parts),
            time_scale=first.time_scale,
        )
        offset = 0
        for part in parts:
            for status, n in part.tally.items():
                merged.tally[status] += n
            merged.outcomes.extend(
                attrs.evolve(o, position=o.position + offset) for o in part.outcomes
            )
            offset += part.input_count
        finished = [p.finished_at for p in parts]
        if all(f is not None for f in finished):
            merged.finished_at = max(f for f in finished if f is not None)
            merged.elapsed_seconds = (merged.finished_at - merged.started_at).total_seconds()
        else:
            merged.elapsed_seconds = max(p.elapsed_seconds for p in parts)
        for name in (
            "input_count",
            "batches",
            "bulk_requests",
            "sync_requests",
            "requests",
            "retries",
            "rate_limited",
            "resubmitted_batches",
            "unsubscribed",
            "leavers_unknown",
            "leavers_remaining",
            "resumed_from",
        ):
            setattr(merged, name, sum(getattr(p, name) for p in parts))
        for name in ("leavers", "would_subscribe", "would_unsubscribe"):
            values = [getattr(p, name) for p in parts if getattr(p, name) is not None]
            setattr(merged, name, sum(values) if values else None)
        problems = [p.mirror_problem for p in parts if p.mirror_problem]
        merged.mirror_problem = "; ".join(problems) if problems else None
        merged.stopped_early = any(p.stopped_early for p in parts)
        reasons = list(dict.fromkeys(p.stop_reason for p in parts if p.stop_reason))
        merged.stop_reason = "; ".join(reasons) if reasons else None
        merged.sink_error = next((p.sink_error for p in parts if p.sink_error), None)
        return merged

    def __repr__(self) -> str:
        counts = ", ".join(f"{self._name(s)}={n}" for s, n in self.tally.items() if n)
        dry = "dry_run=True, " if self.dry_run else ""
        return (
            f"ExportReport(destination={self.destination!r}, list_id={self.list_id}, {dry}"
            f"input={self.input_count}, {counts or 'empty'}, balanced={self.balanced})"
        )

    def _repr_html_(self) -> str:
        """The notebook's view of the run (HTML with inline styles, no JavaScript)."""
        from ac_segment_export._export._report_view import render_html  # noqa: PLC0415

        return render_html(self)


convert.register_enums(OutcomeStatus)
convert.register_class(RecordOutcome, name="outcome")

# Resolve the annotations here: the top-level package re-labels the class's ``__module__``,
# where these names would not resolve.
attrs.resolve_types(RecordOutcome)
