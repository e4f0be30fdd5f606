"""Settings and fixtures for the whole suite."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

from .distributed.redis_server import RedisServer

if TYPE_CHECKING:
    from collections.abc import Iterator

# Property tests are bounded by their example counts; a per-example
# deadline only measures how busy the machine is (CI runners, parallel jobs).
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session (tests keep apart by key prefix)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()
