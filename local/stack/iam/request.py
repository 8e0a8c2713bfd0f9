"""What the middleware knows of a request before moto sees it: who signed it (the SigV4 access key
id, from the Authorization header or a presigned URL's X-Amz-Credential), for which service and
region, and what it asks (method, path, query, headers and, for the services whose parameters
travel in it, the body, which is read once and handed on to moto unchanged)."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")
_SIGV2_HEADER = re.compile(r"AWS ([^:\s]+):")
# Services whose parameters are in the body (JSON or a form); S3's bodies are objects, never read.
_BODY_SERVICES = {"dynamodb", "states", "sqs", "events", "secretsmanager", "kms", "sns", "lambda"}
_MAX_BODY = 2 * 1024 * 1024


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    region: str
    service: str
    sigv2: bool = False  # S3's older signature (boto3 still presigns with it by default)


def credential_of(environ: dict[str, Any], default_region: str = "us-east-1") -> Credential | None:
    """The signer of a request (SigV4 header or presigned query; S3's SigV2 header or presigned
    query), or None for an unsigned one."""
    header, query = environ.get("HTTP_AUTHORIZATION", ""), environ.get("QUERY_STRING", "")
    match = _CREDENTIAL.search(header) if header.startswith("AWS4-") else None
    if match is None and "X-Amz-Credential" in query:
        raw = parse_qs(query).get("X-Amz-Credential", [""])[0]
        match = _CREDENTIAL.search("Credential=" + raw)
    if match is not None:
        return Credential(match.group(1), match.group(2), match.group(3))
    v2 = _SIGV2_HEADER.match(header)
    if v2 is not None:
        return Credential(v2.group(1), default_region, "s3", sigv2=True)
    if "AWSAccessKeyId" in query and "Signature" in query:
        return Credential(parse_qs(query)["AWSAccessKeyId"][0], default_region, "s3", sigv2=True)
    return None


@dataclass
class Request:
    method: str
    path: str  # percent-decoded
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    service: str
    region: str
    body: bytes = b""
    sigv2: bool = False
    _json: Any = field(default=None, repr=False)

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def has(self, name: str) -> bool:
        return name in self.query

    @property
    def json(self) -> dict[str, Any]:
        """The JSON protocol's parameters (an empty dict for any other body)."""
        if self._json is None:
            try:
                loaded = json.loads(self.body or b"{}")
            except ValueError:
                loaded = {}
            self._json = loaded if isinstance(loaded, dict) else {}
        return dict(self._json)

    @property
    def form(self) -> dict[str, str]:
        """The query protocol's parameters (SNS): the form body and the URL's query together."""
        fields = {k: v[0] for k, v in self.query.items()}
        if self.body:
            fields.update({k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()})
        return fields

    @property
    def target(self) -> str:
        """The JSON protocol's operation: `DynamoDB_20120810.GetItem` -> `GetItem`."""
        return self.headers.get("x-amz-target", "").rsplit(".", 1)[-1]


def read_request(environ: dict[str, Any], credential: Credential) -> Request:
    headers = {
        key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    request = Request(
        method=environ.get("REQUEST_METHOD", "GET").upper(),
        path=unquote(environ.get("PATH_INFO", "/")),
        query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
        headers=headers,
        service=credential.service,
        region=credential.region,
        sigv2=credential.sigv2,
    )
    wants_body = credential.service in _BODY_SERVICES or (
        credential.service == "s3" and request.method == "POST" and request.has("delete")
    )
    if wants_body:
        request.body = take_body(environ)
    return request


def take_body(environ: dict[str, Any]) -> bytes:
    """Read the whole body and put it back for moto to read."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length <= 0 or length > _MAX_BODY:
        return b""
    body: bytes = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def replace_body(environ: dict[str, Any], body: bytes) -> None:
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
