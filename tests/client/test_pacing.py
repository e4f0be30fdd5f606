"""Client-side pacing against the emulator's account limit (time-scaled to run fast)."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

import anyio
import pytest

import ac_segment_export as acx
from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits

if TYPE_CHECKING:
    from collections.abc import Callable

# 5 requests/s becomes 25/s real. The limiter's 5% headroom is then 10 ms of a 200 ms
# window: enough for this machine's scheduling jitter (it is 50 ms at real scale).
SCALE = 5.0


def count_429(emu: ActiveCampaignEmulator) -> int:
    """How many requests the emulator answered 429."""
    return sum(r.status == 429 for r in emu.requests)


def test_requests_are_spaced(make_client: Callable[..., acx.Client]) -> None:
    """At 200 requests/s, 41 requests take about 0.2 s (40 intervals), not less."""
    client = make_client(rate_limits=acx.RateLimits(requests_per_second=200))
    started = time.perf_counter()
    for _ in range(41):
        client.users.me()
    elapsed = time.perf_counter() - started
    assert 0.2 <= elapsed < 0.2 * 3  # generous: a loaded CI machine may be slow, never fast
    assert client.stats.paced_seconds > 0.1


def test_the_account_limit_is_never_hit_when_pacing_to_it(
    make_client: Callable[..., acx.Client],
) -> None:
    """Pacing at the account's 5/s (both time-scaled) meets no 429 over several windows."""
    emu = ActiveCampaignEmulator(api_key="test-key", time_scale=SCALE)
    client = make_client(
        emulator=emu, rate_limits=acx.RateLimits().scaled(SCALE), retry=acx.RetryPolicy.never()
    )
    for _ in range(40):
        client.users.me()
    assert count_429(emu) == 0
    assert client.stats.rate_limited == 0
    assert len(emu.requests) == 40


def test_without_pacing_the_limit_is_hit(make_client: Callable[..., acx.Client]) -> None:
    """The same burst unpaced does meet 429s (so the test above can fail)."""
    emu = ActiveCampaignEmulator(api_key="test-key", time_scale=SCALE)
    client = make_client(
        emulator=emu, rate_limits=acx.RateLimits.unlimited(), retry=acx.RetryPolicy.never()
    )
    for _ in range(20):
        with contextlib.suppress(acx.RateLimitError):
            client.users.me()
    assert count_429(emu) > 0
    assert client.stats.rate_limited == count_429(emu)


def test_shared_limiter_shares_the_budget(make_client: Callable[..., acx.Client]) -> None:
    """Two clients on one RateLimiter together stay within the account limit."""
    emu = ActiveCampaignEmulator(api_key="test-key", time_scale=SCALE)
    limiter = acx.RateLimiter(acx.RateLimits().scaled(SCALE))
    first = make_client(emulator=emu, rate_limits=limiter, retry=acx.RetryPolicy.never())
    second = make_client(emulator=emu, rate_limits=limiter, retry=acx.RetryPolicy.never())
    started = time.perf_counter()
    for _ in range(15):
        first.users.me()
        second.users.me()
    elapsed = time.perf_counter() - started
    assert count_429(emu) == 0
    assert elapsed >= 29 / (5 * SCALE)  # 30 requests share one 50/s budget


def test_separate_limiters_do_not_share(make_client: Callable[..., acx.Client]) -> None:
    """Two clients with their own limiters together exceed the limit (the contrast)."""
    emu = ActiveCampaignEmulator(api_key="test-key", time_scale=SCALE)
    limits = acx.RateLimits().scaled(SCALE)
    first = make_client(emulator=emu, rate_limits=limits, retry=acx.RetryPolicy.never())
    second = make_client(emulator=emu, rate_limits=limits, retry=acx.RetryPolicy.never())
    for _ in range(10):
        for client in (first, second):
            with contextlib.suppress(acx.RateLimitError):
                client.users.me()
    assert count_429(emu) > 0


BULK_SCALE = 600.0  # the 60 s bulk window lasts 0.1 s real


def _submit_pairs(client: acx.Client, n: int) -> int:
    before = client.stats.rate_limited
    for i in range(n):
        with contextlib.suppress(acx.RateLimitError):
            client.bulk_import.submit(
                [
                    acx.BulkImportContact(email=f"a{i}@example.com"),
                    acx.BulkImportContact(email=f"b{i}@example.com"),
                ]
            )
    return client.stats.rate_limited - before


def test_bulk_imports_are_paced_per_minute(make_client: Callable[..., acx.Client]) -> None:
    """Bulk submits keep to 100 a minute (time-scaled), so the bulk limit is never hit."""
    emu = ActiveCampaignEmulator(
        api_key="test-key",
        time_scale=BULK_SCALE,
        limits=EmulatorLimits(requests_per_second=100_000),
    )
    limits = acx.RateLimits(requests_per_second=100_000).scaled(BULK_SCALE)
    client = make_client(emulator=emu, retry=acx.RetryPolicy.never(), rate_limits=limits)
    started = time.perf_counter()
    assert _submit_pairs(client, 130) == 0
    assert time.perf_counter() - started >= 129 / 1000  # 100 a minute is 1000/s at 600x
    assert len(emu.batches) == 130


def test_unpaced_bulk_imports_hit_the_bulk_limit(make_client: Callable[..., acx.Client]) -> None:
    """Unpaced submits meet the bulk 'Rate limit exceeded' (the contrast; 0.3 s window)."""
    emu = ActiveCampaignEmulator(
        api_key="test-key",
        time_scale=BULK_SCALE / 3,
        limits=EmulatorLimits(requests_per_second=100_000),
    )
    client = make_client(
        emulator=emu, retry=acx.RetryPolicy.never(), rate_limits=acx.RateLimits.unlimited()
    )
    assert _submit_pairs(client, 130) > 0


@pytest.mark.anyio
async def test_async_pacing(make_aclient: Callable[..., acx.AsyncClient]) -> None:
    """Concurrent async calls on one client are paced together and meet no 429."""
    emu = ActiveCampaignEmulator(api_key="test-key", time_scale=SCALE)
    # At x5 ten milliseconds of scheduling delay on a busy machine are 50 ms emulated, the
    # whole of the default headroom's slack in a one-second window: keep four times it.
    limits = acx.RateLimits(headroom=0.2).scaled(SCALE)
    client = make_aclient(emulator=emu, rate_limits=limits, retry=acx.RetryPolicy.never())
    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(25):
            tg.start_soon(client.users.me)
    elapsed = time.perf_counter() - started
    assert count_429(emu) == 0
    assert len(emu.requests) == 25
    assert elapsed >= 24 / (5 * 0.8 * SCALE)
