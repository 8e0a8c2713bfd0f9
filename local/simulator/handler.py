"""HTTP requests against the simulator: the routes (AI Studios' API, its CDN, the ``/_sim`` admin
routes) and the faults applied to them. Reading bodies and writing responses: http_base.py."""

from __future__ import annotations

import logging
import math
import time
from typing import Any
from urllib.parse import SplitResult, urlsplit

from .admin import admin_reply
from .config import DEFAULT_ADVERTISED_BYTES, Fault
from .engine import SimulatorEngine
from .envelope import Reply, bad_json, error, parse_json
from .http_base import Aborted, SimHTTPBase, etag_list, peek_project_id, status_phrase
from .routes import classify, redact
from .spool import send_synthetic
from .throttle import paced
from .video import RangeNotSatisfiableError, parse_range

log = logging.getLogger(__name__)

# A 1x1 PNG: every project's thumbnail.
THUMBNAIL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a7e5b3d40000000049454e44ae426082"
)

_STATUS_CODES: dict[int, str] = {
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def handler_for(engine: SimulatorEngine) -> type[SimRequestHandler]:
    """The request handler class of a server in front of ``engine``."""
    return type("BoundSimRequestHandler", (SimRequestHandler,), {"sim": engine})


class SimRequestHandler(SimHTTPBase):
    """One HTTP request against the simulator."""

    # ----------------------------------------------------------------- entry points

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    def _handle(self) -> None:
        self._headers_started = False
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        route, project_id, methods = classify(path)
        self.sim.counters.incr_key("requests", route)
        try:
            body = self._read_body()
            if body is None:
                return
            if route == "unknown":
                self._send_reply(error(404, "NotFound", f"no route for {self.command} {url.path}"))
            elif self.command not in methods:
                self._send_reply(error(405, "MethodNotAllowed", f"{self.command} not allowed here"))
            elif route == "admin":
                self._send_reply(
                    admin_reply(self.sim, self.command, path, body, dict(self.headers.items()), url.query)
                )
            else:
                self._api(route, project_id, url, body)
        except Aborted:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a simulator bug must answer 500, not hang the client
            log.exception("simulator internal error on %s %s", self.command, redact(self.path))
            self.close_connection = True
            if not self._headers_started:
                self._send_reply(error(500, "InternalServerError", "simulator internal error"))

    # ----------------------------------------------------------------- AI Studios routes

    def _api(self, route: str, project_id: str | None, url: SplitResult, raw: bytes) -> None:
        body, json_ok = parse_json(raw)
        if route == "export" and json_ok:
            project_id = peek_project_id(body)
        fault = self.sim.faults.take_request_fault(route, project_id.lower() if project_id else None)
        truncate_after: int | None = None
        size_lie: Fault | None = None
        if fault is not None:
            self.sim.counters.incr("faults_triggered")
            if self._apply_fault(fault, route, url):
                return
            if fault.kind == "download_truncate":
                truncate_after = -1 if fault.after_bytes is None else max(0, fault.after_bytes)
            if fault.kind in ("download_huge", "download_endless"):
                size_lie = fault
        if route == "download":
            self._download(url, truncate_after, size_lie)
            return
        if route == "thumbnail":  # a project's thumbnail, public on the CDN like AI Studios'
            self._send_raw(200, THUMBNAIL_PNG, "image/png", {"Cache-Control": "max-age=300"})
            return
        if route == "token":
            reply = self.sim.issue_token(body) if json_ok else bad_json()
        else:
            reply = self.sim.authenticate(self.headers.get("Authorization")) or self._editor(
                route, project_id or "", body, json_ok
            )
        self._send_reply(reply)

    def _editor(self, route: str, project_id: str, body: Any, json_ok: bool) -> Reply:
        if route == "export":
            return self.sim.begin_render(body) if json_ok else bad_json()
        if route == "progress":
            return self.sim.progress(project_id)
        return self.sim.project(project_id)

    # ----------------------------------------------------------------- faults

    def _apply_fault(self, fault: Fault, route: str, url: SplitResult) -> bool:
        """Act on a request fault; True when the response has been fully handled."""
        if fault.kind == "slow":
            time.sleep(1.0 if fault.delay is None else max(0.0, fault.delay))
            return False
        if fault.kind == "reset":
            self._reset_connection()
            return True
        if fault.kind == "http_status":
            self._fault_status(fault, route)
        elif fault.kind == "envelope_error":
            code = fault.code or "InternalError"
            self._send_reply(error(200, code, fault.msg or "simulated envelope error"))
        elif fault.kind == "expire_tokens":
            self.sim.expire_tokens()
            self._send_reply(error(401, "InvalidToken", "token expired"))
        elif fault.kind == "download_403":
            self._send_cdn_error(403, "AccessDenied", fault.msg or "Access Denied")
        elif fault.kind == "download_redirect":
            host = fault.redirect_host or "127.0.0.2"
            query = f"?{url.query}" if url.query else ""
            location = f"http://{host}:{self.sim.port}{url.path}{query}"
            self._send_raw(302, b"", "text/plain", {"Location": location})
        else:
            return False
        return True

    def _fault_status(self, fault: Fault, route: str) -> None:
        status = fault.status or 500
        headers: dict[str, str] = {}
        if status == 429:
            headers["Retry-After"] = str(math.ceil(1.0 if fault.retry_after is None else fault.retry_after))
        elif fault.retry_after is not None:
            headers["Retry-After"] = str(math.ceil(fault.retry_after))
        code = fault.code or _STATUS_CODES.get(status, f"HttpError{status}")
        msg = fault.msg or status_phrase(status)
        if route == "download":
            self._send_cdn_error(status, code, msg, headers)
        else:
            self._send_reply(error(status, code, msg, headers))

    # ----------------------------------------------------------------- CDN

    def _download(self, url: SplitResult, truncate_after: int | None, size_lie: Fault | None = None) -> None:
        path = url.path.rstrip("/")
        problem = self.sim.verify_download(path, url.query)
        if problem is not None:
            self._send_cdn_error(403, "AccessDenied", problem)
            return
        video = self.sim.video_for_download(path)
        if size_lie is not None and size_lie.kind == "download_endless":
            self._endless(video, size_lie.after_bytes)
            return
        size = video.size
        if size_lie is not None:  # download_huge: announce this size, send what there is, hang up
            size = size_lie.advertised_bytes or DEFAULT_ADVERTISED_BYTES
            self.close_connection = True
        validators = {
            "ETag": video.etag,
            "Last-Modified": self.sim.last_modified_for_download(path) or video.last_modified,
            "Accept-Ranges": "bytes",
            "Cache-Control": "private, max-age=0",
        }
        if video.etag in etag_list(self.headers.get("If-None-Match")):
            self._send_raw(304, b"", None, validators)
            return
        try:
            wanted = parse_range(self.headers.get("Range"), size)
        except RangeNotSatisfiableError:
            headers = {"Content-Range": f"bytes */{size}", **validators}
            self._send_cdn_error(416, "InvalidRange", "The requested range is not satisfiable", headers)
            return
        status, (start, end) = (200, (0, size)) if wanted is None else (206, wanted)
        headers = dict(validators)
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        self._start_response(status, "video/mp4", end - start, headers)
        if self.command == "HEAD":
            self.sim.counters.incr("download_heads")
            return
        self.sim.counters.incr("downloads")
        end = min(end, video.size)  # download_huge: only the bytes there are
        limit = max(0, end - start)
        if truncate_after is not None:
            limit = min(limit, (end - start) // 2 if truncate_after < 0 else truncate_after)
            self.close_connection = True
        if video.sample is None:  # synthetic: sent from its file, generated once (spool)
            send_synthetic(
                video, start, start + limit, self.connection, self.sim.config.download_bytes_per_second,
                self._count_download,
            )  # fmt: skip
        else:
            self._stream(video.iter_range(start, start + limit))

    def _endless(self, video: Any, stop_after: int | None) -> None:
        """download_endless: no length, no ranges, the video's bytes over and over until the client
        hangs up (the handler's caller treats the broken pipe as the end), or `stop_after` bytes."""
        self._headers_started = True
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Connection", "close")
        self.end_headers()
        self.sim.counters.incr("downloads")
        body, sent = video.read(), 0
        while stop_after is None or sent < stop_after:
            piece = body if stop_after is None else body[: stop_after - sent]
            self._stream(iter([piece]))
            sent += len(piece)

    def _stream(self, chunks: Any) -> None:
        """Write a body, paced to the per-connection cap ``download_bytes_per_second`` (if any)."""
        for chunk in paced(chunks, self.sim.config.download_bytes_per_second):
            self.wfile.write(chunk)
            self._count_download(len(chunk))

    def _count_download(self, size: int) -> None:
        self.sim.counters.incr("download_bytes", size)
