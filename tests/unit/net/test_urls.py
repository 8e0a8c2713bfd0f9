from __future__ import annotations

import json

import pytest

from aistudios_export import UnsafeUrlError
from aistudios_export.net.urls import redact_text, redact_url, resolve_target, validate_url
from tests.unit.net.refused import HOST, SIGNATURE, SIGNED_PATH, refused_fetch

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://cdn.example.com/v.mp4", "https"),
        ("ftp://cdn.example.com/v.mp4", "https"),
        ("https://user:pw@cdn.example.com/v.mp4", "credentials"),
        ("https:///v.mp4", "no host"),
        ("https://127.0.0.1/v.mp4", "not a public address"),
        ("https://10.0.0.8/v.mp4", "not a public address"),
        ("https://169.254.169.254/latest/meta-data", "not a public address"),
        ("https://[::1]/v.mp4", "not a public address"),
        ("https://localhost/v.mp4", "not a public address"),
        ("https://metadata.google.internal/x", "not a public address"),
        ("https://cdn.example.com:99999/v.mp4", "malformed"),
    ],
)
def test_unsafe_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrlError) as caught:
        validate_url(url, resolve=False)
    assert reason in caught.value.message


def test_allowed_hosts_accept_subdomains_only_of_listed_hosts() -> None:
    hosts = ["aistudios.com"]
    assert validate_url("https://cdn.aistudios.com/v.mp4", allowed_hosts=hosts, resolve=False)
    assert validate_url("https://aistudios.com/v.mp4", allowed_hosts=hosts, resolve=False)
    for bad in ("https://evil-aistudios.com/v.mp4", "https://aistudios.com.evil.net/v.mp4"):
        with pytest.raises(UnsafeUrlError, match="not in the allowed list"):
            validate_url(bad, allowed_hosts=hosts, resolve=False)


def test_plain_http_is_allowed_only_to_the_local_origin_itself() -> None:
    origin = "http://127.0.0.1:8787"
    assert validate_url("http://127.0.0.1:8787/cdn/v.mp4", local_origin=origin)
    for other in (
        "http://127.0.0.2:8787/cdn/v.mp4",  # another loopback host
        "http://127.0.0.1:8788/cdn/v.mp4",  # another port
        "http://localhost:8787/cdn/v.mp4",  # another spelling
        "https://127.0.0.1:8787/cdn/v.mp4",  # https to loopback is still loopback
    ):
        with pytest.raises(UnsafeUrlError):
            validate_url(other, local_origin=origin)


def test_public_literal_address_is_accepted_without_dns() -> None:
    assert validate_url("https://93.184.216.34/v.mp4")


def test_redaction_drops_query_and_credentials() -> None:
    url = "https://u:p@cdn.example.com:8443/videos/x.mp4?Expires=1&Signature=abc#frag"
    assert redact_url(url) == "https://cdn.example.com:8443/videos/x.mp4?<redacted>"
    assert redact_url("https://cdn.example.com/x.mp4") == "https://cdn.example.com/x.mp4"
    text = "failed GET https://cdn/x.mp4?Expires=1&Signature=deadbeef&X-Amz-Signature=cafe"
    assert "deadbeef" not in redact_text(text)
    assert "cafe" not in redact_text(text)


RESOLVER = {
    "cdn.example.com": ["93.184.216.34"],
    "internal.example.com": ["10.0.0.5"],
    "mixed.example.com": ["93.184.216.34", "192.168.1.1"],
    "shared.example.com": ["100.64.0.1"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
    "nat64.example.com": ["64:ff9b::a00:1"],
}


def _resolve(host: str, port: int) -> list[str]:
    return RESOLVER[host]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/v.mp4",
        "https://localhost/v.mp4",
        "https://[::1]/v.mp4",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/v.mp4",
        "https://100.64.0.1/v.mp4",
        "https://[::ffff:127.0.0.1]/v.mp4",
        "https://[::ffff:10.0.0.1]/v.mp4",
        "https://internal.example.com/v.mp4",
        "https://mixed.example.com/v.mp4",
        "https://shared.example.com/v.mp4",
        "https://mapped.example.com/v.mp4",
        "https://nat64.example.com/v.mp4",
        "file:///etc/passwd",
        "ftp://cdn.example.com/v.mp4",
        "gopher://cdn.example.com/v.mp4",
    ],
)
def test_ssrf_probes_are_refused_before_anything_is_fetched(url: str) -> None:
    with pytest.raises(UnsafeUrlError):
        resolve_target(url, resolve=_resolve)


def test_the_address_validated_is_the_one_returned_to_connect_to() -> None:
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # a rebinding resolver: public, then private

    target = resolve_target("https://cdn.example.com:8443/v.mp4", resolve=lambda h, p: next(answers))

    assert (target.host, target.port, target.address) == ("cdn.example.com", 8443, "93.184.216.34")


def test_a_pinned_session_connects_only_to_the_validated_address(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    import requests

    from aistudios_export.net.pinned import pinned_session

    dialled: list[tuple[str, int]] = []

    def numeric_only(host: str, port: int, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        import ipaddress

        ipaddress.ip_address(host)  # a name here would mean resolving again at connect time
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (host, port))]

    def refuse(self: socket.socket, address: tuple[str, int]) -> None:
        dialled.append(address)
        raise ConnectionRefusedError

    monkeypatch.setattr(socket, "getaddrinfo", numeric_only)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    session, pins = pinned_session()
    pins.pin(resolve_target("https://cdn.example.com/v.mp4", resolve=_resolve))

    with pytest.raises(requests.ConnectionError):
        session.get("https://cdn.example.com/v.mp4", timeout=1)
    assert dialled == [("93.184.216.34", 443)]

    with pytest.raises(requests.ConnectionError, match="not validated"):
        session.get("https://other.example.com/v.mp4", timeout=1)
    assert dialled == [("93.184.216.34", 443)]


def test_redaction_covers_urls_written_without_their_scheme_as_urllib3_and_requests_write_them() -> None:
    """The thumbnail's signed URL leaked through these: urllib3 and requests write the path alone."""

    error, warnings = refused_fetch()
    assert warnings, "urllib3 retried once and said so"
    path, _ = SIGNED_PATH.split("?")
    texts = [
        str(error),  # HTTPSConnectionPool(host=..., port=443): Max retries exceeded with url: /p?q (...)
        repr(error),
        *warnings,  # Retrying (Retry(...)) after connection broken by '...': /p?q
        f'https://{HOST}:443 "GET {SIGNED_PATH} HTTP/1.1" 403 0',  # urllib3's debug line
        f"cdn.example.com{SIGNED_PATH}",
        f"url={SIGNED_PATH}",
    ]
    for text in texts:
        redacted = redact_text(text)
        assert SIGNATURE not in redacted, redacted
        assert "AKIDEXAMPLE" not in redacted, redacted
        assert f"{path}?<redacted>" in redacted
        assert redact_text(redacted) == redacted
        # inside a JSON log line, next to an escaped quote, the line stays JSON
        line = json.dumps({"message": f'"{text}"'})
        assert SIGNATURE not in redact_text(line)
        assert json.loads(redact_text(line))["message"].startswith('"')
    assert redact_text(str(error)).endswith(
        "Max retries exceeded with url: " + path + "?<redacted> (Caused by ProtocolError('Connection "
        "aborted.', ConnectionRefusedError(111, 'Connection refused')))"
    )


@pytest.mark.parametrize(
    "text",
    [
        "a message cut short: ...&X-Amz-Signature=cafe1234",
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128, Signature=cafe1234",
        "X-Amz-Security-Token=cafe1234",
    ],
)
def test_a_signing_parameter_on_its_own_is_redacted(text: str) -> None:
    assert "cafe1234" not in redact_text(text)
    assert "AKIDEXAMPLE" not in redact_text(text)


def test_text_without_a_query_is_left_alone() -> None:
    for text in ("GET /exports/abc HTTP/1.1", "is it done? yes", "https://h/p?", "retry policy=standard"):
        assert redact_text(text) == text


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("::ffff:127.0.0.1", False),  # mapped
        ("::ffff:8.8.8.8", True),
        ("::10.0.0.1", False),  # IPv4-compatible ::/96
        ("::", False),
        ("::1", False),
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("64:ff9b:1::a9fe:a9fe", False),  # local-use NAT64 of 169.254.169.254 (instance metadata)
        ("2002:a9fe:a9fe::1", False),  # 6to4 of 169.254.169.254
        ("2002:c0a8:101::1", False),  # 6to4 of 192.168.1.1
        ("2002:808:808::1", True),  # 6to4 of 8.8.8.8
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", False),  # Teredo, client 10.0.0.1
        ("2001:0:7f00:1:8000:63bf:f7f7:f7f7", False),  # Teredo, server 127.0.0.1
        ("2606:4700:4700::1111", True),  # a plain public IPv6 address
    ],
)
def test_ipv6_forms_that_embed_an_ipv4_address_are_judged_by_it(address: str, public: bool) -> None:
    """Read from the address's bits, so the answer is the same on every Python version (3.11
    locally, 3.13 on Lambda), whose tables of IPv6 ranges differ."""
    import ipaddress

    from aistudios_export.net.urls import _is_public

    assert _is_public(ipaddress.ip_address(address)) is public
