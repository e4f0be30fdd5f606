"""A batch: the contacts travelling together in one bulk-import request, and its tracking."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ac_segment_export._core.ops import BULK_BODY_OVERHEAD

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Batch", "next_poll"]


def next_poll(batch: Batch) -> float:
    return batch.next_poll


class Batch:
    """Contacts travelling together in one bulk-import request."""

    __slots__ = (
        "attempts",
        "batch_id",
        "book",
        "checked_at",
        "checks",
        "emails",
        "encoded",
        "first_due",
        "has_tags",
        "next_poll",
        "partial",
        "poll_errors",
        "polls",
        "positions",
        "size",
        "submitted_at",
        "values",
    )

    def __init__(self) -> None:
        self.submitted_at = 0.0
        self.first_due = 0.0
        self.polls = 0
        self.positions: list[int] = []
        self.emails: list[str] = []
        self.encoded: list[bytes] = []
        #: The checked values of each contact, while the batch may still go through
        #: contact/sync (the small remainder); dropped once it is sent in bulk.
        self.values: list[Any] = []
        self.size = BULK_BODY_OVERHEAD
        self.batch_id: str | None = None
        self.next_poll = 0.0
        self.attempts = 0
        self.poll_errors = 0
        self.has_tags = False
        #: An earlier attempt may have imported some or all of it (an interrupted batch, a
        #: retried submit whose first answer was lost): it can never be called failed.
        self.partial = False
        #: Where its outcomes are booked when not in the run's ledger (mirror's leavers).
        self.book: Any = None
        #: Its status checks on the wire.
        self.checks = 0
        self.checked_at = 0.0  # when its latest status check started

    def __len__(self) -> int:
        return len(self.positions)

    def fits(self, encoded: bytes, batch_size: int, max_bytes: int) -> bool:
        return len(self.positions) < batch_size and self.size + len(encoded) + 1 <= max_bytes

    def add(self, position: int, email: str, encoded: bytes, values: Any = None) -> None:
        self.size += len(encoded) + (1 if self.positions else 0)
        self.positions.append(position)
        self.emails.append(email)
        self.encoded.append(encoded)
        self.values.append(values)

    def subset(self, keep: Sequence[int]) -> Batch:
        other = Batch()
        values = self.values or [None] * len(self.positions)
        for i in keep:
            other.add(self.positions[i], self.emails[i], self.encoded[i], values[i])
        other.has_tags = self.has_tags
        other.partial = self.partial
        other.book = self.book
        return other
