"""Fixtures for the exporter tests: a fast emulator, a consented connection, a destination."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from ac_segment_export import (
    AsyncClient,
    Client,
    Connection,
    ExportDestination,
    ExportOptions,
    FieldMapping,
    RateLimits,
    RetryPolicy,
)
from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

API_KEY = "test-key"
HOST = "acme.api-us1.com"
#: Emulated time runs this much faster than real time (a batch ends in ~2 ms real time).
TIME_SCALE = 1000.0
#: Exporter options that keep polling fast against a time-scaled emulator.
FAST = ExportOptions(first_poll_delay=0.001, poll_interval=0.0005)


def fast(**changes: Any) -> ExportOptions:
    """:data:`FAST` with some options changed."""
    return FAST.replace(**changes)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_emulator(**kwargs: Any) -> ActiveCampaignEmulator:
    """An emulator with the real size limits, scaled time and (by default) no rate limits."""
    kwargs.setdefault("limits", EmulatorLimits.unlimited())
    kwargs.setdefault("time_scale", TIME_SCALE)
    return ActiveCampaignEmulator(api_key=API_KEY, **kwargs)


@pytest.fixture
def emu() -> ActiveCampaignEmulator:
    """An emulator with one list ("VIP customers", id 1) and a text field ``TIER``."""
    emulator = make_emulator()
    emulator.add_list("VIP customers")
    emulator.add_field("Tier", perstag="TIER")
    return emulator


def consented(connection: Connection) -> Connection:
    return connection.accept_data_privacy_terms(accepted_by="admin@example.com")


@pytest.fixture
def connection() -> Connection:
    """A connection for ``acme.api-us1.com`` with data-privacy consent."""
    return consented(Connection("Acme", HOST, API_KEY).with_export_user("exporter@example.com"))


MAPPING = FieldMapping(
    email="email", first_name="first", last_name="last", phone="phone", fields={"TIER": "tier"}
)


@pytest.fixture
def destination(connection: Connection) -> ExportDestination:
    """Upsert into list 1, mapping email/first/last/phone and the ``TIER`` field."""
    return ExportDestination(connection, "VIP export", 1, MAPPING)


def make_client(emulator: ActiveCampaignEmulator, **kwargs: Any) -> Client:
    kwargs.setdefault("retry", RetryPolicy.for_tests())
    kwargs.setdefault("rate_limits", RateLimits.unlimited())
    kwargs.setdefault("transport", emulator.transport())
    return Client(HOST, API_KEY, **kwargs)


def make_async_client(emulator: ActiveCampaignEmulator, **kwargs: Any) -> AsyncClient:
    kwargs.setdefault("retry", RetryPolicy.for_tests())
    kwargs.setdefault("rate_limits", RateLimits.unlimited())
    kwargs.setdefault("transport", emulator.transport())
    return AsyncClient(HOST, API_KEY, **kwargs)


@pytest.fixture
def client(emu: ActiveCampaignEmulator) -> Iterator[Client]:
    """A sync client on the emulator's transport (retries without sleeping, no pacing)."""
    with make_client(emu) as c:
        yield c


@pytest.fixture
async def aclient(emu: ActiveCampaignEmulator) -> AsyncIterator[AsyncClient]:
    """An async client on the emulator's transport."""
    async with make_async_client(emu) as c:
        yield c


def profile(i: int, **extra: Any) -> dict[str, Any]:
    """A well-formed profile number *i*."""
    row: dict[str, Any] = {
        "email": f"user{i}@example.com",
        "first": f"First{i}",
        "last": "Last",
        "phone": None,  # the mapping's optional columns, empty
        "tier": None,
    }
    row.update(extra)
    return row


def writes(emulator: ActiveCampaignEmulator) -> list[tuple[str, str]]:
    """The (method, path) of every request that could change the account."""
    return [(r.method, r.path) for r in emulator.requests if r.method != "GET"]
