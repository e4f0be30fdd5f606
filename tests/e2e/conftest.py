"""Fixtures for the end-to-end tests: the emulator behind a real loopback HTTP server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ac_segment_export.testing import ActiveCampaignEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator

#: Emulated time runs this much faster than real time (limits and batch lifecycle alike).
SCALE = 10.0


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio only."""
    return "asyncio"


@pytest.fixture
def emu() -> ActiveCampaignEmulator:
    """A time-scaled emulator enforcing ActiveCampaign's limits."""
    return ActiveCampaignEmulator(api_key="e2e-key", time_scale=SCALE, seed=7)


@pytest.fixture
def base_url(emu: ActiveCampaignEmulator) -> Iterator[str]:
    """The emulator served on a free loopback port."""
    with emu.serve() as url:
        yield url
