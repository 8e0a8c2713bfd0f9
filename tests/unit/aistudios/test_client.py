"""The client's pure parts: reading answers (envelope), backoff and Retry-After (transport), progress."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from urllib3.exceptions import NewConnectionError

from aistudios_export import PermanentUpstreamError, Progress, RetryPolicy, TransientUpstreamError
from aistudios_export.aistudios.answers import AuthRejected, interpret
from aistudios_export.aistudios.transport import parse_retry_after, reached_server

pytestmark = pytest.mark.unit


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.headers.update(headers or {})
    return response


def test_the_envelope_data_is_returned() -> None:
    assert interpret(answer(200, {"success": True, "data": {"token": "t"}}), "POST", "/p") == {"token": "t"}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {}),
        (403, {"success": False, "error": {"code": "InvalidToken", "msg": "token expired"}}),
        (200, {"success": False, "error": {"code": "AUTH_FAILED", "msg": "bad credential"}}),
    ],
)
def test_rejected_tokens_are_recognised(status: int, body: Any) -> None:
    with pytest.raises(AuthRejected):
        interpret(answer(status, body), "GET", "/p")


def test_429_and_5xx_are_transient_with_their_retry_after() -> None:
    with pytest.raises(TransientUpstreamError) as caught:
        interpret(
            answer(429, {"success": False, "error": {"code": "RATE", "msg": "slow"}}, {"Retry-After": "7"}),
            "GET",
            "/p",
        )
    assert (caught.value.code, caught.value.retry_after) == ("RATE", 7.0)
    with pytest.raises(TransientUpstreamError) as caught:
        interpret(answer(502, b"<html>bad gateway</html>"), "GET", "/p")
    assert caught.value.code == "HTTP502"


def test_other_refusals_are_permanent_with_the_upstream_code() -> None:
    with pytest.raises(PermanentUpstreamError) as caught:
        interpret(
            answer(404, {"success": False, "error": {"code": "ProjectNotFound", "msg": "no"}}), "GET", "/p"
        )
    assert (caught.value.code, caught.value.status, caught.value.message) == ("ProjectNotFound", 404, "no")
    with pytest.raises(PermanentUpstreamError) as caught:
        interpret(answer(200, {"success": False, "error": {"code": "E9", "msg": "quota"}}), "POST", "/p")
    assert caught.value.code == "E9"


def test_a_body_that_is_not_json_is_transient() -> None:
    with pytest.raises(TransientUpstreamError) as caught:
        interpret(answer(200, b"<html>maintenance</html>"), "GET", "/p")
    assert caught.value.code == "MalformedResponse"


def test_retry_after_reads_seconds_and_dates() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=lambda: 1445412500.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412500.0) == 0.0


def test_backoff_is_bounded_and_honours_retry_after_up_to_a_cap() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=4, max_retry_after=30)
    assert all(0 <= policy.delay(n, None) <= 4 for n in range(10) for _ in range(20))
    assert policy.delay(0, 10) >= 10
    assert policy.delay(0, 300) <= 30


def test_only_connect_failures_prove_the_request_never_left() -> None:
    assert not reached_server(requests.ConnectTimeout())
    refused = requests.ConnectionError(type("E", (), {"reason": NewConnectionError(None, "refused")})())
    assert not reached_server(refused)
    assert reached_server(requests.ReadTimeout())
    assert reached_server(requests.ConnectionError("reset by peer"))


def test_progress_is_done_only_at_100_with_a_download_url() -> None:
    assert Progress(100, "complete", "https://cdn/v.mp4").done
    assert not Progress(100, "complete", None).done
    assert not Progress(99.9, "rendering", "https://cdn/v.mp4").done
    assert Progress(40, "Failed").failed
    assert not Progress(40, "rendering").failed


def test_the_project_route_gives_a_name_and_a_thumbnail_when_it_has_them() -> None:
    from aistudios_export.aistudios.answers import ProjectInfo

    answer_body = {
        "success": True,
        "project": {"_id": "x", "name": "Promo", "thumbnailUrl": "https://cdn/t.png"},
    }
    data = interpret(answer(200, answer_body), "GET", "/p")
    assert ProjectInfo.from_data(data) == ProjectInfo("Promo", "https://cdn/t.png")
    assert ProjectInfo.from_data({"data": None}) == ProjectInfo(None)
    assert ProjectInfo.from_data(None) == ProjectInfo(None)
