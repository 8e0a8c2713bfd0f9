"""API Gateway emulation: the deployed REST API's routes on loopback, each request a proxy event.

It also serves the API's OpenAPI document at GET /openapi.json (docs/openapi.json, with this
server as its server). A method or path the API does not have is answered as API Gateway answers
it, whatever the method: 403 MISSING_AUTHENTICATION_TOKEN, shaped by the API's GatewayResponses
(template.yaml)."""

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

from .template import gateway_responses as declared_responses
from .template import load_template

Invoke = Callable[[str, Any], tuple[Any, dict[str, Any] | None]]
STAGE = "v1"
OPENAPI_PATH = "/openapi.json"
OPENAPI_DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
# API Gateway's own answers that this emulation gives, with their default status and message. A
# REST API answers a method or resource it does not have as it answers an unsigned request: it
# cannot tell which method a caller meant, so there is no 404 or 405 (docs: "Gateway response types").
GATEWAY_ANSWERS = {"MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token")}
_TEMPLATE_VARIABLE = re.compile(r"\$(?:context|input|util|stageVariables)\.[\w.]+|\$\{[^}]*\}")


class GatewayResponses:
    """API Gateway's own answers as the API's GatewayResponses (template.yaml) shape them: a
    response type's own entry if the API has one, else DEFAULT_4XX or DEFAULT_5XX, else API
    Gateway's {"message"}. Its templates may use `$context.error.responseType`, `.message` and
    `.messageString`; any other variable is refused, so a template this cannot render is noticed."""

    def __init__(self, declared: dict[str, Any]) -> None:
        self._declared = declared

    def answer(self, response_type: str) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of the answer of `response_type`."""
        status, message = GATEWAY_ANSWERS[response_type]
        entry = self._declared.get(response_type) or self._declared.get(f"DEFAULT_{status // 100}XX") or {}
        template = (entry.get("ResponseTemplates") or {}).get("application/json")
        body = (
            json.dumps({"message": message})
            if template is None
            else _render(template, response_type, message)
        )
        headers = {"Content-Type": "application/json"}
        for name, value in (entry.get("ResponseParameters") or {}).items():
            prefix = "gatewayresponse.header."
            if not (name.startswith(prefix) and value.startswith("'") and value.endswith("'")):
                raise ValueError(f"GatewayResponses: only static headers are emulated, not {name}: {value}")
            headers[name[len(prefix) :]] = value[1:-1]
        return int(entry.get("StatusCode", status)), headers, body.encode()


def _render(template: str, response_type: str, message: str) -> str:
    values = {
        "$context.error.responseType": response_type,
        "$context.error.message": message,
        "$context.error.messageString": json.dumps(message),
    }

    def value(found: re.Match[str]) -> str:
        if found.group(0) not in values:
            raise ValueError(f"GatewayResponses: {found.group(0)} is not emulated locally")
        return values[found.group(0)]

    return _TEMPLATE_VARIABLE.sub(value, template)


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
        self,
        routes: list[Route],
        invoke: Invoke,
        port: int = 0,
        openapi: Path = OPENAPI_DOCUMENT,
        gateway_responses: GatewayResponses | None = None,
    ) -> None:
        self.routes = routes
        self._invoke = invoke
        self._openapi = openapi
        self._gateway_responses = gateway_responses or GatewayResponses(declared_responses(load_template()))
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

            def __getattr__(self, name: str) -> Any:
                """Every method, TRACE and made-up ones too (the standard library answers a method
                without its do_ method with an HTML 501): API Gateway answers them all."""
                if name.startswith("do_"):
                    return self._dispatch
                raise AttributeError(name)

        return Handler

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        if parts.path == OPENAPI_PATH and request.command in ("GET", "HEAD"):
            self._send_openapi(request)
            return
        for route in self.routes:
            params = route.match(parts.path)
            if params is not None and route.method == request.command:
                event = self._event(request, route, params, parts.query, body)
                result, error = self._invoke(route.function_name, event)
                if error is not None:
                    self._send_error(request, 502, "BadGateway", "the function failed", {})
                    return
                self._send_proxy_result(request, result)
                return
        status, headers, data = self._gateway_responses.answer("MISSING_AUTHENTICATION_TOKEN")
        self._write(request, status, data, headers)

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
