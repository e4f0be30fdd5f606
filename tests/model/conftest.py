"""Fixtures for the object-model tests: an emulator and connections pointed at it."""

from __future__ import annotations

import datetime as dt

import pytest

import ac_segment_export as acx
from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits

HOST = "acme.api-us1.com"
KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234567"
ACCEPTED_AT = dt.datetime(2026, 11, 30, 8, 15, 0, 123456, tzinfo=dt.timezone.utc)
ADMIN = acx.Actor("ana@contoso.com", acx.Role.ADMIN)
CONTRIBUTOR = acx.Actor("carl@contoso.com", acx.Role.CONTRIBUTOR)
FAST = acx.RetryPolicy.for_tests(max_attempts=2)
UNLIMITED = acx.RateLimits.unlimited()


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio only."""
    return "asyncio"


@pytest.fixture
def emu() -> ActiveCampaignEmulator:
    """An emulator that accepts KEY, without account rate limits."""
    return ActiveCampaignEmulator(api_key=KEY, limits=EmulatorLimits.unlimited())


@pytest.fixture
def options(emu: ActiveCampaignEmulator) -> acx.ClientOptions:
    """Client options that send to the emulator, retrying without sleeping, without pacing."""
    return acx.ClientOptions(transport=emu.transport(), retry=FAST, rate_limits=UNLIMITED)


@pytest.fixture
def connection() -> acx.Connection:
    """A connection without consent."""
    return acx.Connection("Marketing AC", HOST, KEY)


@pytest.fixture
def consented(connection: acx.Connection) -> acx.Connection:
    """A connection with a recorded consent."""
    return connection.accept_data_privacy_terms("ana@contoso.com", accepted_at=ACCEPTED_AT)
