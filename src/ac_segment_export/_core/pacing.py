"""Token buckets that space requests out, for threads and event loops alike.

The arithmetic is pure (:meth:`TokenBucket.reserve` takes the time and returns the wait), so a
bucket can be shared by sync and async callers: each caller reserves a slot under a short lock
and then sleeps, outside the lock, the way its world sleeps.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Callable

    from ac_segment_export._core.config import RateLimits

__all__ = ["PacingBackend", "RateLimiter", "SharedPacing", "TokenBucket"]


@runtime_checkable
class PacingBackend(Protocol):
    """What a client paces its requests with: :class:`RateLimiter` is the in-process one.

    ``acquire`` / ``aacquire`` return once one request may be sent (the seconds waited);
    ``bulk_contacts`` is set for a bulk-import request (how many contacts it carries). A
    backend that cannot promise a slot raises instead of returning: a request is never sent
    without one.
    """

    @property
    def limits(self) -> RateLimits:
        """The rates this backend keeps to."""
        ...

    def acquire(self, bulk_contacts: int | None = None) -> float:
        """Block until one request may be sent; return the seconds waited."""
        ...

    async def aacquire(self, bulk_contacts: int | None = None) -> float:
        """Wait, without blocking the event loop, until one request may be sent."""
        ...


@runtime_checkable
class SharedPacing(Protocol):
    """A budget shared beyond one account's clients (Redis): it hands out a backend per account.

    A client given one calls :meth:`for_account` with its API host, so the budget is keyed by
    the account, never by the API key.
    """

    def for_account(self, host: str) -> PacingBackend:
        """The pacing of the account whose API lives at *host* (``acme.api-us1.com``)."""
        ...


class TokenBucket:
    """A reservation-based token bucket: ``rate`` tokens a second, at most ``capacity`` stored.

    A reservation may take the balance below zero; the caller then waits until the balance
    it borrowed has refilled. Callers are served in the order they reserve.
    """

    __slots__ = ("_stamp", "_tokens", "capacity", "rate")

    def __init__(self, rate: float, capacity: float, *, now: float = 0.0) -> None:
        self.rate = rate
        self.capacity = capacity
        self._tokens = capacity
        self._stamp = now

    def reserve(self, now: float, tokens: float = 1.0) -> float:
        """Take *tokens* at time *now*; return the seconds to wait before using them."""
        elapsed = max(0.0, now - self._stamp)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        # The schedule may already run ahead of *now* (a slot reserved for a later moment):
        # this reservation comes after it, never before.
        ahead = max(0.0, self._stamp - now)
        self._stamp = max(now, self._stamp)
        self._tokens -= tokens
        if self._tokens >= 0:
            return ahead
        return ahead + -self._tokens / self.rate

    def delay(self, seconds: float) -> None:
        """Push the schedule back: the last reservation was used *seconds* after it was due.

        A caller that sleeps longer than asked (a busy machine, a slow event loop) sends
        later than its slot; without this, the next request would follow it by less than
        one interval. At most one interval is added.
        """
        if seconds > 0:
            self._tokens -= min(seconds, 1.0 / self.rate) * self.rate


class RateLimiter:
    """The client's pacing: an account-wide bucket and the bulk-import buckets.

    One limiter may be shared by several :class:`~ac_segment_export.Client` and
    :class:`~ac_segment_export.AsyncClient` objects in a process, so they share one budget.

    Args:
        limits: The rates to keep to.
        clock: A monotonic clock in seconds (for tests).
    """

    def __init__(self, limits: RateLimits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        keep = 1.0 - limits.headroom
        keep_bulk = 1.0 - limits.bulk_headroom
        self._account = TokenBucket(limits.requests_per_second * keep, limits.burst, now=now)
        self._bulk = TokenBucket(limits.bulk_per_minute * keep_bulk / 60.0, 1, now=now)
        self._bulk_single = TokenBucket(
            limits.bulk_single_per_minute * keep_bulk / 60.0, 1, now=now
        )

    def _reserve(self, bulk_contacts: int | None) -> float:
        if not self.limits.enabled:
            return 0.0
        with self._lock:
            now = self._clock()
            wait = 0.0
            if bulk_contacts is not None:
                bucket = self._bulk_single if bulk_contacts == 1 else self._bulk
                wait = bucket.reserve(now)
            # The account-wide slot is taken for the moment the bulk slot opens (its wait
            # counts from that moment).
            return wait + self._account.reserve(now + wait)

    def _overslept(self, due: float, bulk_contacts: int | None = None) -> None:
        """A caller woke *late*: push the account's schedule back, not the bulk schedule.

        The account's window is one second long and its headroom a few hundredths of a
        second, so a late request must not be followed by one less than an interval later.
        A bulk window is a minute long: its headroom (1%: 0.6 s) absorbs a request sent up
        to one interval late without pushing the later slots back, so a busy machine's
        late wake-ups do not add up to lost throughput (and a longer stall cannot cause a
        burst: the bucket holds one slot).
        """
        late = self._clock() - due
        if late > 0:
            with self._lock:
                self._account.delay(late)

    def acquire(self, bulk_contacts: int | None = None) -> float:
        """Block until one request may be sent; return the seconds waited.

        Args:
            bulk_contacts: For a bulk-import request, how many contacts it carries.
        """
        wait = self._reserve(bulk_contacts)
        if wait > 0:
            due = self._clock() + wait
            time.sleep(wait)
            self._overslept(due, bulk_contacts)
        return wait

    async def aacquire(self, bulk_contacts: int | None = None) -> float:
        """Wait, without blocking the event loop, until one request may be sent."""
        wait = self._reserve(bulk_contacts)
        if wait > 0:
            due = self._clock() + wait
            await asyncio.sleep(wait)
            self._overslept(due, bulk_contacts)
        return wait
