"""The HTTP plumbing under the simulator's routes (handler.py): reading a request's body, writing JSON
envelopes, raw bodies and CDN error documents, resetting a connection, and the request log (signed
URLs redacted)."""

from __future__ import annotations

import contextlib
import http
import json
import socket
import struct
import sys
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from .envelope import Reply, error
from .routes import redact

if TYPE_CHECKING:
    from .engine import SimulatorEngine

MAX_BODY_BYTES = 1024 * 1024


class Aborted(Exception):
    """The connection was reset on purpose or by the peer; nothing more to write."""


class SimHTTPBase(BaseHTTPRequestHandler):
    """A request's body in, its response out, and its log line."""

    protocol_version = "HTTP/1.1"
    server_version = "AIStudiosSimulator/1.0"

    def version_string(self) -> str:
        return self.server_version

    sim: SimulatorEngine  # set by ``handler_for``
    timeout = 120.0  # idle keep-alive connections are closed after this many seconds
    _headers_started = False

    def _read_body(self) -> bytes | None:
        """The request body; ``None`` (after answering) when it cannot be read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send_reply(error(411, "LengthRequired", "chunked request bodies are not supported"))
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send_reply(error(413 if length > 0 else 400, "InvalidRequest", "bad Content-Length"))
            return None
        return self.rfile.read(length) if length else b""

    def _reset_connection(self) -> None:
        """Abort the TCP connection with RST (SO_LINGER 0) and no response."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()
        raise Aborted

    # ----------------------------------------------------------------- response writing

    def _send_cdn_error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>\n"
        ).encode()
        self._send_raw(status, body, "application/xml", headers or {})

    def _send_reply(self, reply: Reply) -> None:
        body = json.dumps(reply.body, separators=(",", ":")).encode()
        self._send_raw(reply.status, body, "application/json", reply.headers)

    def _send_raw(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str]) -> None:
        self._start_response(status, content_type, len(body), headers)
        if self.command != "HEAD" and body and status not in (204, 304):
            self.wfile.write(body)

    def _start_response(
        self, status: int, content_type: str | None, length: int, headers: dict[str, str]
    ) -> None:
        self._headers_started = True
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        if status != 304:
            self.send_header("Content-Length", str(length))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    # ----------------------------------------------------------------- logging

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if isinstance(code, http.HTTPStatus):
            code = code.value
        self.log_message('"%s %s" %s', self.command, redact(self.path), code)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.sim.config.log_requests:
            return
        line = redact(format % args)
        sys.stderr.write(f"{self.address_string()} - [{self.log_date_time_string()}] {line}\n")


def peek_project_id(body: Any) -> str | None:
    """The ``projectId`` of an export request's JSON body, if it has one."""
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    if isinstance(body, dict) and isinstance(body.get("projectId"), str):
        return str(body["projectId"])
    return None


def etag_list(header: str | None) -> list[str]:
    """The ETags of an ``If-None-Match`` header (weak ones as strong)."""
    if not header:
        return []
    return [part.strip().removeprefix("W/") for part in header.split(",")]


def status_phrase(status: int) -> str:
    """HTTP's reason phrase of ``status``."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
