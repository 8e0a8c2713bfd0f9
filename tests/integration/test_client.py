"""The AI Studios client over real HTTP against the simulator, with injected faults.

Every assertion is on what can be observed from outside the client: return values, the error class
with its ``code``/``message``/``status``/``retry_after``, the simulator's request counters, and what
the client hands to its credential provider, its sleep function and its logger.
"""

from __future__ import annotations

import http.server
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
import requests

from aistudios_export import AIStudiosClient, Progress, RetryPolicy
from aistudios_export.aistudios.credentials import Credentials
from aistudios_export.errors import PermanentUpstreamError, TransientUpstreamError
from aistudios_export.observability import logger as package_logger
from local.simulator import Fault, Simulator, SimulatorConfig
from tests.helpers import new_project_id

pytestmark = pytest.mark.integration

APP_ID = SimulatorConfig.app_id
USER_KEY = SimulatorConfig.user_key
POLICY = RetryPolicy(base_delay=0.01, max_delay=0.05, max_retry_after=2)
MAX_ATTEMPTS = POLICY.max_attempts
PROGRESS_PREFIX = "/api/odin/v3/editor/progress/"
EXPORT_PATH = "/api/odin/v3/editor/project/export"


class CredentialSource:
    """The credential provider production passes in, recording each call's ``force`` flag."""

    def __init__(self, app_id: str = APP_ID, user_key: str = USER_KEY) -> None:
        self.app_id, self.user_key = app_id, user_key
        self.calls: list[bool] = []

    def __call__(self, force: bool) -> Credentials:
        self.calls.append(force)
        return Credentials(self.app_id, self.user_key)


class RecordingSleep:
    """A real sleep that remembers how long it was asked to wait (one entry per retry)."""

    def __init__(self, hook: Callable[[int], None] | None = None) -> None:
        self.waits: list[float] = []
        self._hook = hook

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self._hook is not None:
            self._hook(len(self.waits))
        time.sleep(seconds)


def make_client(
    base_url: str,
    creds: CredentialSource | None = None,
    *,
    read_timeout: float = 2.0,
    connect_timeout: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> AIStudiosClient:
    source = creds if creds is not None else CredentialSource()
    return AIStudiosClient(
        base_url,
        lambda force: source(force),
        retry=POLICY,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        sleep=sleep,
    )


def requests_on(sim: Simulator, route: str) -> int:
    count: int = sim.stats()["requests"].get(route, 0)
    return count


def exports_of(sim: Simulator, project_id: str) -> int:
    count: int = sim.stats()["exports"].get(project_id, 0)
    return count


def closed_port() -> int:
    """A loopback port nothing listens on (bound once to pick it, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def creds() -> CredentialSource:
    return CredentialSource()


@pytest.fixture
def client(simulator: Simulator, creds: CredentialSource) -> AIStudiosClient:
    return make_client(simulator.base_url, creds)


# --------------------------------------------------------------------------------------------- 1


def test_happy_path_export_progress_project_with_one_token(
    simulator: Simulator, client: AIStudiosClient, creds: CredentialSource, project_id: str
) -> None:
    acknowledged = client.export(project_id, workspace_id="ws-42", resolution="720")
    assert acknowledged == project_id

    seen: list[Progress] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        current = client.progress(project_id)
        seen.append(current)
        if current.done or current.failed:
            break
        time.sleep(0.1)

    final = seen[-1]
    assert final.done
    assert not final.failed
    assert final.percent == 100
    assert final.state == "completed"
    assert final.download_url is not None
    assert final.download_url.startswith(f"{simulator.base_url}/cdn/videos/{project_id}/")
    assert "Signature=" in final.download_url
    # the render took a while: earlier polls saw it unfinished, with non-decreasing progress
    assert len(seen) > 1
    assert all(not p.done and p.download_url is None and p.percent < 100 for p in seen[:-1])
    assert [p.percent for p in seen] == sorted(p.percent for p in seen)
    assert {p.state for p in seen[:-1]} <= {"queued", "rendering", "encoding"}

    # what the client asked for, as the simulator's project route reports it
    project = requests.get(
        f"{simulator.base_url}/api/odin/v3/editor/project/{project_id}",
        headers={"Authorization": client.token()},
        timeout=5,
    ).json()["project"]
    assert project["_id"] == project_id
    assert project["state"] == "completed"
    assert project["progress"] == 100
    assert project["resolution"] == "720"
    assert project["workspaceId"] == "ws-42"
    assert project["download_url"].startswith(f"{simulator.base_url}/cdn/videos/{project_id}/")

    stats = simulator.stats()
    assert stats["tokens_issued"] == 1
    assert stats["requests"]["token"] == 1
    assert stats["exports"] == {project_id: 1}
    assert stats["polls"] == {project_id: len(seen)}
    assert stats["project_gets"] == {project_id: 1}
    assert creds.calls == [False]


def test_export_returns_the_acknowledged_project_id(simulator: Simulator, client: AIStudiosClient) -> None:
    upper = new_project_id().upper()
    assert client.export(upper) == upper.lower()
    assert exports_of(simulator, upper.lower()) == 1
    assert client.progress(upper).state in ("queued", "rendering")


# --------------------------------------------------------------------------------------------- 2


def test_token_is_cached_across_many_calls(
    simulator: Simulator, client: AIStudiosClient, creds: CredentialSource, project_id: str
) -> None:
    first = client.token()
    client.export(project_id)
    for _ in range(10):
        client.progress(project_id)
    assert client.token() == first

    stats = simulator.stats()
    assert stats["tokens_issued"] == 1
    assert stats["requests"]["token"] == 1
    assert stats["polls"][project_id] == 10
    assert creds.calls == [False]


@pytest.mark.parametrize("how", ["expire_tokens()", "expire_tokens fault on progress"])
def test_expired_token_is_refreshed_exactly_once(
    simulator: Simulator, client: AIStudiosClient, creds: CredentialSource, project_id: str, how: str
) -> None:
    client.export(project_id)
    client.progress(project_id)
    old = client.token()
    before = requests_on(simulator, "progress")

    if how == "expire_tokens()":
        simulator.expire_tokens()
    else:
        simulator.inject(Fault("expire_tokens", route="progress", times=1))

    result = client.progress(project_id)
    assert isinstance(result, Progress)
    assert result.state in ("queued", "rendering", "encoding", "completed")
    assert requests_on(simulator, "progress") - before == 2  # the 401, then the retry with the new token
    new = client.token()
    assert new != old
    assert simulator.stats()["tokens_issued"] == 2
    assert creds.calls == [False, True]

    # the new token is cached too: no further refreshes
    client.progress(project_id)
    client.progress(project_id)
    assert client.token() == new
    assert simulator.stats()["tokens_issued"] == 2
    assert creds.calls == [False, True]


def test_concurrent_callers_share_one_refresh(
    simulator: Simulator, client: AIStudiosClient, creds: CredentialSource, project_id: str
) -> None:
    client.export(project_id)
    simulator.expire_tokens()
    workers = 8
    barrier = threading.Barrier(workers)
    results: list[Progress] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def poll() -> None:
        barrier.wait()
        try:
            value = client.progress(project_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            with lock:
                failures.append(exc)
        else:
            with lock:
                results.append(value)

    threads = [threading.Thread(target=poll) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert failures == []
    assert len(results) == workers
    assert simulator.stats()["tokens_issued"] == 2
    assert creds.calls == [False, True]


# --------------------------------------------------------------------------------------------- 3


@pytest.mark.parametrize(
    ("app_id", "user_key"),
    [(APP_ID, "not-the-user-key"), ("not-the-app-id", USER_KEY)],
    ids=["wrong userKey", "wrong appId"],
)
def test_rejected_credentials_are_permanent_without_retry_storm(
    simulator: Simulator, project_id: str, app_id: str, user_key: str
) -> None:
    creds = CredentialSource(app_id, user_key)
    client = make_client(simulator.base_url, creds)

    with pytest.raises(PermanentUpstreamError) as caught:
        client.export(project_id)

    error = caught.value
    assert type(error) is PermanentUpstreamError
    assert error.code == "InvalidCredentials"
    assert error.status == 401
    assert "invalid appId or userKey" in error.message
    assert user_key not in str(error)
    stats = simulator.stats()
    assert stats["tokens_issued"] == 0
    assert stats["requests"].get("token", 0) <= 2
    assert stats["requests"].get("export", 0) == 0
    assert stats["exports"] == {}


def test_missing_credentials_field_is_a_permanent_bad_request(simulator: Simulator, project_id: str) -> None:
    client = make_client(simulator.base_url, CredentialSource(APP_ID, ""))
    with pytest.raises(PermanentUpstreamError) as caught:
        client.progress(project_id)
    assert caught.value.code == "InvalidRequest"
    assert caught.value.status == 400
    assert requests_on(simulator, "token") == 1
    assert simulator.stats()["tokens_issued"] == 0


# --------------------------------------------------------------------------------------------- 4


@pytest.mark.parametrize(
    ("fault", "code", "msg"),
    [
        (Fault("http_status", route="progress", status=401, times=None), "HttpError401", "Unauthorized"),
        (
            Fault(
                "http_status", route="progress", status=403, times=None, code="AuthFailed", msg="bad token"
            ),
            "AuthFailed",
            "bad token",
        ),
        (
            Fault("envelope_error", route="progress", times=None, code="InvalidToken", msg="token expired"),
            "InvalidToken",
            "token expired",
        ),
    ],
    ids=["401", "403 auth", "envelope auth"],
)
def test_fresh_token_rejected_is_transient_once_then_permanent(
    simulator: Simulator,
    client: AIStudiosClient,
    creds: CredentialSource,
    project_id: str,
    fault: Fault,
    code: str,
    msg: str,
) -> None:
    simulator.inject(fault)

    # Another execution environment may have rotated the token: the first rejection is retried.
    with pytest.raises(TransientUpstreamError) as first:
        client.progress(project_id)
    assert first.value.code == "TokenRejected"
    assert first.value.message == f"AI Studios rejected a fresh token: {msg}"
    stats = simulator.stats()
    assert stats["tokens_issued"] == 2
    assert stats["requests"]["token"] == 2
    assert stats["requests"]["progress"] == 2
    assert creds.calls == [False, True]

    with pytest.raises(PermanentUpstreamError) as caught:
        client.progress(project_id)

    error = caught.value
    assert error.code == code
    assert error.status == 401
    assert error.message == f"AI Studios rejected a fresh token: {msg}"
    assert simulator.stats()["tokens_issued"] == 3


def test_a_rotation_elsewhere_costs_one_transient_error_and_nothing_more(
    simulator: Simulator, client: AIStudiosClient, project_id: str
) -> None:
    client.export(project_id)
    simulator.inject(Fault("expire_tokens", route="progress", times=2))

    with pytest.raises(TransientUpstreamError) as caught:
        client.progress(project_id)
    assert caught.value.code == "TokenRejected"
    assert client.progress(project_id).state in ("queued", "rendering", "encoding", "completed")


# --------------------------------------------------------------------------------------------- 5

TRANSIENT_CASES = [
    pytest.param(
        {"kind": "http_status", "status": 429, "retry_after": 0}, "TooManyRequests", "HTTP 429", id="429"
    ),
    pytest.param({"kind": "http_status", "status": 500}, "InternalServerError", "HTTP 500", id="500"),
    pytest.param({"kind": "http_status", "status": 502}, "BadGateway", "HTTP 502", id="502"),
    pytest.param({"kind": "http_status", "status": 503}, "ServiceUnavailable", "HTTP 503", id="503"),
    pytest.param({"kind": "http_status", "status": 504}, "GatewayTimeout", "HTTP 504", id="504"),
    pytest.param({"kind": "reset"}, "ConnectionError", "ConnectionError", id="reset"),
    pytest.param({"kind": "slow", "delay": 0.6}, "ConnectionError", "ReadTimeout", id="slow"),
]


@pytest.mark.parametrize(("spec", "code", "text"), TRANSIENT_CASES)
def test_transient_progress_fault_recovered_within_attempts(
    simulator: Simulator, creds: CredentialSource, project_id: str, spec: dict[str, Any], code: str, text: str
) -> None:
    client = make_client(simulator.base_url, creds, read_timeout=0.3)
    client.export(project_id)
    before = requests_on(simulator, "progress")
    simulator.inject(Fault(route="progress", times=MAX_ATTEMPTS - 1, **spec))

    result = client.progress(project_id)

    assert result.state in ("queued", "rendering", "encoding", "completed")
    assert requests_on(simulator, "progress") - before == MAX_ATTEMPTS
    assert simulator.stats()["tokens_issued"] == 1
    assert creds.calls == [False]


@pytest.mark.parametrize(("spec", "code", "text"), TRANSIENT_CASES)
def test_transient_progress_fault_exhausts_attempts(
    simulator: Simulator, creds: CredentialSource, project_id: str, spec: dict[str, Any], code: str, text: str
) -> None:
    client = make_client(simulator.base_url, creds, read_timeout=0.3)
    client.export(project_id)
    before = requests_on(simulator, "progress")
    simulator.inject(Fault(route="progress", times=None, **spec))

    started = time.monotonic()
    with pytest.raises(TransientUpstreamError) as caught:
        client.progress(project_id)
    elapsed = time.monotonic() - started

    error = caught.value
    assert type(error) is TransientUpstreamError
    assert error.code == code
    assert text in error.message
    assert f"GET {PROGRESS_PREFIX}{project_id}" in error.message
    assert requests_on(simulator, "progress") - before == MAX_ATTEMPTS
    assert elapsed < 5
    assert simulator.stats()["tokens_issued"] == 1

    # the client stays usable once the upstream recovers
    simulator.clear_faults()
    assert client.progress(project_id).percent >= 0


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(
    simulator: Simulator, client: AIStudiosClient, project_id: str, status: int
) -> None:
    client.export(project_id)
    before = requests_on(simulator, "progress")
    # The simulator sends whole seconds (ceil), so Retry-After: 1.
    simulator.inject(Fault("http_status", route="progress", status=status, retry_after=1, times=1))

    started = time.monotonic()
    client.progress(project_id)
    elapsed = time.monotonic() - started

    assert elapsed >= 1.0  # backoff alone would be at most POLICY.max_delay (0.05 s)
    assert elapsed < POLICY.max_retry_after + 1
    assert requests_on(simulator, "progress") - before == 2


# --------------------------------------------------------------------------------------------- 6


@pytest.mark.parametrize(
    ("route", "status", "code"),
    [
        ("progress", 429, "TooManyRequests"),
        ("progress", 503, "ServiceUnavailable"),
        ("export", 429, "TooManyRequests"),
    ],
)
def test_retry_after_beyond_the_cap_raises_at_once(
    simulator: Simulator, client: AIStudiosClient, project_id: str, route: str, status: int, code: str
) -> None:
    client.token()
    simulator.inject(Fault("http_status", route=route, status=status, retry_after=10, times=None))

    started = time.monotonic()
    with pytest.raises(TransientUpstreamError) as caught:
        client.export(project_id) if route == "export" else client.progress(project_id)
    elapsed = time.monotonic() - started

    assert caught.value.code == code
    assert caught.value.retry_after == 10.0
    assert elapsed < 1.0
    assert requests_on(simulator, route) == 1
    assert exports_of(simulator, project_id) == 0


# --------------------------------------------------------------------------------------------- 7


@pytest.mark.parametrize("route", ["progress", "export"])
def test_envelope_error_is_permanent_and_not_retried(
    simulator: Simulator, client: AIStudiosClient, creds: CredentialSource, project_id: str, route: str
) -> None:
    client.token()
    simulator.inject(Fault("envelope_error", route=route, code="E1234", msg="boom", times=None))
    calls: dict[str, Callable[[str], object]] = {
        "progress": client.progress,
        "export": client.export,
    }
    call = calls[route]

    with pytest.raises(PermanentUpstreamError) as caught:
        call(project_id)

    error = caught.value
    assert type(error) is PermanentUpstreamError
    assert error.code == "E1234"
    assert error.message == "boom"
    assert str(error) == "[E1234] boom"
    assert requests_on(simulator, route) == 1
    assert simulator.stats()["tokens_issued"] == 1  # not mistaken for an auth failure
    assert exports_of(simulator, project_id) == 0
    assert creds.calls == [False]


@pytest.mark.parametrize(
    ("status", "code", "msg"),
    [
        (400, "InvalidParameter", "resolution is odd"),
        (403, "Forbidden", "project belongs to another workspace"),
    ],
)
def test_client_error_status_is_permanent_without_refresh(
    simulator: Simulator, client: AIStudiosClient, project_id: str, status: int, code: str, msg: str
) -> None:
    client.token()
    simulator.inject(Fault("http_status", route="progress", status=status, code=code, msg=msg, times=None))

    with pytest.raises(PermanentUpstreamError) as caught:
        client.progress(project_id)

    assert caught.value.code == code
    assert caught.value.message == msg
    assert caught.value.status == status
    assert requests_on(simulator, "progress") == 1
    assert simulator.stats()["tokens_issued"] == 1


# --------------------------------------------------------------------------------------------- 8


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        pytest.param({"kind": "http_status", "status": 500}, "InternalServerError", id="500"),
        pytest.param({"kind": "http_status", "status": 502}, "BadGateway", id="502"),
        pytest.param({"kind": "http_status", "status": 504}, "GatewayTimeout", id="504"),
        pytest.param({"kind": "reset"}, "ConnectionError", id="reset"),
    ],
)
def test_export_post_is_not_resent_after_it_may_have_reached_the_server(
    simulator: Simulator, client: AIStudiosClient, project_id: str, spec: dict[str, Any], code: str
) -> None:
    client.token()
    simulator.inject(Fault(route="export", times=None, **spec))

    with pytest.raises(TransientUpstreamError) as caught:
        client.export(project_id)

    assert caught.value.code == code
    assert f"POST {EXPORT_PATH}" in caught.value.message
    assert caught.value.maybe_processed
    assert "AI Studios may have acted on it" in caught.value.message  # the error says so
    assert requests_on(simulator, "export") == 1
    assert exports_of(simulator, project_id) == 0


def test_export_read_timeout_is_not_resent(
    simulator: Simulator, creds: CredentialSource, project_id: str
) -> None:
    client = make_client(simulator.base_url, creds, read_timeout=0.3)
    client.token()
    simulator.inject(Fault("slow", route="export", delay=0.6, times=None))

    with pytest.raises(TransientUpstreamError) as caught:
        client.export(project_id)

    assert caught.value.code == "ConnectionError"
    assert "ReadTimeout" in caught.value.message
    assert requests_on(simulator, "export") == 1
    # The slow request did reach the server and started a render: re-sending would start a second one.
    deadline = time.monotonic() + 3
    while exports_of(simulator, project_id) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert exports_of(simulator, project_id) == 1


def test_export_429_is_retried_then_succeeds_once(
    simulator: Simulator, client: AIStudiosClient, project_id: str
) -> None:
    client.token()
    simulator.inject(Fault("http_status", route="export", status=429, retry_after=0, times=2))

    assert client.export(project_id) == project_id

    assert requests_on(simulator, "export") == 3
    assert exports_of(simulator, project_id) == 1


def test_export_503_is_retried_then_succeeds_once(
    simulator: Simulator, client: AIStudiosClient, project_id: str
) -> None:
    """A 503 says the service did not take the request: the POST may go again, one render results."""
    client.token()
    simulator.inject(Fault("http_status", route="export", status=503, times=2))

    assert client.export(project_id) == project_id

    assert requests_on(simulator, "export") == 3
    assert exports_of(simulator, project_id) == 1


def test_export_503_that_lasts_is_not_processed(
    simulator: Simulator, client: AIStudiosClient, project_id: str
) -> None:
    client.token()
    simulator.inject(Fault("http_status", route="export", status=503, times=None))

    with pytest.raises(TransientUpstreamError) as caught:
        client.export(project_id)

    assert caught.value.code == "ServiceUnavailable"
    assert not caught.value.maybe_processed  # the start withdraws the export; the caller tries again
    assert requests_on(simulator, "export") == MAX_ATTEMPTS
    assert exports_of(simulator, project_id) == 0


def test_export_429_exhausts_attempts(simulator: Simulator, client: AIStudiosClient, project_id: str) -> None:
    client.token()
    simulator.inject(Fault("http_status", route="export", status=429, retry_after=0, times=None))

    with pytest.raises(TransientUpstreamError) as caught:
        client.export(project_id)

    assert caught.value.code == "TooManyRequests"
    assert requests_on(simulator, "export") == MAX_ATTEMPTS
    assert exports_of(simulator, project_id) == 0


# --------------------------------------------------------------------------------------------- 9


@pytest.mark.parametrize(
    "bad_id",
    [
        "",
        "abc",
        "65fa6b07dca2e367461a292",
        "65fa6b07dca2e367461a29250",
        "65fa6b07dca2e367461a292g",
        "../" * 8,
    ],
)
@pytest.mark.parametrize("operation", ["export", "progress"])
def test_invalid_project_id_is_rejected_before_any_request(
    simulator: Simulator, client: AIStudiosClient, creds: CredentialSource, bad_id: str, operation: str
) -> None:
    with pytest.raises(PermanentUpstreamError) as caught:
        getattr(client, operation)(bad_id)

    assert caught.value.code == "InvalidProjectId"
    stats = simulator.stats()
    assert stats["requests"] == {}
    assert stats["tokens_issued"] == 0
    assert creds.calls == []


@pytest.mark.parametrize("operation", ["export", "progress"])
def test_missing_project_is_a_permanent_404(creds: CredentialSource, operation: str) -> None:
    missing = new_project_id()
    with Simulator(SimulatorConfig(render_seconds=1.5, missing_projects=frozenset({missing}))) as sim:
        client = make_client(sim.base_url, creds)

        with pytest.raises(PermanentUpstreamError) as caught:
            getattr(client, operation)(missing)

        error = caught.value
        assert error.status == 404
        assert error.code == "ProjectNotFound"
        assert error.message == f"project {missing} not found"
        route = {"export": "export", "progress": "progress"}[operation]
        stats = sim.stats()
        assert stats["requests"][route] == 1
        assert stats["exports"] == {}
        assert stats["tokens_issued"] == 1


# --------------------------------------------------------------------------------------------- 10


def test_export_fail_is_reported_as_failed(
    simulator: Simulator, client: AIStudiosClient, project_id: str
) -> None:
    simulator.inject(Fault("export_fail", project_id=project_id, at_progress=30))
    client.export(project_id)

    deadline = time.monotonic() + 5
    current = client.progress(project_id)
    while not (current.failed or current.done) and time.monotonic() < deadline:
        time.sleep(0.1)
        current = client.progress(project_id)

    assert current.failed
    assert not current.done
    assert current.state == "failed"
    assert current.percent == 30
    assert current.download_url is None


def test_export_stall_never_reaches_100(
    simulator: Simulator, client: AIStudiosClient, project_id: str
) -> None:
    simulator.inject(Fault("export_stall", project_id=project_id, at_progress=30))
    client.export(project_id)

    seen: list[Progress] = []
    deadline = time.monotonic() + simulator.config.render_seconds + 0.6
    while time.monotonic() < deadline:
        seen.append(client.progress(project_id))
        time.sleep(0.1)

    assert len(seen) > 5
    assert all(p.percent <= 30 for p in seen)
    assert all(not p.done and not p.failed and p.download_url is None for p in seen)
    assert seen[-1].percent == 30
    assert seen[-1].state == "rendering"


# --------------------------------------------------------------------------------------------- 11


def test_token_request_to_a_closed_port_is_retried_then_transient() -> None:
    creds = CredentialSource()
    sleep = RecordingSleep()
    client = make_client(f"http://127.0.0.1:{closed_port()}", creds, sleep=sleep)

    with pytest.raises(TransientUpstreamError) as caught:
        client.progress(new_project_id())

    assert caught.value.code == "ConnectionError"
    assert "/auth/token" in caught.value.message
    assert len(sleep.waits) == MAX_ATTEMPTS - 1
    assert creds.calls == [False]  # credentials read once, not once per attempt


@pytest.mark.parametrize("operation", ["progress", "export"])
def test_connection_refused_is_retried_for_every_method(creds: CredentialSource, operation: str) -> None:
    project_id = new_project_id()
    sleep = RecordingSleep()
    with Simulator(SimulatorConfig(render_seconds=1.5)) as sim:
        client = make_client(sim.base_url, creds, sleep=sleep)
        client.token()  # cached, so the calls below go straight to the (soon closed) API
    # the simulator is stopped: its port now refuses connections

    started = time.monotonic()
    with pytest.raises(TransientUpstreamError) as caught:
        getattr(client, operation)(project_id)

    assert caught.value.code == "ConnectionError"
    method = "POST" if operation == "export" else "GET"
    assert caught.value.message.startswith(f"{method} /api/odin/v3/editor/")
    # A refused connection proves nothing was sent, so even the export POST is retried.
    assert len(sleep.waits) == MAX_ATTEMPTS - 1
    assert time.monotonic() - started < 3
    assert creds.calls == [False]


def test_export_refused_then_server_back_is_sent_once(creds: CredentialSource) -> None:
    """The first attempt is refused; before the retry the API comes back on the same port."""
    project_id = new_project_id()
    revived: list[Simulator] = []
    port = 0

    def revive(retry: int) -> None:
        if retry == 1:
            revived.append(Simulator(SimulatorConfig(port=port, render_seconds=1.5)).start())

    with Simulator(SimulatorConfig(render_seconds=1.5)) as first:
        port = first.port
        client = make_client(first.base_url, creds, sleep=RecordingSleep(hook=revive))
        client.token()  # cached; the revived server will not know it
    try:
        assert client.export(project_id) == project_id
        sim = revived[0]
        stats = sim.stats()
        # refused (not counted), then 401 for the unknown token, then the export with a fresh token
        assert stats["requests"]["export"] == 2
        assert stats["exports"] == {project_id: 1}
        assert stats["tokens_issued"] == 1
        assert creds.calls == [False, True]
    finally:
        for sim in revived:
            sim.stop()


# --------------------------------------------------------------------------------------------- 12


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    name = package_logger._logger.name  # the logging.Logger behind the Powertools Logger
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_secrets_never_reach_the_logs(captured_logs: pytest.LogCaptureFixture) -> None:
    user_key = "uk-" + secrets.token_hex(16)
    app_id = "app-" + secrets.token_hex(8)
    project_id = new_project_id()
    with Simulator(SimulatorConfig(render_seconds=1.5, app_id=app_id, user_key=user_key)) as sim:
        client = make_client(sim.base_url, CredentialSource(app_id, user_key))
        tokens = [client.token()]
        sim.inject(Fault("http_status", route="export", status=429, retry_after=0, times=1))
        client.export(project_id)
        sim.inject(Fault("http_status", route="progress", status=503, times=2))
        sim.inject(Fault("reset", route="progress", times=1))
        client.progress(project_id)
        sim.inject(Fault("expire_tokens", route="progress", times=1))
        client.progress(project_id)
        tokens.append(client.token())
        sim.inject(Fault("http_status", route="progress", status=500, times=None))
        with pytest.raises(TransientUpstreamError) as caught:
            client.progress(project_id)
        assert sim.stats()["tokens_issued"] == 2

    assert tokens[0] != tokens[1]
    records = captured_logs.records
    messages = [r.getMessage() for r in records]
    assert sum(m == "retrying AI Studios call" for m in messages) >= 5
    assert "AI Studios token rejected; refreshing once" in messages
    assert "fetched an AI Studios token" in messages

    formatter = package_logger.registered_formatter
    secret_values = [user_key, *tokens]
    for record in records:
        texts = [record.getMessage(), repr(record.__dict__), captured_logs.handler.format(record)]
        if record.name == package_logger._logger.name:
            texts.append(formatter.format(record))
        for text in texts:
            for secret in secret_values:
                assert secret not in text, f"secret leaked in log record {record.name}: {text[:200]}"
    for secret in secret_values:
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value)


# ------------------------------------------------------------------------------- call budget


def test_a_call_ends_within_its_budget_even_when_every_attempt_is_slow(
    simulator: Simulator, project_id: str
) -> None:
    """The budget keeps a poll inside its Lambda timeout (and a POST inside API Gateway's 29 s)."""
    client = AIStudiosClient(
        simulator.base_url,
        lambda _force: Credentials(APP_ID, USER_KEY),
        retry=POLICY,
        connect_timeout=0.5,
        read_timeout=5.0,
        call_budget_seconds=2.0,
    )
    client.token()
    simulator.inject(Fault("slow", route="progress", project_id=project_id, delay=3.0, times=None))

    started = time.monotonic()
    with pytest.raises(TransientUpstreamError):
        client.progress(project_id)

    assert time.monotonic() - started < 2.5
    assert requests_on(simulator, "progress") >= 1


def test_credentials_rotated_in_the_secret_are_picked_up_on_rejection(
    simulator: Simulator, project_id: str
) -> None:
    """A cached secret with an old userKey is read afresh once when AI Studios rejects it."""
    reads: list[bool] = []

    def rotating(force: bool) -> Credentials:
        reads.append(force)
        return Credentials(APP_ID, USER_KEY if force else "old-key")

    client = AIStudiosClient(simulator.base_url, rotating, retry=POLICY)

    assert client.export(project_id) == project_id
    assert reads == [False, True]
    assert simulator.stats()["tokens_issued"] == 1


# --------------------------------------------------------------------------------------------- 13


class _ConnectionLog(http.server.BaseHTTPRequestHandler):
    """A keep-alive AI Studios stand-in that records which client connection carried each request."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[str, str, int]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.seen.append((self.command, self.path, self.client_address[1]))
        data: dict[str, Any] = {"token": "t"} if self.path.endswith("/token") else {"projectId": "x"}
        if "/progress/" in self.path:
            data = {"progress": 10, "state": "rendering"}
        body = json.dumps({"success": True, "data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


def test_the_export_post_never_rides_on_a_pooled_connection(project_id: str) -> None:
    _ConnectionLog.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ConnectionLog)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = make_client(f"http://127.0.0.1:{server.server_port}")
        client.progress(project_id)
        client.progress(project_id)
        client.export(project_id)
        client.progress(project_id)
        client.export(project_id)
    finally:
        server.shutdown()
        server.server_close()
    polls = [port for method, path, port in _ConnectionLog.seen if method == "GET"]
    posts = [port for method, path, port in _ConnectionLog.seen if path.endswith("/project/export")]
    assert len(set(polls)) == 1, "idle-safe GETs reuse the pooled connection"
    assert len(posts) == 2
    assert not set(posts) & set(polls), "an export POST went out on a pooled connection"
    assert posts[0] != posts[1]
