"""The in-process httpx transport."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from ._api import Reply
    from ._emulator import ActiveCampaignEmulator

__all__ = ["EmulatorTransport"]

_DROPPED = "Server disconnected without sending a response."


class EmulatorTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport, sync and async, that answers from an `ActiveCampaignEmulator`.

    A dropped connection raises `httpx.RemoteProtocolError`, as httpx does when a server
    closes the connection without answering. Latency faults sleep with `time.sleep` on the
    sync path and `asyncio.sleep` on the async one.
    """

    def __init__(self, emulator: ActiveCampaignEmulator) -> None:
        self._emulator = emulator

    def __repr__(self) -> str:
        return f"EmulatorTransport({self._emulator!r})"

    @property
    def time_scale(self) -> float:
        """The emulator's time scale (an exporter's report states it)."""
        return self._emulator.time_scale

    def _dispatch(
        self, request: httpx.Request, body: bytes, arrived: float | None = None
    ) -> Reply | None:
        url = request.url
        return self._emulator.dispatch(
            request.method,
            url.raw_path.split(b"?", 1)[0].decode("ascii"),
            url.query.decode("ascii", "replace"),
            token=request.headers.get("Api-Token"),
            body=body,
            base=f"{url.scheme}://{url.netloc.decode('ascii')}",
            arrived=arrived,
        )

    @staticmethod
    def _response(request: httpx.Request, reply: Reply | None) -> httpx.Response:
        if reply is None:
            raise httpx.RemoteProtocolError(_DROPPED, request=request)
        headers = [("Content-Type", reply.content_type), *reply.headers]
        return httpx.Response(reply.status, headers=headers, content=reply.body, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer a request from a sync `httpx.Client`."""
        arrived = self._emulator.now
        reply = self._dispatch(request, request.read(), arrived)
        delay = self._emulator._latency()  # the request counts on arrival; its answer takes time
        if delay:
            time.sleep(delay)
        return self._response(request, reply)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer a request from an `httpx.AsyncClient`."""
        arrived = self._emulator.now
        reply = self._dispatch(request, await request.aread(), arrived)
        delay = self._emulator._latency()
        if delay:
            await asyncio.sleep(delay)
        return self._response(request, reply)
