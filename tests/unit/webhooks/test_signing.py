"""Signatures on forwarded webhooks: what a caller's endpoint verifies."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from aistudios_export.webhooks.signing import signature, signature_header, verify

pytestmark = pytest.mark.unit

SECRET = "s" * 64
BODY = b'{"eventId":"e1","progress":100}'


def test_the_signature_is_hmac_sha256_over_the_timestamp_and_the_body() -> None:
    header = signature_header(SECRET, BODY, now=1_790_000_000)

    expected = hmac.new(SECRET.encode(), b"1790000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1790000000,v1={expected}"
    assert signature(SECRET, 1_790_000_000, BODY) == expected


def test_a_receiver_accepts_a_fresh_signature_of_the_body_it_got() -> None:
    header = signature_header(SECRET, BODY, now=1_790_000_000)

    assert verify(SECRET, header, BODY, now=1_790_000_100)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("another secret of a decent length for the test", BODY, 1_790_000_000),  # wrong key
        (SECRET, BODY.replace(b"100", b"99"), 1_790_000_000),  # body changed
        (SECRET, BODY, 1_790_000_000 + 301),  # replayed after the tolerance
        (SECRET, BODY, 1_790_000_000 - 301),  # from the future
    ],
)
def test_a_receiver_refuses_another_key_another_body_or_an_old_request(
    secret: str, body: bytes, now: int
) -> None:
    header = signature_header(SECRET, BODY, now=1_790_000_000)

    assert not verify(secret, header, body, now=now)


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=00", "t=1790000000", "t=1790000000,v0=00"])
def test_a_malformed_header_never_verifies(header: str) -> None:
    assert not verify(SECRET, header, BODY, now=1_790_000_000)


def test_any_of_several_signatures_may_match_for_key_rotation() -> None:
    good = signature(SECRET, 1_790_000_000, BODY)

    assert verify(SECRET, f"t=1790000000,v1={'0' * 64},v1={good}", BODY, now=1_790_000_000)
