"""The core's host check and wire reading as the client applies them (moved from the core tests)."""

from __future__ import annotations

import httpx
import pytest

import ac_segment_export as acx


def test_client_refuses_bad_host_before_io() -> None:
    """A client on a bad host fails at construction, before any transport is used."""

    class Exploding:
        def handle_request(self, request: object) -> object:
            raise AssertionError("no request may be sent")

    with pytest.raises(acx.ConfigurationError, match="plain http"):
        acx.Client("http://acme.api-us1.com", "key", transport=Exploding())  # type: ignore[arg-type]


def test_client_reads_an_undocumented_batch_status() -> None:
    """Through the client, GET import/info with an unknown status parses as not final."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "paused", "success": [], "failure": []})

    with acx.Client("acme.api-us1.com", "key", transport=httpx.MockTransport(handler)) as mocked:
        info = mocked.bulk_import.info("b-1")
    assert info.status is None
    assert info.raw_status == "paused"
    assert not info.is_final
