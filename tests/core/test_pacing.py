"""Token-bucket arithmetic and the RateLimiter, on a fake clock (no sleeping)."""

from __future__ import annotations

import itertools
import random

import pytest

import ac_segment_export as acx
from ac_segment_export._core.pacing import TokenBucket


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_spaces_reservations_by_one_over_rate() -> None:
    """With capacity 1, back-to-back reservations wait 0, 1/r, 2/r, ..."""
    bucket = TokenBucket(rate=5.0, capacity=1, now=0.0)
    waits = [bucket.reserve(0.0) for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.2, 0.4, 0.6])


def test_bucket_refills_with_time_and_caps_at_capacity() -> None:
    """Idle time refills tokens, but never beyond capacity."""
    bucket = TokenBucket(rate=2.0, capacity=3, now=0.0)
    assert [bucket.reserve(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve(0.0) == pytest.approx(0.5)
    # 100 s later the bucket holds 3 again, not 200.
    assert [bucket.reserve(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve(100.0) == pytest.approx(0.5)


def test_bucket_partial_refill() -> None:
    """Half an interval later, the next reservation waits the other half."""
    bucket = TokenBucket(rate=10.0, capacity=1, now=0.0)
    assert bucket.reserve(0.0) == 0.0
    assert bucket.reserve(0.05) == pytest.approx(0.05)


def test_a_reservation_before_the_stamp_comes_after_it() -> None:
    """The schedule runs ahead of now (a slot was reserved for a later moment): the next
    reservation waits for that slot and then its own interval, never jumping ahead of it."""
    bucket = TokenBucket(rate=1.0, capacity=1, now=10.0)
    assert bucket.reserve(10.0) == 0.0
    assert bucket.reserve(5.0) == pytest.approx(6.0)  # at 11: one interval after 10


def test_a_status_check_never_overtakes_a_bulk_slot_reserved_ahead() -> None:
    """A bulk request reserves the account slot for when its bulk slot opens; a request
    reserved meanwhile goes after that slot, so the account rate is never exceeded."""
    now = [0.0]
    limiter = acx.RateLimiter(acx.RateLimits(headroom=0.0, bulk_headroom=0.0), clock=lambda: now[0])
    sends = [limiter._reserve(250)]  # the first bulk request goes at once
    sends.append(limiter._reserve(250))  # the next bulk slot opens 0.6 s later
    now[0] = 0.1
    check = 0.1 + limiter._reserve(None)  # reserved at 0.1, while the bulk slot waits
    assert sends == [0.0, pytest.approx(0.6)]
    assert check >= 0.6 + 0.2 - 1e-9  # after the bulk request's account slot, by 1/5 s


def _waits(limiter: acx.RateLimiter, n: int) -> list[float]:
    return [limiter._reserve(None) for _ in range(n)]


def test_limiter_paces_the_account_rate() -> None:
    """The account bucket spaces plain requests by (a little over) 1/requests_per_second."""
    clock = FakeClock()
    limiter = acx.RateLimiter(acx.RateLimits(requests_per_second=4), clock=clock)
    waits = _waits(limiter, 5)
    assert waits[0] == 0.0
    steps = [b - a for a, b in itertools.pairwise(waits)]
    for step in steps:
        assert 0.25 <= step <= 0.25 * 1.1


def test_limiter_burst_lets_requests_through_at_once() -> None:
    """burst=N lets N requests go without waiting."""
    clock = FakeClock()
    limiter = acx.RateLimiter(acx.RateLimits(requests_per_second=5, burst=3), clock=clock)
    waits = _waits(limiter, 4)
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] > 0.19


def test_limiter_bulk_buckets_are_per_minute() -> None:
    """Multi-contact bulk requests are spaced by 60/bulk_per_minute; single ones separately."""
    clock = FakeClock()
    limiter = acx.RateLimiter(
        acx.RateLimits(requests_per_second=100, bulk_per_minute=60, bulk_single_per_minute=30),
        clock=clock,
    )
    assert limiter._reserve(10) == 0.0
    assert limiter._reserve(10) >= 1.0
    # A single-contact import uses its own bucket, so it is not held up by the multi ones
    # beyond the account slot already reserved for them.
    single = limiter._reserve(1)
    assert single < 1.2
    assert limiter._reserve(1) >= 2.0


def test_limiter_refills_after_idle_time() -> None:
    """After waiting out the interval on the clock, the next request goes at once."""
    clock = FakeClock()
    limiter = acx.RateLimiter(acx.RateLimits(requests_per_second=2), clock=clock)
    assert limiter._reserve(None) == 0.0
    clock.now += 10
    assert limiter._reserve(None) == 0.0
    assert limiter._reserve(None) > 0.49


def test_disabled_limiter_never_waits() -> None:
    """RateLimits.unlimited() turns pacing off entirely."""
    limiter = acx.RateLimiter(acx.RateLimits.unlimited(), clock=FakeClock())
    assert [limiter.acquire() for _ in range(50)] == [0.0] * 50


def test_acquire_sleeps_what_it_reserved() -> None:
    """acquire() returns the seconds it waited (the second of two at 50/s waits ~20 ms)."""
    limiter = acx.RateLimiter(acx.RateLimits(requests_per_second=50))
    assert limiter.acquire() == 0.0
    assert 0.015 < limiter.acquire() < 0.03


@pytest.mark.anyio
async def test_aacquire_waits_without_blocking() -> None:
    """aacquire() paces on the event loop the same way."""
    limiter = acx.RateLimiter(acx.RateLimits(requests_per_second=50))
    assert await limiter.aacquire() == 0.0
    assert 0.015 < await limiter.aacquire() < 0.03


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"requests_per_second": 0}, "requests_per_second must be positive"),
        ({"burst": 0}, "burst must be at least 1"),
        ({"bulk_per_minute": -1}, "bulk_per_minute must be positive"),
    ],
)
def test_rate_limit_validation(kwargs: dict[str, float], message: str) -> None:
    """Nonsense rates are configuration errors."""
    with pytest.raises(acx.ConfigurationError, match=message):
        acx.RateLimits(**kwargs)  # type: ignore[arg-type]


def test_scaled_multiplies_every_rate() -> None:
    """scaled(f) multiplies the account and both bulk rates."""
    limits = acx.RateLimits().scaled(10)
    assert (limits.requests_per_second, limits.bulk_per_minute, limits.bulk_single_per_minute) == (
        50,
        1000,
        200,
    )


def test_headroom_keeps_the_limiter_below_the_rate() -> None:
    """The default 5% headroom spaces 4/s requests by 0.25/0.95 s; headroom=0 by 0.25 s."""
    default = acx.RateLimiter(acx.RateLimits(requests_per_second=4), clock=FakeClock())
    exact = acx.RateLimiter(acx.RateLimits(requests_per_second=4, headroom=0), clock=FakeClock())
    assert _waits(default, 2)[1] == pytest.approx(0.25 / 0.95)
    assert _waits(exact, 2)[1] == pytest.approx(0.25)


@pytest.mark.parametrize("headroom", [-0.1, 1.0, 2])
def test_headroom_validation(headroom: float) -> None:
    """Headroom outside [0, 1) is a configuration error."""
    with pytest.raises(acx.ConfigurationError, match="headroom"):
        acx.RateLimits(headroom=headroom)


def test_bucket_delay_pushes_the_schedule_back() -> None:
    """A slot used late moves the next slot back by as much (at most one interval)."""
    bucket = TokenBucket(rate=10.0, capacity=1, now=0.0)
    bucket.reserve(0.0)
    bucket.delay(0.03)
    assert bucket.reserve(0.0) == pytest.approx(0.13)
    capped = TokenBucket(rate=10.0, capacity=1, now=0.0)
    capped.reserve(0.0)
    capped.delay(5.0)
    assert capped.reserve(0.0) == pytest.approx(0.2)


def test_oversleeping_caller_does_not_shorten_the_next_gap() -> None:
    """acquire() reports its lateness, so the next request still waits a full interval."""
    clock = FakeClock()
    limiter = acx.RateLimiter(acx.RateLimits(requests_per_second=10, headroom=0), clock=clock)
    limiter._reserve(None)
    wait = limiter._reserve(None)
    assert wait == pytest.approx(0.1)
    # The caller meant to send at now+0.1 but woke 40 ms late.
    due = clock.now + wait
    clock.now = due + 0.04
    limiter._overslept(due)
    assert limiter._reserve(None) == pytest.approx(0.1)


def test_a_late_bulk_request_does_not_push_the_bulk_schedule_back() -> None:
    """Bulk slots keep their schedule after a late wake-up; the account's moves back."""
    clock = FakeClock()
    limiter = acx.RateLimiter(acx.RateLimits(bulk_per_minute=60, bulk_headroom=0), clock=clock)
    limiter._reserve(250)
    wait = limiter._reserve(250)
    assert wait == pytest.approx(1.0)
    due = clock.now + wait
    clock.now = due + 0.3  # woke 0.3 s late
    limiter._overslept(due, 250)
    assert limiter._reserve(250) == pytest.approx(0.7)  # the slot at 2.0 s, as scheduled


def test_late_bulk_requests_never_exceed_the_sliding_window() -> None:
    """Sent up to one interval late at random, no minute ever holds more than the limit."""
    rng = random.Random(20261202)
    clock = FakeClock()
    limiter = acx.RateLimiter(acx.RateLimits(), clock=clock)  # 100 a minute, 1% headroom
    interval = 60 / 99
    arrivals: list[float] = []
    for _ in range(600):
        wait = limiter._reserve(250)
        due = clock.now + wait
        clock.now = due + rng.uniform(0, interval * 0.99)  # wakes late, sends at once
        limiter._overslept(due, 250)
        arrivals.append(clock.now)
    starts = 0
    for end, at in enumerate(arrivals):
        while arrivals[starts] <= at - 60:
            starts += 1
        assert end - starts + 1 <= 100
