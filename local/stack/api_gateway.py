"""API Gateway emulation: the deployed REST API's routes on loopback, each request a proxy event.

It also serves the API's OpenAPI document at GET /openapi.json (docs/openapi.json, with this
server as its server), and answers its own errors in the API's one error shape, as the deployed
API's GatewayResponses do."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

Invoke = Callable[[str, Any], tuple[Any, dict[str, Any] | None]]
STAGE = "v1"
OPENAPI_PATH = "/openapi.json"
OPENAPI_DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


class Route:
    def __init__(self, method: str, path: str, function_name: str) -> None:
        self.method = method
        self.resource = path
        self.function_name = function_name
        pattern = re.sub(r"\{(\w+)\+?\}", r"(?P<\1>[^/]+)", path)
        self.regex = re.compile(f"^{pattern}/?$")

    def match(self, path: str) -> dict[str, str] | None:
        found = self.regex.match(path)
        return found.groupdict() if found else None


class _BurstServer(ThreadingHTTPServer):
    """A listen backlog for bursts of callers (the standard library's is 5: the rest are reset)."""

    request_queue_size = 1024
    daemon_threads = True


class LocalApiGateway:
    """Serves `routes` on 127.0.0.1; each request becomes a REST API proxy event for its function."""

    def __init__(
        self, routes: list[Route], invoke: Invoke, port: int = 0, openapi: Path = OPENAPI_DOCUMENT
    ) -> None:
        self.routes = routes
        self._invoke = invoke
        self._openapi = openapi
        self._server = _BurstServer(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="local-api")

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalApiGateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _dispatch(self) -> None:
                api.handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

        return Handler

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        if parts.path == OPENAPI_PATH and request.command in ("GET", "HEAD"):
            self._send_openapi(request)
            return
        allowed = []
        for route in self.routes:
            params = route.match(parts.path)
            if params is None:
                continue
            allowed.append(route.method)
            if route.method == request.command:
                event = self._event(request, route, params, parts.query, body)
                result, error = self._invoke(route.function_name, event)
                if error is not None:
                    self._send_error(request, 502, "BadGateway", "the function failed", {})
                    return
                self._send_proxy_result(request, result)
                return
        if allowed:
            message = f"{parts.path} does not take {request.command}"
            self._send_error(request, 405, "MethodNotAllowed", message, {"Allow": ", ".join(allowed)})
        else:
            self._send_error(request, 404, "RouteNotFound", f"no route {request.command} {parts.path}", {})

    def _send_openapi(self, request: BaseHTTPRequestHandler) -> None:
        """The checked-in document, read on each request (so `make openapi` shows at once)."""
        document = json.loads(self._openapi.read_text())
        document["servers"] = [{"url": self.url, "description": "the local stack"}]
        self._send(request, 200, document, {})

    @staticmethod
    def _event(
        request: BaseHTTPRequestHandler, route: Route, params: dict[str, str], query: str, body: bytes
    ) -> dict[str, Any]:
        headers = dict(request.headers.items())
        multi_headers: dict[str, list[str]] = {}
        for key, value in request.headers.items():
            multi_headers.setdefault(key, []).append(value)
        qs = parse_qs(query, keep_blank_values=True)
        text: str | None
        encoded = False
        try:
            text = body.decode("utf-8") if body else None
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
        path = urlsplit(request.path).path
        request_id = str(uuid.uuid4())
        headers.setdefault("X-Forwarded-Proto", "http")
        return {
            "resource": route.resource,
            "path": path,
            "httpMethod": request.command,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: v[-1] for k, v in qs.items()} or None,
            "multiValueQueryStringParameters": qs or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": route.resource,
                "httpMethod": request.command,
                "path": path,
                "stage": STAGE,
                "requestId": request_id,
                "requestTimeEpoch": int(time.time() * 1000),
                "domainName": headers.get("Host", ""),
                "accountId": "123456789012",
                "apiId": "local",
                "protocol": "HTTP/1.1",
                "identity": {"sourceIp": request.client_address[0], "userAgent": headers.get("User-Agent")},
            },
            "body": text,
            "isBase64Encoded": encoded,
        }

    def _send_proxy_result(self, request: BaseHTTPRequestHandler, result: Any) -> None:
        if not isinstance(result, dict) or "statusCode" not in result:
            self._send_error(request, 502, "BadGateway", "the function's answer is not a proxy result", {})
            return
        raw = result.get("body") or ""
        data = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
        headers = dict(result.get("headers") or {})
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers[key] = ", ".join(values)
        self._write(request, int(result["statusCode"]), data, headers)

    def _send_error(
        self, request: BaseHTTPRequestHandler, status: int, code: str, message: str, headers: dict[str, str]
    ) -> None:
        self._send(request, status, {"error": {"code": code, "message": message}}, headers)

    def _send(
        self, request: BaseHTTPRequestHandler, status: int, body: dict[str, Any], headers: dict[str, str]
    ) -> None:
        self._write(
            request, status, json.dumps(body).encode(), {"Content-Type": "application/json", **headers}
        )

    @staticmethod
    def _write(request: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str]) -> None:
        request.send_response(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "connection"):
                request.send_header(key, str(value))
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(data)
