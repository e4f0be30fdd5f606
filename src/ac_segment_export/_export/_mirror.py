"""Mirror: the tally of leavers, the active members of the list who are not in the segment.

Leavers travel in ordinary bulk-import batches (``unsubscribe`` instead of ``subscribe``),
submitted, tracked, resubmitted and stopped by the same code as the segment's own batches.
Only their accounting differs: a leaver is not an input profile, so its batch books its
outcomes here instead of in the run's ledger. "Exported" means unsubscribed; rejected,
failed and not attempted mean still subscribed; unknown means it may or may not be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ac_segment_export._export._ledger import Book
from ac_segment_export._export._report import OutcomeStatus

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ac_segment_export._export._report import ExportReport

__all__ = ["Leavers"]


class Leavers(Book):
    """Books the outcome of every leaver, by its index in the run's list of leavers.

    It answers the same calls as the run's :class:`~ac_segment_export._export._ledger.Ledger`
    (``record``, ``exported``, ``rest``, ``has``), so a batch of leavers goes wherever a
    batch of profiles goes.

    Args:
        report: Where the counts go: ``unsubscribed``, ``leavers_remaining``,
            ``leavers_unknown`` and the first ``mirror_problem``.
        count: How many leavers there are.
    """

    __slots__ = ("count", "done", "report")

    def __init__(self, report: ExportReport, count: int) -> None:
        self.report = report
        self.count = count
        self.done: set[int] = set()
        report.leavers = count

    def record(
        self,
        position: int,
        email: str | None,
        status: OutcomeStatus,
        reason: str | None = None,
        field: str | None = None,
    ) -> None:
        """Book one leaver's outcome."""
        self.done.add(position)
        report = self.report
        if status is OutcomeStatus.EXPORTED:
            report.unsubscribed += 1
            return
        if status is OutcomeStatus.UNKNOWN:
            report.leavers_unknown += 1
        else:
            report.leavers_remaining += 1
        if report.mirror_problem is None and reason:
            report.mirror_problem = reason

    def exported(self, positions: Sequence[int], emails: Sequence[str]) -> None:
        """These leavers were unsubscribed."""
        for position, email in zip(positions, emails, strict=True):
            self.record(position, email, OutcomeStatus.EXPORTED)

    def has(self, position: int) -> bool:
        """Whether the leaver has an outcome."""
        return position in self.done

    def close(self, reason: str) -> None:
        """The run ended: every leaver never sent is still subscribed."""
        missing = self.count - len(self.done)
        if missing > 0:
            self.report.leavers_remaining += missing
            if self.report.mirror_problem is None:
                self.report.mirror_problem = reason
            self.done.update(range(self.count))

    @property
    def complete(self) -> bool:
        """Whether every leaver was unsubscribed."""
        return self.report.unsubscribed == self.count
