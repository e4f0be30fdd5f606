"""Emulated time and the sliding windows the rate limits are counted in."""

from __future__ import annotations

import bisect
import math
import time
from collections import deque

__all__ = ["Clock", "SlidingWindow", "format_retry_after"]


class Clock:
    """Emulated seconds since the emulator started.

    Emulated time is real monotonic time multiplied by ``scale``, plus whatever
    `advance` added.
    """

    def __init__(self, scale: float) -> None:
        if not scale > 0:
            msg = f"time_scale must be positive, got {scale!r}"
            raise ValueError(msg)
        self.scale = scale
        self._start = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        """Return the current emulated time, in emulated seconds."""
        return (time.monotonic() - self._start) * self.scale + self._offset

    def advance(self, seconds: float) -> None:
        """Move emulated time forward by ``seconds`` emulated seconds."""
        if seconds < 0:
            msg = f"cannot move emulated time backwards ({seconds!r})"
            raise ValueError(msg)
        self._offset += seconds

    def to_real(self, seconds: float) -> float:
        """Convert a duration in emulated seconds to real seconds."""
        return seconds / self.scale


def format_retry_after(real_seconds: float, scale: float) -> str:
    """Format a ``Retry-After`` value.

    At ``scale == 1`` the value is a whole number of seconds, rounded up and at least 1, as
    ActiveCampaign sends it. When time is scaled the real wait is usually far below a second,
    so the value is a decimal with millisecond precision, rounded up and at least ``0.001``
    (for example ``0.013``).

    Args:
        real_seconds: How long, in real seconds, until a request would be admitted.
        scale: The emulator's time scale.

    Returns:
        The header value.
    """
    if scale == 1:
        return str(max(1, math.ceil(real_seconds - 1e-9)))
    millis = max(1, math.ceil(real_seconds * 1000 - 1e-9))
    return f"{millis / 1000:.3f}"


class SlidingWindow:
    """Counts events in a sliding window of ``width`` emulated seconds.

    An event is counted at the moment it happened, which may be before events counted
    already (a request that arrived first but was handled second): the hits are kept in
    order, and a check at a moment counts only the hits up to it.
    """

    __slots__ = ("_hits", "limit", "width")

    def __init__(self, limit: int, width: float) -> None:
        self.limit = limit
        self.width = width
        self._hits: deque[float] = deque()

    def _expire(self, now: float) -> None:
        # Kept two widths: a request handled late is still counted in its own window.
        hits = self._hits
        edge = now - 2 * self.width
        while hits and hits[0] <= edge:
            hits.popleft()

    def _in_window(self, now: float) -> tuple[int, int]:
        """The index range of the hits in ``(now - width, now]``."""
        hits = self._hits
        return bisect.bisect_right(hits, now - self.width), bisect.bisect_right(hits, now)

    def wait(self, now: float) -> float:
        """Return the emulated seconds until one more event fits (0 when it fits now)."""
        self._expire(now)
        low, high = self._in_window(now)
        if high - low < self.limit:
            return 0.0
        return self._hits[high - self.limit] + self.width - now

    def hit(self, now: float) -> None:
        """Count one event at ``now``."""
        hits = self._hits
        if not hits or hits[-1] <= now:
            hits.append(now)
        else:
            hits.insert(bisect.bisect_right(hits, now), now)

    def remaining(self, now: float) -> int:
        """Return how many more events fit in the window right now."""
        self._expire(now)
        low, high = self._in_window(now)
        return max(0, self.limit - (high - low))
