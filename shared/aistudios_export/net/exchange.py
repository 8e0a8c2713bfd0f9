"""One HTTP request bounded as a whole: connecting, sending and the answer's status line and headers
together, to the validated address (as pinned.py does for requests), the answer's body never read.

requests and urllib3 bound each socket operation, not the exchange: an endpoint that answers a
byte every second, or sends an endless body, holds such a client as long as it likes. Here a
watchdog shuts the connection at the deadline, which ends whatever operation is waiting on it.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from contextlib import suppress
from functools import cache
from urllib.parse import urlsplit

from .urls import SafeTarget


class DeadlinePassed(OSError):
    """The exchange was cut at its deadline."""


@cache
def _tls() -> ssl.SSLContext:
    import certifi  # requests' CA bundle, as every other fetch verifies with

    return ssl.create_default_context(cafile=certifi.where())


class _PinnedConnection(http.client.HTTPSConnection):
    """Connects to the validated address; the host name goes in Host, the SNI and the certificate
    check. `cut()`, from another thread, shuts the socket: the operation waiting on it (connect
    aside, which its own timeout bounds) ends at once, the TLS handshake included."""

    def __init__(self, target: SafeTarget, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=_tls())
        self._target = target
        self.was_cut = False

    def connect(self) -> None:
        self.sock = socket.create_connection((self._target.address, self._target.port), self.timeout)
        if self.was_cut:  # cut while connecting: cut() found no socket to shut
            raise DeadlinePassed("cut while connecting")
        if self._target.scheme == "https":
            self.sock = _tls().wrap_socket(self.sock, server_hostname=self._target.host)

    def cut(self) -> None:
        self.was_cut = True
        sock = self.sock
        if sock is not None:  # the plain socket's shutdown wakes a TLS read or handshake on it too
            with suppress(OSError):  # already closed: nothing left to cut
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


def post(
    target: SafeTarget, body: bytes, headers: dict[str, str], *, seconds: float, connect_timeout: float
) -> int:
    """POST `body` to `target.url` and return the answer's status, all within `seconds`; the
    answer's body is not read. OSError (DeadlinePassed at the deadline) or HTTPException otherwise."""
    parts = urlsplit(target.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = _PinnedConnection(target, timeout=max(0.001, min(connect_timeout, seconds)))
    watchdog = threading.Timer(max(0.0, seconds), connection.cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        connection.sock.settimeout(max(0.001, seconds))  # each operation too, as a backstop
        connection.request("POST", path, body=body, headers={**headers, "Connection": "close"})
        return connection.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        if connection.was_cut:
            raise DeadlinePassed(f"no answer within {seconds:.1f} s") from exc
        raise
    finally:
        watchdog.cancel()
        connection.close()
