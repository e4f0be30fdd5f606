"""The outcome ledger: every profile read gets exactly one outcome, and the ledger knows which.

This is the library's central promise in one place. The ledger records outcomes in the
report, keeps the *mark* (every position below it has an outcome) and the positions above it
that have one (batches that ended while an earlier one was still in flight), knows which
outcomes a resumed run must send again (``unknown``, ``not_attempted``), and turns all that
into the state a checkpoint saves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ac_segment_export._export._checkpoint import RESENT, CheckpointState, ranges
from ac_segment_export._export._report import OutcomeStatus, RecordOutcome

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from ac_segment_export._export._checkpoint import Digest
    from ac_segment_export._export._report import ExportReport

__all__ = ["Book", "Ledger", "printable"]


def printable(text: str | None) -> str | None:
    """*text* safe to print and encode: lone surrogates become backslash escapes."""
    if text is None or text.isascii():
        return text
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode()
    return text


class Book:
    """Where a batch's outcomes are booked: the run's ledger, or mirror's tally of leavers."""

    __slots__ = ()

    # What each book provides (see Ledger and Leavers); rest() is written once, on them.
    record: Callable[..., None]
    has: Callable[[int], bool]
    exported: Callable[[Sequence[int], Sequence[str]], None]

    def rest(
        self,
        positions: Iterable[int],
        emails: Iterable[str],
        status: OutcomeStatus,
        reason: str,
    ) -> None:
        """Give every one of these that has no outcome yet this one."""
        for position, email in zip(positions, emails, strict=True):
            if not self.has(position):
                self.record(position, email, status, reason)


class Ledger(Book):
    """The outcomes of one run, by input position.

    Args:
        report: Where outcomes are counted (and kept, for the non-exported ones).
        journaling: Keep the non-exported outcomes in recording order for a checkpoint.
        restored: The outcomes a checkpoint kept from the run being resumed: they open the
            journal, in that order (their profiles are counted when they are read again).
    """

    __slots__ = ("ahead", "confirm", "journal", "journaling", "mark", "report", "unsure")

    def __init__(
        self,
        report: ExportReport,
        *,
        journaling: bool = False,
        restored: Sequence[RecordOutcome] = (),
    ) -> None:
        self.report = report
        self.journaling = journaling
        #: Every position below the mark has an outcome.
        self.mark = 0
        #: Positions at or above the mark that have one.
        self.ahead: set[int] = set()
        #: Positions whose outcome a resumed run does not keep (``unknown``, ``not_attempted``).
        self.unsure: set[int] = set()
        #: The non-exported outcomes, in the order a checkpoint keeps them.
        self.journal: list[RecordOutcome] = list(restored)
        #: Called with the positions ActiveCampaign confirmed exported, as they are confirmed
        #: (incremental sync writes its state from it).
        self.confirm: Callable[[Sequence[int]], None] | None = None

    # -- recording ------------------------------------------------------------------------------

    def record(
        self,
        position: int,
        email: str | None,
        status: OutcomeStatus,
        reason: str | None = None,
        field: str | None = None,
    ) -> None:
        """Give the profile at *position* its outcome."""
        if status is not OutcomeStatus.EXPORTED:
            reason, email, field = printable(reason), printable(email), printable(field)
        outcome = RecordOutcome(position, email, status, reason, field)
        self.report.record(outcome)
        if self.journaling and status is not OutcomeStatus.EXPORTED:
            self.journal.append(outcome)
            if status in RESENT:
                self.unsure.add(position)
        elif status is OutcomeStatus.EXPORTED and self.confirm is not None:
            self.confirm((position,))
        self.settle(position)

    def unchanged(self, position: int, email: str) -> None:
        """Record a profile incremental sync did not send: counted, not kept one by one."""
        self.report.tally[OutcomeStatus.UNCHANGED] += 1
        if self.journaling:
            self.journal.append(RecordOutcome(position, email, OutcomeStatus.UNCHANGED))
        if position == self.mark and not self.ahead:  # the usual case, in input order
            self.mark = position + 1
        else:
            self.settle(position)

    def exported(self, positions: Sequence[int], emails: Sequence[str]) -> None:
        """Record exported profiles: counted (and streamed to a sink), not kept one by one."""
        report = self.report
        if report.has_sink:
            for position, email in zip(positions, emails, strict=True):
                report.record(RecordOutcome(position, email, OutcomeStatus.EXPORTED))
        else:
            report.count_only(OutcomeStatus.EXPORTED, len(positions))
        if self.confirm is not None:
            self.confirm(positions)
        for position in positions:
            self.settle(position)

    def restore(self, position: int, outcome: RecordOutcome | None, email: str | None) -> None:
        """A profile settled by the run being resumed: its earlier outcome, or exported."""
        report = self.report
        if outcome is not None:
            report.record(outcome)  # already in the journal: it opened it
        elif report.has_sink:
            report.record(RecordOutcome(position, email, OutcomeStatus.EXPORTED))
        else:
            report.count_only(OutcomeStatus.EXPORTED, 1)
        self.settle(position)

    def settle(self, position: int) -> None:
        """Note that *position* has an outcome (moving the mark when it is next in line)."""
        if position == self.mark:
            mark = position + 1
            ahead = self.ahead
            while ahead and mark in ahead:
                ahead.remove(mark)
                mark += 1
            self.mark = mark
        else:
            self.ahead.add(position)

    # -- asking ---------------------------------------------------------------------------------

    def has(self, position: int) -> bool:
        """Whether the profile at *position* has an outcome."""
        return position < self.mark or position in self.ahead

    def low_water_mark(self) -> int:
        """The position below which every profile has an outcome a resumed run keeps."""
        below = [p for p in self.unsure if p < self.mark]
        return min(below) if below else self.mark

    def state(self, fingerprint: str, digest: Digest) -> CheckpointState:
        """The checkpoint state of the outcomes so far (see :class:`CheckpointState`)."""
        mark, unsure = self.mark, self.unsure
        position = self.low_water_mark()
        settled: list[tuple[int, int]] = []
        start = position
        for p in sorted(u for u in unsure if position <= u < mark):
            if p > start:
                settled.append((start, p))
            start = p + 1
        if start < mark:
            settled.append((start, mark))
        settled.extend(ranges(self.ahead - unsure) if unsure else ranges(self.ahead))
        extent = max(mark, settled[-1][1] if settled else 0, digest.folded)
        return CheckpointState(
            fingerprint=fingerprint,
            position=position,
            outcomes=self.journal,
            settled=tuple(settled),
            digest=digest.at(extent, fold=mark),
            extent=extent,
        )
