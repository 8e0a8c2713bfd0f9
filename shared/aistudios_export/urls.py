"""Validation of every URL the system fetches or hands to AI Studios, and redaction for logs."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from .errors import UnsafeUrlError

_NAT64 = ipaddress.ip_network("64:ff9b::/96")

_URL_QUERY = re.compile(r"(?i)(\bhttps?://[^\s?#\"'<>]*\?)[^\s#\"'<>]*")


def redact_url(url: str | None) -> str:
    """The URL without its query string or credentials (signed URLs carry their secret there)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = "<redacted>" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_text(text: str) -> str:
    """Drop the query string of every URL in free text (signed URLs carry their secret there)."""
    return _URL_QUERY.sub(r"\1<redacted>", text)


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast only (excludes private, shared 100.64/10, loopback, link-local, ...)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _is_public(ip.ipv4_mapped)
    if isinstance(ip, ipaddress.IPv6Address) and ip in _NAT64:
        return False
    return ip.is_global and not ip.is_multicast


def validate_url(
    url: str,
    *,
    allow_insecure: bool = False,
    allowed_hosts: Iterable[str] = (),
    resolve: bool = True,
) -> str:
    """Check that `url` is safe to fetch, returning it unchanged or raising UnsafeUrlError.

    - https only, unless `allow_insecure` (the local stack, where the simulator speaks plain http
      on loopback);
    - no user:password part, a host name present, only default or explicit ports;
    - when `allowed_hosts` is given, the host must equal one of them or be a sub-domain of one;
    - unless `allow_insecure`, the host must not be or resolve to a private, loopback,
      link-local or otherwise non-public address (SSRF guard for the Lambda's network).
    """
    if not isinstance(url, str) or len(url) > 4096:
        raise UnsafeUrlError("URL must be a string of at most 4096 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrlError(f"URL is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_insecure and scheme == "http"):
        raise UnsafeUrlError(f"URL must use https, not {scheme or 'no scheme'}")
    if parts.username or parts.password:
        raise UnsafeUrlError("URL must not carry credentials")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise UnsafeUrlError("URL has no host")
    allowed = [h.lower().strip().rstrip(".") for h in allowed_hosts if h.strip()]
    if allowed and not any(host == a or host.endswith("." + a) for a in allowed):
        raise UnsafeUrlError(f"host {host} is not in the allowed list")
    if allow_insecure:
        return url
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not _is_public(literal):
            raise UnsafeUrlError(f"host {host} is not a public address")
        return url
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".internal"):
        raise UnsafeUrlError(f"host {host} is not a public address")
    if resolve:
        try:
            infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            raise UnsafeUrlError(f"host {host} does not resolve: {exc.strerror or exc}") from None
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not _is_public(address):
                raise UnsafeUrlError(f"host {host} resolves to a non-public address")
    return url
