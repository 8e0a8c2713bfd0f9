"""HTTP connections pinned to a validated address: the address checked is the address connected to.

The host name still goes in the Host header, the TLS SNI and the certificate check, so TLS verifies
the name while the TCP connection goes only where validation allowed (no DNS rebinding)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from .urls import SafeTarget


class PinnedAdapter(HTTPAdapter):
    """Connects each request's host to the address pinned for it; refuses hosts never pinned."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_retries=0, **kwargs)
        self._pins: dict[tuple[str, str, int], str] = {}

    def pin(self, target: SafeTarget) -> None:
        self._pins[(target.scheme, target.host, target.port)] = target.address

    def build_connection_pool_key_attributes(  # type: ignore[override]
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        params, kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params: dict[str, Any] = dict(params)
        pool_kwargs: dict[str, Any] = dict(kwargs)
        parts = urlsplit(str(request.url))
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower().rstrip(".")
        port = parts.port or (443 if scheme == "https" else 80)
        address = self._pins.get((scheme, host, port))
        if address is None:
            raise requests.ConnectionError(f"refusing to connect to {host}: it was not validated")
        host_params = {**host_params, "host": address, "port": port}
        if scheme == "https":
            pool_kwargs = {**pool_kwargs, "server_hostname": host, "assert_hostname": host}
        return host_params, pool_kwargs

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        netloc = urlsplit(str(request.url)).netloc.rsplit("@", 1)[-1]
        request.headers["Host"] = netloc
        return super().send(request, *args, **kwargs)


def pinned_session() -> tuple[requests.Session, PinnedAdapter]:
    """A session whose every connection goes through one PinnedAdapter."""
    session = requests.Session()
    adapter = PinnedAdapter(pool_connections=4, pool_maxsize=16)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "aistudios-export/0.1"
    return session, adapter
