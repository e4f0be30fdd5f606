"""A request's rate-limit slot is taken as it leaves: after its connection is open.

Between a slot and the first byte on the wire a client used to build the request, take a
connection from the pool and open it (TCP, TLS): work that a busy process's threads stretch,
so a request could leave later than its slot, eat the account window's headroom and meet a
429 one window later. Through httpx's own transport the slot is now taken from httpcore's
trace hook, just before the request's headers are written.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

import anyio
import pytest

import ac_segment_export as acx
from ac_segment_export.testing import ActiveCampaignEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator

KEY = "slot-at-send-key"
_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class _Server:
    """A loopback HTTP/1.1 server that notes each connection it accepts and answers ``{}``."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.accepted = threading.Event()
        self.requests = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.accepted.set()
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            buffer = b""
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while b"\r\n\r\n" in buffer:
                    _, buffer = buffer.split(b"\r\n\r\n", 1)
                    self.requests += 1
                    conn.sendall(_ANSWER)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.close()


class _Witness:
    """Paces with a real :class:`RateLimiter`, noting what the server had seen at each slot."""

    def __init__(self, server: _Server | None) -> None:
        self._limiter = acx.RateLimiter(acx.RateLimits(requests_per_second=1000.0))
        self._server = server
        #: For each slot: whether the request's connection was open, requests answered so far.
        self.slots: list[tuple[bool, int]] = []

    @property
    def limits(self) -> acx.RateLimits:
        return self._limiter.limits

    def _note(self) -> None:
        if self._server is None:
            self.slots.append((False, 0))
            return
        # The connection is accepted by the server's thread; give it the time to notice.
        self.slots.append((self._server.accepted.wait(2.0), self._server.requests))

    def acquire(self, bulk_contacts: int | None = None) -> float:
        self._note()
        return self._limiter.acquire(bulk_contacts)

    async def aacquire(self, bulk_contacts: int | None = None) -> float:
        self._note()
        return await self._limiter.aacquire(bulk_contacts)


def test_the_slot_is_taken_once_the_connection_is_open(server: _Server) -> None:
    witness = _Witness(server)
    assert isinstance(witness, acx.PacingBackend)
    with acx.Client(f"http://127.0.0.1:{server.port}", KEY, rate_limits=witness) as client:
        assert client.request("GET", "users/me") == {}
        assert client.request("GET", "users/me") == {}
    # Before the fix the first slot came before the connection was opened: not accepted yet.
    assert witness.slots == [(True, 0), (True, 1)]
    assert server.connections == 1
    assert client.stats.requests == 2


def test_the_async_slot_is_taken_once_the_connection_is_open(server: _Server) -> None:
    witness = _Witness(server)

    async def main() -> None:
        url = f"http://127.0.0.1:{server.port}"
        async with acx.AsyncClient(url, KEY, rate_limits=witness) as client:
            assert await client.request("GET", "users/me") == {}
            assert await client.request("GET", "users/me") == {}

    anyio.run(main)
    assert witness.slots == [(True, 0), (True, 1)]


def test_a_request_that_cannot_connect_takes_no_slot() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    witness = _Witness(None)
    retry = acx.RetryPolicy.for_tests(max_attempts=2)
    client = acx.Client(f"http://127.0.0.1:{port}", KEY, rate_limits=witness, retry=retry)
    with client, pytest.raises(acx.APIUnreachableError):
        client.request("GET", "users/me")
    assert witness.slots == []  # no slot of the account's is spent on a refused connection
    assert client.stats.requests == 2  # the attempts are still counted


def test_another_transport_is_paced_before_sending() -> None:
    """An in-process transport has no trace hook: its requests are paced before they go."""
    emu = ActiveCampaignEmulator(api_key=KEY)
    witness = _Witness(None)
    with acx.Client("http://127.0.0.1", KEY, rate_limits=witness, transport=emu.transport()) as c:
        c.request("GET", "users/me")
        assert len(witness.slots) == 1
        # Told to wait for the hook anyway, the client still takes the slot (after the
        # answer, since the hook never ran) and paces this transport before sending from then.
        c._slot_at_send = True
        c.request("GET", "users/me")
        assert len(witness.slots) == 2
        assert c._slot_at_send is False
        c.request("GET", "users/me")
    assert len(witness.slots) == 3
    assert c.stats.requests == 3
