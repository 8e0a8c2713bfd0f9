"""What docs/openapi.json declares of a request is what the server enforces: each pattern the document
carries is held to the check it describes, both ways (a value it allows is accepted, a value the
server refuses is one it does not allow). Schemathesis found schema-valid requests refused (a
webhookUrl that is not https); tests/integration/test_openapi_contract.py runs it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aistudios_export import RequestValidationError, parse_export_request
from aistudios_export.models import IDEMPOTENCY_KEY
from aistudios_export.request import NOT_BLANK_PATTERN, WEBHOOK_URL_PATTERN
from tests.api_contract import document

pytestmark = pytest.mark.unit
PID = "65fa6b07dca2e367461a2925"
# Unicode White_Space, which pydantic's str_strip_whitespace strips (Rust's str::trim)
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)


def _declared(field: str) -> dict[str, Any]:
    schema: dict[str, Any] = document()["components"]["schemas"]["ExportRequest"]["properties"][field]
    return schema


def _accepted(**fields: Any) -> bool:
    try:
        parse_export_request({"projectId": PID, **fields})
    except RequestValidationError:
        return False
    return True


def test_the_document_declares_each_pattern_the_server_checks() -> None:
    assert _declared("webhookUrl")["pattern"] == WEBHOOK_URL_PATTERN
    assert _declared("webhookUrl")["anyOf"][0]["maxLength"] == 2048
    assert _declared("workspaceId")["pattern"] == NOT_BLANK_PATTERN
    [key] = document()["paths"]["/exports"]["post"]["parameters"]
    assert (key["name"].lower(), key["schema"]["pattern"]) == ("idempotency-key", IDEMPOTENCY_KEY.pattern)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(WEBHOOK_URL_PATTERN, fullmatch=True).filter(lambda url: len(url) <= 2048))
def test_every_webhook_url_the_document_allows_is_accepted(url: str) -> None:
    assert _accepted(webhookUrl=url), url


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",  # not https
        "ftp://example.com/hook",
        "example.com/hook",
        "https://user:secret@example.com/hook",  # credentials
        "https:///hook",  # no host
        "https://localhost/hook",
        "https://hooks.localhost/hook",
        "https://HOOKS.LocalHost:8443/hook",
        "https://metadata.internal/",
        "https://example.internal",
        "https://127.0.0.1/hook",  # an address that is not public (a public one is accepted, undeclared)
        "https://[::1]/hook",
        "https://10.0.0.1/hook",
        "https://example.com:65536/hook",  # no such port
        "https://example.com:port/hook",
    ],
)
def test_a_webhook_url_the_server_refuses_is_one_the_document_does_not_allow(url: str) -> None:
    assert not _accepted(webhookUrl=url)
    assert not re.search(WEBHOOK_URL_PATTERN, url)


@pytest.mark.parametrize(
    "url", ["https://example.com", "HTTPS://Hooks.Example.COM:443/a?b=c#d", "https://a.b.co:1/"]
)
def test_webhook_urls_both_allow(url: str) -> None:
    assert _accepted(webhookUrl=url)
    assert re.search(WEBHOOK_URL_PATTERN, url)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=WHITE_SPACE, min_size=1, max_size=8), st.text(min_size=1, max_size=3))
def test_a_workspace_id_is_accepted_exactly_when_it_has_a_character_besides_white_space(
    blank: str, word: str
) -> None:
    assert not _accepted(workspaceId=blank)
    assert not re.search(NOT_BLANK_PATTERN, blank)
    word = word.strip(WHITE_SPACE)
    if word:
        assert _accepted(workspaceId=blank + word + blank)
        assert re.search(NOT_BLANK_PATTERN, blank + word + blank)
