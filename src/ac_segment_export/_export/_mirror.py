"""Mirror: the tally of leavers, the active members of the list who are not in the segment.

Leavers travel in ordinary bulk-import batches (``unsubscribe`` instead of ``subscribe``),
submitted, tracked, resubmitted and stopped by the same code as the segment's own batches.
Only their accounting differs: a leaver is not an input profile, so its batch books its
outcomes here instead of in the run's ledger. "Exported" means unsubscribed; rejected,
failed and not attempted mean still subscribed; unknown means it may or may not be.
"""

from __future__ import annotations

import sys
from array import array
from hashlib import blake2b
from typing import TYPE_CHECKING

from ac_segment_export._export._index import EmailIndex
from ac_segment_export._export._ledger import Book
from ac_segment_export._export._report import OutcomeStatus

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ac_segment_export._export._report import ExportReport

__all__ = ["Leavers", "PartMembers", "Segment", "member_hash"]


def member_hash(key: str) -> int:
    """The stable 64-bit hash of an email key: the same in every process and machine.

    BLAKE2b, not Python's salted :func:`hash`: a partition's members are hashed on a worker
    and looked up on the driver. Never 0 (an empty slot of :class:`EmailIndex`). Two emails
    colliding (about n²/2⁶⁵) can only keep a leaver subscribed, never unsubscribe a member.
    """
    digest = blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True) or 1


class PartMembers:
    """One partition of a mirror export: the segment members it read, as stable hashes.

    The engine adds every email key it would count as a segment member (every profile
    whose email could be read, whatever else was wrong with it), and the count of records
    whose owner is unknown. 8 bytes a profile read (duplicates included).
    """

    __slots__ = ("hashes", "unreadable")

    def __init__(self) -> None:
        self.hashes: array[int] = array("q")
        self.unreadable = 0

    def add(self, key: str) -> None:
        """Note one member's email key."""
        self.hashes.append(member_hash(key))

    def to_bytes(self) -> bytes:
        """The hashes as bytes, little-endian (what travels back to the driver)."""
        if sys.byteorder == "big":
            swapped = array("q", self.hashes)
            swapped.byteswap()
            return swapped.tobytes()
        return self.hashes.tobytes()


class Segment:
    """The whole segment of a partitioned mirror export: the union of its partitions' members.

    Args:
        parts: Each partition's :meth:`PartMembers.to_bytes`.
    """

    __slots__ = ("_index",)

    def __init__(self, parts: Iterable[bytes]) -> None:
        parts = list(parts)
        index = self._index = EmailIndex(expected=sum(len(data) for data in parts) // 8)
        add = index.add_hash
        for data in parts:
            hashes = array("q")
            hashes.frombytes(data)
            if sys.byteorder == "big":
                hashes.byteswap()
            for h in hashes:
                add(h)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._index.has_hash(member_hash(key))

    def nbytes(self) -> int:
        """Bytes held by the index."""
        return self._index.nbytes()


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
