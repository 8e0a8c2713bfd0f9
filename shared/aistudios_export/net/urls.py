"""Validation of every URL the system fetches or hands to AI Studios, and redaction for logs."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from ..errors import UnsafeUrlError

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local-use NAT64

# What a query string holds in free text: it ends at a space, a quote, an angle bracket, a fragment, or a
# backslash (the escape of a quote once the text is inside a JSON log line).
_QUERY = r"[^\s#\"'<>\\]"
_URL_QUERY = re.compile(r"(?i)(\bhttps?://[^\s?#\"'<>\\]*\?)" + _QUERY + "+")
# A query string with no scheme before it: urllib3 and requests write the path alone ("Max retries
# exceeded with url: /v.mp4?Signature=...", "Retrying (...) after connection broken by '...':
# /v.mp4?...", "GET /v.mp4?... HTTP/1.1"), or a host and path.
_BARE_QUERY = re.compile(r"\?[\w.~%+-]+[=&]" + _QUERY + "*")
# A signing parameter cut from its URL (a message shortened mid-query, an Authorization header).
_SIGNING_PARAMETER = re.compile(
    r"(?i)\b((?:x-amz-)?(?:signature|credential|security-token))=[^&\s#\"'<>\\,]+"
)


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
    """Drop every query string from free text, with or without the URL's scheme and host (signed URLs
    carry their secret there), and any signing parameter left on its own. Every string that can
    reach a log line or an export's record goes through here (observability, workflow.payloads)."""
    text = _URL_QUERY.sub(r"\1<redacted>", text)
    text = _BARE_QUERY.sub("?<redacted>", text)
    return _SIGNING_PARAMETER.sub(r"\1=<redacted>", text)


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast only (excludes private, shared 100.64/10, loopback, link-local, ...).
    An IPv6 address that embeds an IPv4 one (mapped, compatible ::/96, NAT64 64:ff9b::/96 and
    64:ff9b:1::/48, 6to4, Teredo) is judged by what it embeds, read from its bits, not by the
    Python version's tables of IPv6 ranges (which differ between 3.11 and 3.13)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return all(_is_public(inner) for inner in embedded)
    return ip.is_global and not ip.is_multicast


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...] | None:
    """The IPv4 addresses an IPv6 address carries, by its form; None for a plain IPv6 address."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if int(ip) >> 32 == 0 or ip in _NAT64 or ip in _NAT64_LOCAL:  # ::/96 (:: and ::1 included)
        return (low32,)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:
        return ip.teredo  # (server, client)
    return None


@dataclass(frozen=True)
class SafeTarget:
    """A URL that passed validation, with the one address it may be fetched from."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


def origin_of(url: str) -> str:
    """scheme://host:port, with the default port written out, for exact origin comparisons."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def resolve_target(
    url: str,
    *,
    local_origin: str | None = None,
    allowed_hosts: Iterable[str] = (),
    resolve: Callable[[str, int], list[str]] | None = None,
) -> SafeTarget:
    """Validate `url` and resolve its host once: the address returned is the address to connect to.

    - https only; plain http only to exactly `local_origin` (scheme, host and port: the local
      simulator), never to loopback at large;
    - no user:password part, a host name present, valid port;
    - when `allowed_hosts` is given, the host must equal one of them or be a sub-domain of one;
    - every address the host has must be globally routable (no private, shared 100.64/10, loopback,
      link-local, IPv4-mapped or NAT64 forms of those); decimal and octal IPv4 spellings are
      resolved like any name and checked the same way.
    Resolving once and connecting to that address (see pinned_http) defeats DNS rebinding.
    """
    if not isinstance(url, str) or len(url) > 4096:
        raise UnsafeUrlError("URL must be a string of at most 4096 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrlError(f"URL is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    is_local = local_origin is not None and scheme == "http" and origin_of(url) == origin_of(local_origin)
    if scheme != "https" and not is_local:
        raise UnsafeUrlError(f"URL must use https, not {scheme or 'no scheme'}")
    if parts.username or parts.password:
        raise UnsafeUrlError("URL must not carry credentials")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise UnsafeUrlError("URL has no host")
    port = port or (443 if scheme == "https" else 80)
    allowed = [h.lower().strip().rstrip(".") for h in allowed_hosts if h.strip()]
    if allowed and not any(host == a or host.endswith("." + a) for a in allowed):
        raise UnsafeUrlError(f"host {host} is not in the allowed list")
    if is_local:  # the local simulator's own origin, as configured: nothing else on loopback
        return SafeTarget(url, scheme, host, port, host)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not _is_public(literal):
            raise UnsafeUrlError(f"host {host} is not a public address")
        return SafeTarget(url, scheme, host, port, str(literal))
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".internal"):
        raise UnsafeUrlError(f"host {host} is not a public address")
    addresses = (resolve or _getaddrinfo)(host, port)
    if not addresses:
        raise UnsafeUrlError(f"host {host} does not resolve")
    for address in addresses:
        if not _is_public(ipaddress.ip_address(address)):
            raise UnsafeUrlError(f"host {host} resolves to a non-public address")
    return SafeTarget(url, scheme, host, port, addresses[0])


def _getaddrinfo(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise UnsafeUrlError(f"host {host} does not resolve: {exc.strerror or exc}") from None
    return [str(info[4][0]) for info in infos]


def validate_url(
    url: str,
    *,
    local_origin: str | None = None,
    allowed_hosts: Iterable[str] = (),
    resolve: bool = True,
) -> str:
    """`resolve_target`'s checks, returning the URL; `resolve=False` skips DNS (for URLs we only
    hand to others, like a webhookUrl AI Studios will call)."""
    if resolve:
        return resolve_target(url, local_origin=local_origin, allowed_hosts=allowed_hosts).url
    resolve_target(
        url, local_origin=local_origin, allowed_hosts=allowed_hosts, resolve=lambda h, p: ["8.8.8.8"]
    )
    return url
