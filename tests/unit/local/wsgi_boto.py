"""boto3 clients whose requests go to a WSGI app in this process, not over a socket: botocore signs
each request (SigV4) as it would for AWS, the app answers, and botocore parses the answer as it would
AWS's; so a unit test sees exactly the ClientError a caller of the local stack sees."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

ENDPOINT = "http://localhost:5000"
ACCOUNT_KEYS: tuple[str, str, str | None] = ("testing", "testing", None)
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Any:
        while chunk := self.read(65536):
            yield chunk


class InProcess:
    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def client(
        self, service: str, credentials: tuple[str, str, str | None] = ACCOUNT_KEYS, **config: Any
    ) -> Any:
        """A client signed with `credentials` (key id, secret, session token): the account's own keys
        unless told otherwise."""
        key, secret, token = credentials
        client = boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=ENDPOINT,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}, **config),
        )
        client.meta.events.register("before-send", self._send)
        return client

    def get(self, url: str) -> tuple[int, bytes]:
        """A plain GET of a URL (a presigned link), as a browser would send it: (status, body)."""

        class Plain:
            method, body, headers = "GET", b"", {}

        Plain.url = url  # type: ignore[attr-defined]
        answer = self._send(Plain())
        return answer.status_code, answer.content

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        url = urlsplit(request.url)
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "PATH_INFO": unquote(url.path),
            "QUERY_STRING": url.query,
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "5000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_HOST": "localhost:5000",
        }
        for name, value in request.headers.items():
            value = value.decode() if isinstance(value, bytes) else value
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
            else:
                environ[f"HTTP_{key}"] = value
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"], answer["headers"] = status, headers
            return lambda data: None

        chunks = self.app(environ, start_response)
        content = b"".join(chunks)
        close = getattr(chunks, "close", None)
        if close:
            close()
        if request.method == "HEAD":
            content = b""
        return AWSResponse(
            request.url, int(answer["status"].split()[0]), dict(answer["headers"]), _Raw(content)
        )
