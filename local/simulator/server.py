"""The simulator served over HTTP on loopback: its engine, the HTTP server, the ticker, the lifecycle."""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any

from .config import SimulatorConfig
from .engine import SimulatorEngine
from .handler import handler_for
from .webhooks import WebhookDispatcher


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that can cut its open keep-alive connections."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, engine: SimulatorEngine, address: tuple[str, int]) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler_for(engine))

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        """Cut keep-alive connections still open, so nothing is served after ``stop()``."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Simulator(SimulatorEngine):
    """A DeepBrain AI Studios API simulator serving real HTTP on loopback.

    Use ``Simulator(config).start()`` ... ``stop()``, or ``with Simulator(config) as sim:``.
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        super().__init__(config)
        self._server: _HTTPServer | None = None
        self._serve_thread: threading.Thread | None = None
        self._ticker_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lifecycle_lock = threading.Lock()

    def start(self) -> Simulator:
        """Bind the port and start the HTTP, ticker and webhook threads. Returns ``self``."""
        with self._lifecycle_lock:
            if self._server is not None:
                raise RuntimeError("simulator already started")
            self._server = _HTTPServer(self, (self.config.host, self.config.port))
        self._port = int(self._server.server_address[1])
        self._stopping.clear()
        self._webhooks = WebhookDispatcher(self.counters, self.config.webhook_timeout_seconds)
        self._serve_thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="sim-http", daemon=True
        )
        self._ticker_thread = threading.Thread(target=self._tick_loop, name="sim-ticker", daemon=True)
        self._webhooks.start()
        self._serve_thread.start()
        self._ticker_thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, stop the ticker and webhook threads and release the port (idempotent)."""
        with self._lifecycle_lock:
            server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        server.close_open_connections()
        for thread in (self._serve_thread, self._ticker_thread):
            if thread is not None:
                thread.join(timeout=5)
        self._webhooks.stop()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _tick_loop(self) -> None:
        while not self._stopping.wait(self.config.tick_seconds):
            self.tick()
