"""The User-Agent names the installed package's version, read from its metadata."""

from __future__ import annotations

import importlib.metadata
from typing import TYPE_CHECKING

import httpx

import ac_segment_export as acx
from ac_segment_export._client import _client

if TYPE_CHECKING:
    import pytest


def test_the_user_agent_carries_the_installed_version(client: acx.Client) -> None:
    """The version sent is the package metadata's (``0.1.0.dev0``-like), not a constant."""
    seen: list[httpx.Request] = []
    client._http.event_hooks["request"].append(seen.append)
    client.users.me()
    [request] = seen
    installed = importlib.metadata.version("ac-segment-export")
    assert installed == acx.__version__
    assert (
        request.headers["User-Agent"] == f"ac-segment-export/{installed} httpx/{httpx.__version__}"
    )


def test_an_uninstalled_source_tree_says_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without package metadata (a bare checkout on sys.path) the version is "unknown"."""

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert _client._package_version() == "unknown"
