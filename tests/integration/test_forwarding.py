"""Forwarding to a caller's webhookUrl over real HTTP: signed, bounded as a whole (whatever the
endpoint does, the receiver answers in time), under the URL policy."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from moto import mock_aws

from aistudios_export import Adapters, Settings
from aistudios_export.webhooks.forwarding import ATTEMPTS, BUDGET_SECONDS, forward_event
from aistudios_export.webhooks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, verify
from tests.unit.webhooks.conftest import DONE, Hooks

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


# -- endpoints that would hold the receiver -----------------------------------------------------

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class Stubborn:
    """A caller's endpoint on 127.0.0.1 that reads each request, then: `drip` sends its answer one
    byte a second; `silent` never answers; `endless` sends a 200's headers at once, then its body
    one byte a second. Each connection is held until the answer is out or the endpoint stops."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests = 0
        self._stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self.origin = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._answer, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data and (chunk := conn.recv(4096)):
                data += chunk
            self.requests += 1
            if self.mode == "endless":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n")
            answer = b"x" * 30 if self.mode == "endless" else ANSWER
            for byte in answer if self.mode != "silent" else b"":
                if self._stop.wait(1):
                    return
                with contextlib.suppress(OSError):  # the client gave up
                    conn.sendall(bytes([byte]))
            self._stop.wait()

    def stop(self) -> None:
        self._stop.set()
        self._server.close()
        for thread in self._threads:
            thread.join(timeout=5)


@pytest.fixture
def stubborn(request: pytest.FixtureRequest) -> Iterator[Stubborn]:
    server = Stubborn(request.param)
    yield server
    server.stop()


@pytest.mark.parametrize("stubborn", ["drip", "silent"], indirect=True)
def test_an_endpoint_that_drips_or_never_answers_cannot_stretch_the_budget(stubborn: Stubborn) -> None:
    budget = 3.0
    started = time.monotonic()

    forwarded = forward_event(
        stubborn.origin + "/hook", EVENT, SECRET, local_origin=stubborn.origin, budget_seconds=budget
    )

    took = time.monotonic() - started
    assert forwarded is False
    assert took < budget + 1.5, f"held {took:.1f} s against a {budget} s budget"
    assert stubborn.requests == 1  # the budget left no room for a second attempt


@pytest.mark.parametrize("stubborn", ["endless"], indirect=True)
def test_the_answers_body_is_not_waited_for(stubborn: Stubborn) -> None:
    started = time.monotonic()

    assert forward_event(stubborn.origin + "/hook", EVENT, SECRET, local_origin=stubborn.origin) is True

    assert time.monotonic() - started < 2.0  # its 200 is the answer; the 30 s body is never read


@pytest.fixture
def in_process_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in this process, as the unit tier has it: the receiver's table and secret."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


@pytest.mark.usefixtures("in_process_aws")
@pytest.mark.parametrize("stubborn", ["drip", "silent"], indirect=True)
def test_the_receiver_answers_ai_studios_within_its_budget_whatever_the_callers_endpoint_does(
    stubborn: Stubborn,
) -> None:
    hooks = Hooks()
    settings = Settings.from_env({**hooks.res.env, "LOCAL_HTTP_ORIGIN": stubborn.origin})
    hooks.adapters = Adapters(settings, aistudios=hooks.aistudios, table=hooks.res.table)  # type: ignore[arg-type]
    hooks.seed(user_webhook_url=stubborn.origin + "/hook")
    hooks.aistudios.readings = [DONE]
    slow_read = hooks.aistudios.progress

    def progress_after_4_s(project_id: str, *args: Any, **kwargs: Any) -> Any:
        time.sleep(4)  # AI Studios slow to confirm: the budget counts from the webhook's arrival
        return slow_read(project_id, *args, **kwargs)

    hooks.aistudios.progress = progress_after_4_s  # type: ignore[method-assign]
    started = time.monotonic()

    answer = hooks.post({"progress": 100, "backendTaskId": "t"})

    took = time.monotonic() - started
    assert (answer.status, answer.forwarded) == (202, False)
    assert took < BUDGET_SECONDS + 2, f"the receiver answered after {took:.1f} s"
    assert stubborn.requests in (1, 2)  # what is left of the 12 s after the 4 s read: not three
    assert hooks.record().webhook_confirmed_at is not None
