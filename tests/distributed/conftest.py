"""Fixtures for the distributed tests: budgets on the real redis-server, an emulator.

The session's ``redis_server`` is in the suite's conftest (the workspace tests use it too).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

import ac_segment_export as acx

from .redis_server import RedisServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio only."""
    return "asyncio"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, which it may stop and start again."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_budget(redis_server: RedisServer) -> Iterator[Callable[..., acx.RedisRateBudget]]:
    """Budgets on the session's Redis, all of one test under one fresh key prefix."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    made: list[acx.RedisRateBudget] = []

    def make(url: str | None = None, **options: Any) -> acx.RedisRateBudget:
        options.setdefault("key_prefix", prefix)
        budget = acx.RedisRateBudget(url or redis_server.url, **options)
        made.append(budget)
        return budget

    yield make
    for budget in made:
        budget.close()
