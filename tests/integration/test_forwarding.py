"""Forwarding to a caller's webhookUrl over real HTTP: signed, bounded, under the URL policy."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aistudios_export.webhooks.forwarding import ATTEMPTS, forward_event
from aistudios_export.webhooks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, verify

pytestmark = pytest.mark.integration

SECRET = "k" * 64
EVENT = {"eventId": "e" * 32, "exportId": "0" * 32, "progress": 100}


class Endpoint:
    """A caller's endpoint on 127.0.0.1: answers the statuses it is given in turn, records requests."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[dict[str, Any]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                endpoint.received.append({"headers": dict(self.headers.items()), "body": body})
                status = endpoint.statuses.pop(0) if len(endpoint.statuses) > 1 else endpoint.statuses[0]
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def endpoint(request: pytest.FixtureRequest) -> Iterator[Endpoint]:
    server = Endpoint(list(getattr(request, "param", [200])))
    yield server
    server.stop()


def _forward(endpoint: Endpoint, path: str = "/hook") -> bool:
    return forward_event(
        endpoint.origin + path, EVENT, SECRET, local_origin=endpoint.origin, sleep=lambda s: None
    )


def test_the_event_arrives_signed_with_its_id(endpoint: Endpoint) -> None:
    assert _forward(endpoint) is True

    [got] = endpoint.received
    assert json.loads(got["body"]) == EVENT
    assert got["headers"][EVENT_ID_HEADER] == EVENT["eventId"]
    assert verify(SECRET, got["headers"][SIGNATURE_HEADER], got["body"])
    assert not verify(
        "another key of sixty-four characters ...........................",
        got["headers"][SIGNATURE_HEADER],
        got["body"],
    )


@pytest.mark.parametrize("endpoint", [[503, 500, 200]], indirect=True)
def test_server_errors_are_tried_again_with_the_same_event_id(endpoint: Endpoint) -> None:
    assert _forward(endpoint) is True

    assert len(endpoint.received) == 3
    assert {r["headers"][EVENT_ID_HEADER] for r in endpoint.received} == {EVENT["eventId"]}
    assert all(verify(SECRET, r["headers"][SIGNATURE_HEADER], r["body"]) for r in endpoint.received)


@pytest.mark.parametrize("endpoint", [[500]], indirect=True)
def test_a_failing_endpoint_gets_a_bounded_number_of_attempts(endpoint: Endpoint) -> None:
    assert _forward(endpoint) is False

    assert len(endpoint.received) == ATTEMPTS


@pytest.mark.parametrize("endpoint", [[400], [302]], indirect=True)
def test_a_refusal_or_a_redirect_is_final(endpoint: Endpoint) -> None:
    assert _forward(endpoint) is False

    assert len(endpoint.received) == 1


def test_a_dead_endpoint_is_given_up_quickly() -> None:
    dead = Endpoint([200])
    dead.stop()

    assert _forward(dead) is False


def test_urls_outside_the_policy_are_never_called(endpoint: Endpoint) -> None:
    # plain http to loopback, but not the one local origin the policy allows
    assert forward_event(endpoint.origin + "/hook", EVENT, SECRET, local_origin=None) is False
    assert forward_event("https://169.254.169.254/latest", EVENT, SECRET) is False
    assert endpoint.received == []
