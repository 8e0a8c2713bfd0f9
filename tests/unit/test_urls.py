from __future__ import annotations

import pytest

from aistudios_export import UnsafeUrlError
from aistudios_export.urls import redact_text, redact_url, validate_url

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


def test_insecure_mode_allows_plain_http_on_loopback_but_still_checks_hosts() -> None:
    assert validate_url("http://127.0.0.1:8787/cdn/v.mp4", allow_insecure=True)
    with pytest.raises(UnsafeUrlError):
        validate_url("http://127.0.0.2:8787/cdn/v.mp4", allow_insecure=True, allowed_hosts=["127.0.0.1"])


def test_public_literal_address_is_accepted_without_dns() -> None:
    assert validate_url("https://93.184.216.34/v.mp4")


def test_redaction_drops_query_and_credentials() -> None:
    url = "https://u:p@cdn.example.com:8443/videos/x.mp4?Expires=1&Signature=abc#frag"
    assert redact_url(url) == "https://cdn.example.com:8443/videos/x.mp4?<redacted>"
    assert redact_url("https://cdn.example.com/x.mp4") == "https://cdn.example.com/x.mp4"
    text = "failed GET https://cdn/x.mp4?Expires=1&Signature=deadbeef&X-Amz-Signature=cafe"
    assert "deadbeef" not in redact_text(text)
    assert "cafe" not in redact_text(text)
