"""Fixtures for the tests of ``_core``: the I/O-free protocol layer (no emulator, no client)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio only."""
    return "asyncio"
