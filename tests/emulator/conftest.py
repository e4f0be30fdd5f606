from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits

if TYPE_CHECKING:
    from collections.abc import Iterator

API_KEY = "test-key"
BASE_URL = "https://acme.api-us1.com/api/3"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def emu() -> ActiveCampaignEmulator:
    """An emulator with the rate limits off (size limits on), for shape and state tests."""
    return ActiveCampaignEmulator(api_key=API_KEY, limits=EmulatorLimits.unlimited())


def make_client(emulator: ActiveCampaignEmulator, key: str = API_KEY) -> httpx.Client:
    return httpx.Client(
        transport=emulator.transport(), base_url=BASE_URL, headers={"Api-Token": key}
    )


@pytest.fixture
def client(emu: ActiveCampaignEmulator) -> Iterator[httpx.Client]:
    with make_client(emu) as http:
        yield http
