from __future__ import annotations

import io
import json
import logging

import pytest

from aistudios_export.observability import RedactingFilter, scrub

pytestmark = pytest.mark.unit


def test_scrub_removes_signed_query_values_and_tokens_everywhere() -> None:
    value = {
        "url": "https://cdn.example.com/v.mp4?Expires=1&Signature=abc123",
        "nested": ["Authorization: tok-999", {"token": "tok-999"}],
        "userKey": "uk-1",
        "count": 3,
    }
    text = json.dumps(scrub(value))
    for secret in ("abc123", "tok-999", "uk-1"):
        assert secret not in text
    assert '"count": 3' in text


def test_the_filter_scrubs_messages_and_extra_fields() -> None:
    stream = io.StringIO()
    log = logging.getLogger("redaction-test")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s %(where)s"))
    log.addHandler(handler)
    log.addFilter(RedactingFilter())
    log.propagate = False
    log.warning(
        "fetch https://h/v.mp4?Signature=s3cr3t failed", extra={"where": "https://h/v?X-Amz-Signature=zz"}
    )
    out = stream.getvalue()
    assert "s3cr3t" not in out
    assert "zz" not in out
    assert "?<redacted>" in out
