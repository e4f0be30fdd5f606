"""Fixtures for the client tests: an emulator and clients wired to it through its transport."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

import ac_segment_export as acx
from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

HOST = "acme.api-us1.com"
KEY = "test-key"


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio only."""
    return "asyncio"


@pytest.fixture
def emu() -> ActiveCampaignEmulator:
    """An emulator without account rate limits (pacing has its own tests)."""
    return ActiveCampaignEmulator(api_key=KEY, limits=EmulatorLimits.unlimited())


@pytest.fixture
def make_client(
    emu: ActiveCampaignEmulator,
) -> Iterator[Callable[..., acx.Client]]:
    """Build sync clients on the emulator's transport; instant retries, no pacing by default."""
    made: list[acx.Client] = []

    def make(**options: Any) -> acx.Client:
        target = options.pop("emulator", emu)
        options.setdefault("retry", acx.RetryPolicy.for_tests())
        options.setdefault("rate_limits", acx.RateLimits.unlimited())
        options.setdefault("transport", target.transport())
        client = acx.Client(options.pop("host", HOST), options.pop("api_key", KEY), **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., acx.Client]) -> acx.Client:
    """A sync client on the emulator."""
    return make_client()


@pytest.fixture
async def make_aclient(
    emu: ActiveCampaignEmulator,
) -> AsyncIterator[Callable[..., acx.AsyncClient]]:
    """Build async clients on the emulator's transport; instant retries, no pacing by default."""
    made: list[acx.AsyncClient] = []

    def make(**options: Any) -> acx.AsyncClient:
        target = options.pop("emulator", emu)
        options.setdefault("retry", acx.RetryPolicy.for_tests())
        options.setdefault("rate_limits", acx.RateLimits.unlimited())
        options.setdefault("transport", target.transport())
        client = acx.AsyncClient(options.pop("host", HOST), options.pop("api_key", KEY), **options)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
def aclient(make_aclient: Callable[..., acx.AsyncClient]) -> acx.AsyncClient:
    """An async client on the emulator."""
    return make_aclient()
