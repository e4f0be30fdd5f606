"""The loopback HTTP server (stdlib ``ThreadingHTTPServer`` in a background thread)."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._emulator import ActiveCampaignEmulator

__all__ = ["EmulatorHTTPServer", "serve_in_thread"]


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one emulator; tracks its open connections."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, emulator: ActiveCampaignEmulator, address: tuple[str, int]) -> None:
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up mid-answer (a timed-out test client, say)."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut down every connection still open (keep-alive clients)."""
        with self.connections_lock:
            open_connections = list(self.connections)
        for sock in open_connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):  # no Nagle delay between headers and body
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the server quiet."""

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _answer(self) -> None:
        emulator = self.server.emulator
        arrived = emulator.now  # its headers are in: the request counts from here
        body = self._read_body()
        split = urlsplit(self.path)
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        reply = emulator.dispatch(
            self.command,
            split.path,
            split.query,
            token=self.headers.get("Api-Token"),
            body=body,
            base=f"http://{host}",
            arrived=arrived,
        )
        delay = emulator._latency()  # the request counts on arrival; its answer takes time
        if delay:
            time.sleep(delay)
        if reply is None:
            self.close_connection = True  # drop: no status line, no headers
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer  # noqa: N815


@contextlib.contextmanager
def serve_in_thread(emulator: ActiveCampaignEmulator, host: str, port: int) -> Iterator[str]:
    """Run a server for ``emulator`` in a daemon thread for the duration of the block.

    Args:
        emulator: The emulator to serve.
        host: Address to bind.
        port: Port to bind; 0 picks a free one.

    Yields:
        The base URL.
    """
    server = EmulatorHTTPServer(emulator, (host, port))
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"ac-emulator-{server.server_port}",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
