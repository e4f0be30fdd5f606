"""Requests on the wire: the drivers' side of :class:`Start` and :class:`Collect`.

The engine starts requests and later collects their answers; several may be on the wire at
once. Requests are paced in the order the engine starts them: starting one waits until the
one started before it has its rate-limit slot. So at most one request waits for a slot at a
time, a status check started after a bulk import never takes that import's slot, and the
engine decides the order in which the account's slots are spent (and keeps mapping the next
batch while a request waits). A :class:`Call` waits its turn the same way.

A :class:`Stop` (Ctrl-C, cancellation) while waiting for the turn means the request was
never sent.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from ac_segment_export._core.errors import APIError
from ac_segment_export._export._commands import Sent

if TYPE_CHECKING:
    from ac_segment_export._client import AsyncClient, Client
    from ac_segment_export._core.ops import Operation

__all__ = ["AsyncWire", "Wire"]


class Wire:
    """Requests sent from a small thread pool, for :class:`~ac_segment_export.Exporter`."""

    def __init__(self, client: Client, pool: ThreadPoolExecutor) -> None:
        self._client = client
        self._pool = pool
        self._on_wire: dict[Future[Any], int] = {}
        self._last: threading.Event | None = None  # set once the last started one is paced
        self._abandoned = threading.Event()

    def turn(self) -> None:
        """Wait until every request started so far has its rate-limit slot."""
        if self._last is not None:
            self._last.wait()

    def start(self, op: Operation[Any], token: int) -> None:
        """Send *op* in the background, after its turn; its answer comes from :meth:`collect`."""
        self.turn()
        paced = threading.Event()
        self._last = paced
        future = self._pool.submit(self._send, op, paced)
        self._on_wire[future] = token

    def collect(self, timeout: float | None) -> list[tuple[int, Any]]:
        """The answers that arrive within *timeout* seconds (all those arrived, at least one)."""
        if not self._on_wire:
            return []
        done, _ = wait(self._on_wire, timeout, return_when=FIRST_COMPLETED)
        return [(self._on_wire.pop(f), f.result()) for f in done]

    def abandon(self) -> None:
        """Send nothing more: requests not yet sent are dropped (the engine counted them).

        Those already on the wire end by themselves; the pool waits for them.
        """
        self._abandoned.set()
        for future in self._on_wire:
            future.cancel()
        self._on_wire.clear()

    def _send(self, op: Operation[Any], paced: threading.Event) -> Sent | APIError | None:
        try:
            if self._abandoned.is_set():
                return None
            return Sent(*self._client._call_doubt(op, paced.set))
        except APIError as exc:
            return exc
        finally:
            paced.set()


class AsyncWire:
    """Requests sent as tasks, for :class:`~ac_segment_export.AsyncExporter`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._on_wire: dict[asyncio.Task[Any], int] = {}
        self._last: asyncio.Event | None = None

    async def turn(self) -> None:
        """Wait until every request started so far has its rate-limit slot."""
        if self._last is not None:
            await self._last.wait()

    async def start(self, op: Operation[Any], token: int) -> None:
        """Send *op* in a task, after its turn; its answer comes back from :meth:`collect`."""
        await self.turn()
        paced = asyncio.Event()
        self._last = paced
        self._on_wire[asyncio.ensure_future(self._send(op, paced))] = token

    async def collect(self, timeout: float | None) -> list[tuple[int, Any]]:
        """The answers that arrive within *timeout* seconds (all those arrived, at least one)."""
        done: set[asyncio.Task[Any]] = set()
        if self._on_wire and timeout != 0:
            done, _ = await asyncio.wait(
                self._on_wire, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        done |= {t for t in self._on_wire if t.done()}
        return [(self._on_wire.pop(t), t.result()) for t in done]

    async def abandon(self) -> None:
        """Cancel the requests still on the wire (the engine counted them)."""
        tasks = list(self._on_wire)
        self._on_wire.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _send(self, op: Operation[Any], paced: asyncio.Event) -> Sent | APIError:
        try:
            return Sent(*await self._client._call_doubt(op, paced.set))
        except APIError as exc:
            return exc
        finally:
            paced.set()
