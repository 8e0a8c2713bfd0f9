"""Signed CDN download URLs: HMAC-SHA256 over the path and expiry, 403 when tampered or expired."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from urllib.parse import parse_qs

DOWNLOAD_PATH_RE = re.compile(r"^/cdn/videos/([0-9a-f]{24})/([A-Za-z0-9_-]+)\.mp4$")


class DownloadSigner:
    """Signs and verifies ``/cdn/videos/<projectId>/<exportToken>.mp4?Expires=..&Signature=..``."""

    def __init__(self, key: bytes, ttl_seconds: float) -> None:
        self._key = key
        self._ttl_seconds = ttl_seconds

    def sign(self, base_url: str, project_id: str, export_token: str) -> str:
        """A fresh signed URL, valid ``ttl_seconds`` from now."""
        path = f"/cdn/videos/{project_id}/{export_token}.mp4"
        expires = math.ceil(time.time() + self._ttl_seconds)
        return f"{base_url}{path}?Expires={expires}&Signature={self._signature(path, expires)}"

    def verify(self, path: str, query: str) -> str | None:
        """``None`` if ``path?query`` is a valid, unexpired signed URL, else the reason for a 403."""
        if not DOWNLOAD_PATH_RE.match(path):
            return "Invalid resource path"
        params = parse_qs(query, keep_blank_values=True)
        expires_values, signatures = params.get("Expires", []), params.get("Signature", [])
        if len(expires_values) != 1 or len(signatures) != 1 or not expires_values[0].isdigit():
            return "Missing or malformed Expires/Signature query parameters"
        expires = int(expires_values[0])
        if not hmac.compare_digest(signatures[0], self._signature(path, expires)):
            return "Invalid signature"
        if time.time() > expires:
            return "Request has expired"
        return None

    def _signature(self, path: str, expires: int) -> str:
        message = f"{path}?Expires={expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
