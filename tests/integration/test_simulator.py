"""The AI Studios simulator, driven over real HTTP the way a client written from the AI Studios docs would."""

from __future__ import annotations

import hashlib
import http.client
import itertools
import json
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from local.simulator import (
    Fault,
    Simulator,
    SimulatorConfig,
    synthetic_video_bytes,
    synthetic_video_sha256,
)
from local.simulator.__main__ import build_parser
from local.simulator.throttle import BURST_SECONDS, paced, parse_rate

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_MP4 = REPO_ROOT / "local" / "assets" / "sample.mp4"
PROJECT = "65fa6b07dca2e367461a2925"
OTHER_PROJECT = "65fa6b07dca2e367461a2926"
MISSING_PROJECT = "0123456789abcdef01234567"
TOKEN_PATH = "/api/odin/v3/auth/token"
EXPORT_PATH = "/api/odin/v3/editor/project/export"
PROGRESS_PATH = "/api/odin/v3/editor/progress"
PROJECT_PATH = "/api/odin/v3/editor/project"
TIMEOUT = 5.0

SimFactory = Callable[..., Simulator]


class Client:
    """A minimal AI Studios client, as the documentation's sample code does it."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.base = sim.base_url
        self.token = ""

    def get_token(self, app_id: str = "sim-app-id", user_key: str = "sim-user-key") -> requests.Response:
        response = requests.post(
            self.base + TOKEN_PATH, json={"appId": app_id, "userKey": user_key}, timeout=TIMEOUT
        )
        if response.ok and response.json().get("success"):
            self.token = response.json()["data"]["token"]
        return response

    def login(self) -> Client:
        assert self.get_token().status_code == 200
        return self

    def export(self, project_id: str = PROJECT, **extra: Any) -> requests.Response:
        return requests.post(
            self.base + EXPORT_PATH,
            data=json.dumps({"projectId": project_id, **extra}),
            headers={"Authorization": self.token, "Content-Type": "application/json"},
            timeout=TIMEOUT,
        )

    def progress(self, project_id: str = PROJECT) -> requests.Response:
        return requests.get(
            f"{self.base}{PROGRESS_PATH}/{project_id}", headers={"Authorization": self.token}, timeout=TIMEOUT
        )

    def project(self, project_id: str = PROJECT) -> requests.Response:
        return requests.get(
            f"{self.base}{PROJECT_PATH}/{project_id}", headers={"Authorization": self.token}, timeout=TIMEOUT
        )

    def poll(
        self,
        project_id: str = PROJECT,
        until: Callable[[dict[str, Any]], bool] | None = None,
        limit: float = 10,
    ) -> list[tuple[float, dict[str, Any]]]:
        """Poll progress every 50 ms until ``until(data)`` (default: progress 100); (elapsed, data) samples."""
        done = until or (lambda data: data["progress"] >= 100)
        start = time.monotonic()
        samples: list[tuple[float, dict[str, Any]]] = []
        while time.monotonic() - start < limit:
            response = self.progress(project_id)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["success"] is True
            samples.append((time.monotonic() - start, body["data"]))
            if done(body["data"]):
                return samples
            time.sleep(0.05)
        raise AssertionError(f"export did not finish in {limit}s: {samples[-1]}")

    def finished_url(self, project_id: str = PROJECT) -> str:
        assert self.export(project_id).status_code == 200
        url = self.poll(project_id)[-1][1]["downloadUrl"]
        assert isinstance(url, str)
        return url


@pytest.fixture
def make_sim() -> Iterator[SimFactory]:
    """Start simulators on free ports with config overrides; all are stopped afterwards."""
    started: list[Simulator] = []

    def factory(**overrides: Any) -> Simulator:
        settings: dict[str, Any] = {"render_seconds": 1.5, "seed": 7, "missing_projects": {MISSING_PROJECT}}
        settings.update(overrides)
        settings["missing_projects"] = frozenset(settings["missing_projects"])
        sim = Simulator(SimulatorConfig(**settings)).start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: SimFactory) -> Simulator:
    return make_sim()


@pytest.fixture
def client(sim: Simulator) -> Client:
    return Client(sim).login()


@pytest.fixture
def fast_client(make_sim: SimFactory) -> Client:
    """A logged-in client against a simulator whose renders take 0.3 s."""
    return Client(make_sim(render_seconds=0.3)).login()


def envelope_error(response: requests.Response) -> dict[str, Any]:
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["success"] is False
    assert set(body["error"]) == {"code", "msg"}
    return dict(body["error"])


# --------------------------------------------------------------------------- auth


def test_token_issued_for_valid_credentials_and_rejected_otherwise(sim: Simulator) -> None:
    client = Client(sim)
    response = client.get_token()
    assert response.status_code == 200
    assert response.json()["success"] is True
    assert len(client.token) >= 20

    wrong = client.get_token(user_key="nope")
    assert wrong.status_code == 401
    assert envelope_error(wrong)["code"] == "InvalidCredentials"

    missing = requests.post(sim.base_url + TOKEN_PATH, json={"appId": "sim-app-id"}, timeout=TIMEOUT)
    assert missing.status_code == 400
    envelope_error(missing)

    garbage = requests.post(sim.base_url + TOKEN_PATH, data=b"{not json", timeout=TIMEOUT)
    assert garbage.status_code == 400
    envelope_error(garbage)


def test_editor_routes_require_a_valid_token(sim: Simulator) -> None:
    for headers in ({}, {"Authorization": "not-a-token"}):
        response = requests.get(f"{sim.base_url}{PROGRESS_PATH}/{PROJECT}", headers=headers, timeout=TIMEOUT)
        assert response.status_code == 401
        assert envelope_error(response)["code"] == "InvalidToken"
        response = requests.post(
            sim.base_url + EXPORT_PATH, json={"projectId": PROJECT}, headers=headers, timeout=TIMEOUT
        )
        assert response.status_code == 401

    client = Client(sim).login()
    bearer = requests.get(
        f"{sim.base_url}{PROGRESS_PATH}/{PROJECT}",
        headers={"Authorization": f"Bearer {client.token}"},
        timeout=TIMEOUT,
    )
    assert bearer.status_code == 200


def test_token_expiry(make_sim: SimFactory) -> None:
    client = Client(make_sim(token_ttl_seconds=0.3)).login()
    assert client.progress().status_code == 200
    time.sleep(0.4)
    response = client.progress()
    assert response.status_code == 401
    assert "expired" in envelope_error(response)["msg"]


# --------------------------------------------------------------------------- export and progress


def test_export_validation(client: Client) -> None:
    bad_id = client.export("not-an-object-id")
    assert bad_id.status_code == 400
    envelope_error(bad_id)

    bad_resolution = client.export(PROJECT, resolution="8k")
    assert bad_resolution.status_code == 400
    assert "resolution" in envelope_error(bad_resolution)["msg"]

    missing = client.export(MISSING_PROJECT)
    assert missing.status_code == 404
    assert envelope_error(missing)["code"] == "ProjectNotFound"
    assert client.progress(MISSING_PROJECT).status_code == 404

    bad_webhook = client.export(PROJECT, webhookUrl="ftp://example")
    assert bad_webhook.status_code == 400

    for resolution in ("4k", "1080", "720", "480"):
        response = client.export(PROJECT, resolution=resolution, workspaceId="ws-1")
        assert response.status_code == 200
        assert response.json() == {"success": True, "data": {"projectId": PROJECT}}
    assert client.sim.stats()["exports"] == {PROJECT: 4}


def test_never_exported_project_is_idle(client: Client) -> None:
    assert client.progress(OTHER_PROJECT).json() == {
        "success": True,
        "data": {"progress": 0.0, "state": "idle"},
    }
    project = client.project(OTHER_PROJECT).json()
    assert project["success"] is True
    assert project["project"]["_id"] == OTHER_PROJECT
    assert project["project"]["state"] == "idle"
    assert "download_url" not in project["project"]


def test_progress_is_nonlinear_monotonic_and_completes(client: Client) -> None:
    render_seconds = client.sim.config.render_seconds
    assert client.export().status_code == 200
    samples = client.poll()

    progresses = [data["progress"] for _, data in samples]
    assert progresses == sorted(progresses), "progress must never go down"
    assert progresses[-1] == 100.0
    assert all(0.0 <= p <= 100.0 for p in progresses)
    assert samples[0][1]["state"] == "queued"
    states = {data["state"] for _, data in samples}
    assert {"queued", "rendering", "completed"} <= states

    # Not proportional to time: it sits at 0 while queued, then eases in and out.
    times = [t for t, _ in samples]
    linear_gap = max(abs(p - 100.0 * t / render_seconds) for t, p in zip(times, progresses, strict=True))
    assert linear_gap > 5.0
    assert any(t > 0.05 * render_seconds and p == 0.0 for t, p in zip(times, progresses, strict=True))
    assert len(set(progresses)) > 5

    final = samples[-1][1]
    assert final["state"] == "completed"
    assert final["downloadUrl"].startswith(client.base + "/cdn/videos/")
    assert all("downloadUrl" not in data for _, data in samples[:-1])

    project = client.project().json()
    assert project["success"] is True
    assert "data" not in project
    assert project["project"]["_id"] == PROJECT
    assert project["project"]["progress"] == 100.0
    assert project["project"]["state"] == "completed"
    assert project["project"]["download_url"].startswith(client.base + "/cdn/videos/")
    assert project["project"]["thumbnailUrl"]


def test_export_restarts_render_from_zero(fast_client: Client) -> None:
    fast_client.finished_url()
    assert fast_client.export().status_code == 200
    data = fast_client.progress().json()["data"]
    assert data["progress"] < 100
    assert "downloadUrl" not in data
    assert fast_client.sim.stats()["exports"][PROJECT] == 2


# --------------------------------------------------------------------------- downloads


def test_download_serves_the_sample_mp4(fast_client: Client) -> None:
    url = fast_client.finished_url()
    expected = SAMPLE_MP4.read_bytes()
    response = requests.get(url, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.content == expected
    assert response.content[4:8] == b"ftyp"
    assert response.headers["Content-Type"] == "video/mp4"
    assert response.headers["Content-Length"] == str(len(expected))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Last-Modified"].endswith("GMT")
    etag = response.headers["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert fast_client.sim.video_size() == len(expected)
    assert fast_client.sim.video_sha256() == hashlib.sha256(expected).hexdigest()

    head = requests.head(url, timeout=TIMEOUT)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Length"] == str(len(expected))
    assert head.headers["ETag"] == etag

    again = requests.get(url, timeout=TIMEOUT)
    assert again.headers["ETag"] == etag
    not_modified = requests.get(url, headers={"If-None-Match": etag}, timeout=TIMEOUT)
    assert not_modified.status_code == 304


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [("bytes=10-99", 10, 100), ("bytes=100-", 100, None), ("bytes=-50", -50, None), ("bytes=0-0", 0, 1)],
)
def test_download_ranges(fast_client: Client, range_header: str, start: int, end: int | None) -> None:
    url = fast_client.finished_url()
    expected = SAMPLE_MP4.read_bytes()
    part = expected[start:end]
    response = requests.get(url, headers={"Range": range_header}, timeout=TIMEOUT)
    assert response.status_code == 206
    assert response.content == part
    first = start % len(expected)
    assert response.headers["Content-Range"] == f"bytes {first}-{first + len(part) - 1}/{len(expected)}"
    assert response.headers["Content-Length"] == str(len(part))


def test_unsatisfiable_range_is_416(fast_client: Client) -> None:
    url = fast_client.finished_url()
    size = SAMPLE_MP4.stat().st_size
    response = requests.get(url, headers={"Range": f"bytes={size}-"}, timeout=TIMEOUT)
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{size}"


def test_tampered_download_urls_are_forbidden(fast_client: Client) -> None:
    url = fast_client.finished_url()
    parts = urlsplit(url)
    signature = parts.query.rsplit("Signature=", 1)[1]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    other_path = parts.path.replace(PROJECT, OTHER_PROJECT)
    expires = int(parts.query.split("Expires=")[1].split("&")[0])
    tampered = [
        url.replace(signature, flipped),
        f"{parts.scheme}://{parts.netloc}{other_path}?{parts.query}",
        url.replace(f"Expires={expires}", f"Expires={expires + 3600}"),
        f"{parts.scheme}://{parts.netloc}{parts.path}",
    ]
    for bad in tampered:
        response = requests.get(bad, timeout=TIMEOUT)
        assert response.status_code == 403, bad
        assert b"AccessDenied" in response.content
    assert requests.get(url, timeout=TIMEOUT).status_code == 200


def test_expired_download_url_is_forbidden(make_sim: SimFactory) -> None:
    client = Client(make_sim(render_seconds=0.2, download_ttl_seconds=0.2)).login()
    url = client.finished_url()
    expires = int(urlsplit(url).query.split("Expires=")[1].split("&")[0])
    time.sleep(max(0.0, expires - time.time()) + 0.1)
    response = requests.get(url, timeout=TIMEOUT)
    assert response.status_code == 403
    assert b"expired" in response.content


def test_synthetic_video_body(make_sim: SimFactory) -> None:
    size = 5 * 1024 * 1024 + 123
    client = Client(make_sim(render_seconds=0.2, video_size=size)).login()
    url = client.finished_url()

    digest = hashlib.sha256()
    received = 0
    with requests.get(url, stream=True, timeout=TIMEOUT) as response:
        assert response.status_code == 200
        assert response.headers["Content-Length"] == str(size)
        assert response.headers["Content-Type"] == "video/mp4"
        first = b""
        for chunk in response.iter_content(256 * 1024):
            if not first:
                first = chunk[:32]
            digest.update(chunk)
            received += len(chunk)
    assert received == size
    assert digest.hexdigest() == synthetic_video_sha256(size) == client.sim.video_sha256()
    assert first[4:8] == b"ftyp"
    assert first[28:32] == b"mdat"
    assert int.from_bytes(first[24:28], "big") == size - 24
    assert hashlib.sha256(synthetic_video_bytes(size)).hexdigest() == digest.hexdigest()

    start, end = 2_500_000, 2_600_000
    middle = requests.get(url, headers={"Range": f"bytes={start}-{end - 1}"}, timeout=TIMEOUT)
    assert middle.status_code == 206
    assert middle.content == synthetic_video_bytes(size, start, end - start)
    assert middle.headers["ETag"] == requests.head(url, timeout=TIMEOUT).headers["ETag"]


def test_synthetic_video_bytes_are_deterministic_and_composable() -> None:
    size = 300_000
    whole = synthetic_video_bytes(size)
    assert len(whole) == size
    assert whole == synthetic_video_bytes(size)
    assert whole[100_000:170_001] == synthetic_video_bytes(size, 100_000, 70_001)
    assert synthetic_video_bytes(size, size - 10) == whole[-10:]
    assert synthetic_video_bytes(size, size) == b""
    huge = synthetic_video_bytes(5 * 1024**3, 0, 40)  # > 4 GiB: mdat uses the 64-bit largesize
    assert huge[24:32] == b"\x00\x00\x00\x01mdat"
    assert int.from_bytes(huge[32:40], "big") == 5 * 1024**3 - 24
    with pytest.raises(ValueError, match="at least"):
        synthetic_video_bytes(16)


def top_level_boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every top-level ISO-BMFF box; asserts the boxes tile the file exactly."""
    boxes, pos = [], 0
    while pos < len(data):
        size, kind = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4 : pos + 8]
        header = 8
        if size == 1:
            size, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        assert size >= header, (pos, size, kind)
        boxes.append((kind, data[pos + header : pos + size]))
        pos += size
    assert pos == len(data), "the boxes must end exactly at the end of the file"
    return boxes


def test_renders_share_the_base_video_by_default(fast_client: Client) -> None:
    first = fast_client.finished_url()
    second = fast_client.finished_url()
    assert first != second
    sample = SAMPLE_MP4.read_bytes()
    assert requests.get(first, timeout=TIMEOUT).content == sample
    assert requests.get(second, timeout=TIMEOUT).content == sample
    assert fast_client.sim.render_video(download_url=first).sha256() == hashlib.sha256(sample).hexdigest()
    assert fast_client.sim.video_sha256(PROJECT) == fast_client.sim.video_sha256()


def test_distinct_videos_give_each_render_its_own_valid_mp4(make_sim: SimFactory) -> None:
    client = Client(make_sim(render_seconds=0.3, distinct_videos=True)).login()
    sample = SAMPLE_MP4.read_bytes()
    urls, bodies, etags = [], [], []
    for _ in range(2):
        urls.append(client.finished_url())
        state = client.sim.export_state(PROJECT)
        response = requests.get(urls[-1], timeout=TIMEOUT)
        assert response.status_code == 200
        body = response.content
        bodies.append(body)
        etags.append(response.headers["ETag"])
        assert body[4:8] == b"ftyp"
        assert body.startswith(sample)  # the sample, untouched (so still playable), then one more box
        kind, payload = top_level_boxes(body)[-1]
        assert kind == b"free"
        assert payload.decode() == (
            f"aistudios-simulator render backendTaskId={state['backendTaskId']} "
            f"exportToken={urlsplit(urls[-1]).path.rsplit('/', 1)[1].removesuffix('.mp4')}"
        )
        assert response.headers["Content-Length"] == str(len(body)) == str(len(sample) + 8 + len(payload))
        expected = client.sim.render_video(PROJECT)
        assert expected.backend_task_id == state["backendTaskId"]
        assert (expected.size, expected.sha256()) == (len(body), hashlib.sha256(body).hexdigest())
        assert expected.read() == body
        assert expected.etag == response.headers["ETag"]
        assert client.sim.render_video(backend_task_id=state["backendTaskId"]).read() == body
        assert client.sim.video_sha256(PROJECT) == hashlib.sha256(body).hexdigest()
    assert bodies[0] != bodies[1]
    assert etags[0] != etags[1]

    # Ranges, HEAD and conditional requests are per render, also for the older render's URL.
    for url, body, etag in zip(urls, bodies, etags, strict=True):
        assert client.sim.render_video(download_url=url).read() == body
        tail = requests.get(url, headers={"Range": "bytes=-150"}, timeout=TIMEOUT)
        assert tail.status_code == 206
        assert tail.content == body[-150:]
        assert tail.headers["Content-Range"] == f"bytes {len(body) - 150}-{len(body) - 1}/{len(body)}"
        assert tail.headers["ETag"] == etag
        middle = requests.get(url, headers={"Range": "bytes=100-7999"}, timeout=TIMEOUT)
        assert middle.content == body[100:8000]
        head = requests.head(url, timeout=TIMEOUT)
        assert (head.headers["Content-Length"], head.headers["ETag"]) == (str(len(body)), etag)
        assert requests.get(url, headers={"If-None-Match": etag}, timeout=TIMEOUT).status_code == 304
    cross = requests.get(urls[1], headers={"If-None-Match": etags[0]}, timeout=TIMEOUT)
    assert cross.status_code == 200
    assert cross.content == bodies[1]


def test_old_render_url_keeps_serving_the_old_video_after_a_new_export(make_sim: SimFactory) -> None:
    client = Client(make_sim(render_seconds=0.4, distinct_videos=True)).login()
    old_url = client.finished_url()
    old = client.sim.render_video(download_url=old_url)
    assert client.export().status_code == 200  # a new render replaces the old one...
    assert client.progress().json()["data"]["progress"] < 100
    assert requests.get(old_url, timeout=TIMEOUT).content == old.read()  # ...but its file stays on the CDN
    new_url = client.poll()[-1][1]["downloadUrl"]
    new = client.sim.render_video(PROJECT)
    assert new.backend_task_id != old.backend_task_id
    assert requests.get(new_url, timeout=TIMEOUT).content == new.read() != old.read()
    assert requests.get(old_url, timeout=TIMEOUT).content == old.read()
    client.sim.reset()  # handed-out URLs outlive the simulator's export records, as on a CDN
    assert requests.get(old_url, timeout=TIMEOUT).content == old.read()
    with pytest.raises(KeyError):
        client.sim.render_video(PROJECT)
    with pytest.raises(ValueError, match="exactly one"):
        client.sim.render_video()


@pytest.mark.parametrize("distinct", [False, True])
def test_synthetic_bytes_sent_from_the_spooled_file_are_the_generated_ones(
    make_sim: SimFactory, distinct: bool
) -> None:
    from local.simulator.spool import SEND_STEP

    size = 3 * SEND_STEP + 1000
    client = Client(make_sim(render_seconds=0.2, video_size=size, distinct_videos=distinct)).login()
    url = client.finished_url()
    rendered = client.sim.render_video(download_url=url)
    assert requests.get(url, timeout=TIMEOUT).content == rendered.read()
    # across the header, the file's pieces and (distinct) the identity box at the end
    for first, last in [(0, 0), (0, 31), (30, 40), (31, SEND_STEP + 7), (SEND_STEP - 1, 2 * SEND_STEP),
                        (size - 300, size - 1), (5, size - 1)]:  # fmt: skip
        answer = requests.get(url, headers={"Range": f"bytes={first}-{last}"}, timeout=TIMEOUT)
        assert answer.status_code == 206
        assert answer.content == rendered.read(first, last - first + 1), (first, last)


def test_distinct_synthetic_videos_keep_their_size(make_sim: SimFactory) -> None:
    size = 300_000
    client = Client(make_sim(render_seconds=0.2, video_size=size, distinct_videos=True)).login()
    first, second = client.finished_url(), client.finished_url()
    bodies = [requests.get(url, timeout=TIMEOUT).content for url in (first, second)]
    for url, body in zip((first, second), bodies, strict=True):
        rendered = client.sim.render_video(download_url=url)
        assert len(body) == size == rendered.size
        assert hashlib.sha256(body).hexdigest() == rendered.sha256()
        assert body[4:8] == b"ftyp"
        boxes = top_level_boxes(body)
        assert [kind for kind, _ in boxes] == [b"ftyp", b"mdat", b"free"]
        assert rendered.backend_task_id in boxes[2][1].decode()
        # the same payload as the plain synthetic body, only shortened to make room for the box
        assert body[32 : size - 200] == synthetic_video_bytes(size, 32, size - 232)
        edge = requests.get(url, headers={"Range": f"bytes={size - 200}-{size - 50}"}, timeout=TIMEOUT)
        assert edge.status_code == 206
        assert edge.content == body[size - 200 : size - 49]
    assert bodies[0] != bodies[1]
    assert bodies[0][:-200] == bodies[1][:-200]
    with pytest.raises(ValueError, match="distinct_videos"):
        SimulatorConfig(video_size=100, distinct_videos=True)


# --------------------------------------------------------------------------- webhooks


class _Collector(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.received.append(json.loads(self.rfile.read(length)))  # type: ignore[attr-defined]
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    received: list[dict[str, Any]] = []
    server.received = received  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_webhooks_post_milestones(
    make_sim: SimFactory, webhook_receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    hook_url, received = webhook_receiver
    client = Client(make_sim(render_seconds=0.6)).login()
    assert client.export(webhookUrl=hook_url).status_code == 200
    client.poll()
    deadline = time.monotonic() + 3
    while len(received) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [hook["progress"] for hook in received] == [25, 50, 75, 100]
    assert all("projectId" not in hook for hook in received)
    assert len({hook["backendTaskId"] for hook in received}) == 1
    assert all("download_url" not in hook for hook in received[:-1])
    download = requests.get(received[-1]["download_url"], timeout=TIMEOUT)
    assert download.content == SAMPLE_MP4.read_bytes()
    assert client.sim.stats()["webhooks_sent"] == 4


def test_webhook_failures_are_counted_not_fatal(make_sim: SimFactory) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    client = Client(make_sim(render_seconds=0.3)).login()
    assert client.export(webhookUrl=f"http://127.0.0.1:{dead_port}/hook").status_code == 200
    client.poll()
    deadline = time.monotonic() + 3
    while client.sim.stats()["webhooks_failed"] < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.sim.stats()["webhooks_failed"] == 4
    assert client.sim.stats()["webhooks_sent"] == 0
    assert client.progress().status_code == 200


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_http_status_fault(client: Client, status: int) -> None:
    client.sim.inject(Fault("http_status", route="progress", status=status, retry_after=2))
    response = client.progress()
    assert response.status_code == status
    envelope_error(response)
    if status == 429:
        assert response.headers["Retry-After"] == "2"
    assert client.progress().status_code == 200


def test_429_has_default_retry_after(client: Client) -> None:
    client.sim.inject(Fault("http_status", route="export", status=429))
    response = client.export()
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert client.sim.stats()["exports"] == {}


def test_reset_fault_aborts_the_connection(client: Client) -> None:
    client.sim.inject(Fault("reset", route="export"))
    with pytest.raises(requests.ConnectionError):
        client.export()
    assert client.export().status_code == 200


def test_slow_fault_delays_the_response(client: Client) -> None:
    client.sim.inject(Fault("slow", route="project", delay=0.4))
    start = time.monotonic()
    response = client.project()
    assert time.monotonic() - start >= 0.4
    assert response.status_code == 200
    client.sim.inject(Fault("slow", route="project", delay=0.5))
    with pytest.raises(requests.Timeout):
        requests.get(
            f"{client.base}{PROJECT_PATH}/{PROJECT}", headers={"Authorization": client.token}, timeout=0.1
        )


def test_envelope_error_fault(client: Client) -> None:
    client.sim.inject(Fault("envelope_error", route="export", code="E1234", msg="render farm busy"))
    response = client.export()
    assert response.status_code == 200
    assert response.json() == {"success": False, "error": {"code": "E1234", "msg": "render farm busy"}}


def test_expire_tokens_fault(client: Client) -> None:
    client.sim.inject(Fault("expire_tokens", route="progress"))
    assert client.progress().status_code == 401
    response = client.project()
    assert response.status_code == 401
    assert "expired" in envelope_error(response)["msg"]
    client.login()
    assert client.project().status_code == 200

    client.sim.expire_tokens()
    assert client.progress().status_code == 401


def test_export_fail_fault(make_sim: SimFactory) -> None:
    client = Client(make_sim(render_seconds=0.5)).login()
    client.sim.inject(Fault("export_fail", project_id=PROJECT, at_progress=40))
    assert client.export().status_code == 200
    samples = client.poll(until=lambda data: data["state"] == "failed")
    assert samples[-1][1] == {"progress": 40.0, "state": "failed"}
    time.sleep(0.6)
    assert client.progress().json()["data"] == {"progress": 40.0, "state": "failed"}
    project = client.project().json()["project"]
    assert project["state"] == "failed"
    assert "download_url" not in project
    # The fault was used up by that render: the next export succeeds.
    assert client.finished_url().startswith(client.base)


def test_export_fail_fault_registered_during_render(make_sim: SimFactory) -> None:
    client = Client(make_sim(render_seconds=0.8)).login()
    assert client.export().status_code == 200
    client.sim.inject(Fault("export_fail", project_id=PROJECT, at_progress=60))
    samples = client.poll(until=lambda data: data["state"] == "failed")
    assert samples[-1][1]["progress"] == 60.0
    assert client.sim.export_state(PROJECT)["state"] == "failed"


def test_export_stall_fault(make_sim: SimFactory) -> None:
    client = Client(make_sim(render_seconds=0.4)).login()
    client.sim.inject(Fault("export_stall", at_progress=30, times=None))
    assert client.export().status_code == 200
    time.sleep(0.6)
    assert client.progress().json()["data"] == {"progress": 30.0, "state": "rendering"}
    time.sleep(0.2)
    assert client.progress().json()["data"] == {"progress": 30.0, "state": "rendering"}


def _read_body_until_eof(url: str) -> tuple[int, int]:
    """(declared Content-Length, bytes actually received) of a GET, read with http.client."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIMEOUT)
    try:
        conn.request("GET", f"{parts.path}?{parts.query}")
        response = conn.getresponse()
        declared = int(response.headers["Content-Length"])
        try:
            return declared, len(response.read())
        except http.client.IncompleteRead as exc:
            return declared, len(exc.partial)
    finally:
        conn.close()


def test_download_truncate_fault(fast_client: Client) -> None:
    url = fast_client.finished_url()
    size = SAMPLE_MP4.stat().st_size
    fast_client.sim.inject(Fault("download_truncate", after_bytes=1000))
    assert _read_body_until_eof(url) == (size, 1000)

    fast_client.sim.inject(Fault("download_truncate", after_bytes=1000))
    with requests.get(url, stream=True, timeout=TIMEOUT) as response:
        assert response.headers["Content-Length"] == str(size)
        with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
            response.content  # noqa: B018 - reading the body is the point
    assert requests.get(url, timeout=TIMEOUT).content == SAMPLE_MP4.read_bytes()


def test_download_403_fault(fast_client: Client) -> None:
    url = fast_client.finished_url()
    fast_client.sim.inject(Fault("download_403"))
    assert requests.get(url, timeout=TIMEOUT).status_code == 403
    assert requests.get(url, timeout=TIMEOUT).status_code == 200


def test_download_redirect_fault(fast_client: Client) -> None:
    url = fast_client.finished_url()
    fast_client.sim.inject(Fault("download_redirect"))
    response = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    original = urlsplit(url)
    assert location.hostname == "127.0.0.2"
    assert location.port == fast_client.sim.port
    assert (location.path, location.query) == (original.path, original.query)


def test_download_huge_fault_announces_a_size_it_does_not_have(fast_client: Client) -> None:
    url = fast_client.finished_url()
    fast_client.sim.inject(Fault("download_huge", times=2))
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIMEOUT)
    try:
        conn.request("GET", f"{parts.path}?{parts.query}")
        response = conn.getresponse()
        assert response.headers["Content-Length"] == str(5 * 1024**4)
        received = b"".join(iter(lambda: response.read(64 * 1024), b""))  # in pieces: 5 TiB is no buffer
    finally:
        conn.close()
    assert received == SAMPLE_MP4.read_bytes()  # all it has, then it hangs up
    ranged = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=TIMEOUT)
    assert ranged.status_code == 206
    assert ranged.headers["Content-Range"] == f"bytes 100-199/{5 * 1024**4}"
    assert ranged.content == SAMPLE_MP4.read_bytes()[100:200]

    fast_client.sim.inject(Fault("download_huge", advertised_bytes=10**12))
    with requests.get(url, stream=True, timeout=TIMEOUT) as response:
        assert response.headers["Content-Length"] == str(10**12)
    assert requests.get(url, timeout=TIMEOUT).content == SAMPLE_MP4.read_bytes()  # one request only


def test_download_endless_fault_announces_no_size_and_never_ends(fast_client: Client) -> None:
    url = fast_client.finished_url()
    sample = SAMPLE_MP4.read_bytes()
    fast_client.sim.inject(Fault("download_endless"))
    with requests.get(url, stream=True, timeout=TIMEOUT) as response:
        assert "Content-Length" not in response.headers
        assert "Accept-Ranges" not in response.headers
        received = b""
        for chunk in response.iter_content(chunk_size=64 * 1024):
            received += chunk
            if len(received) > 10 * len(sample):
                break
    assert received[: 3 * len(sample)] == sample * 3  # the video over and over, until the client hung up

    fast_client.sim.inject(Fault("download_endless", after_bytes=len(sample) + 5))
    assert requests.get(url, timeout=TIMEOUT).content == sample + sample[:5]


def test_advertised_bytes_is_for_download_huge_only() -> None:
    with pytest.raises(ValueError, match="download_huge"):
        Fault("download_truncate", advertised_bytes=10)
    with pytest.raises(ValueError, match=">= 1"):
        Fault("download_huge", advertised_bytes=0)
    assert Fault.from_spec("download_huge:advertised_bytes=1000").advertised_bytes == 1000


# --------------------------------------------------------------------------- bandwidth cap


def _timed_get(url: str, byte_range: tuple[int, int] | None = None) -> tuple[float, bytes]:
    """(seconds until the whole body has arrived, body) of one GET on its own connection."""
    headers = {} if byte_range is None else {"Range": f"bytes={byte_range[0]}-{byte_range[1] - 1}"}
    started = time.perf_counter()
    response = requests.get(url, headers=headers, timeout=TIMEOUT)
    body = response.content
    elapsed = time.perf_counter() - started
    assert response.status_code == (200 if byte_range is None else 206)
    return elapsed, body


def test_download_rate_caps_each_connection_on_its_own(make_sim: SimFactory) -> None:
    size, rate = 4_000_000, 4_000_000.0  # 2 MB at 4 MB/s: 0.5 s per connection
    client = Client(make_sim(render_seconds=0.2, video_size=size, download_bytes_per_second=rate)).login()
    url = client.finished_url()
    half = size // 2

    alone, first_half = _timed_get(url, (0, half))
    assert first_half == synthetic_video_bytes(size, 0, half)
    assert 0.4 <= alone <= 1.2, alone  # ~half / rate

    # Two ranged GETs at once: each connection has its own cap, so together they take about as long
    # as one (a cap shared by the connections would need ~1.0 s).
    results: dict[int, tuple[float, bytes]] = {}
    ranges = {0: (0, half), 1: (half, size)}
    threads = [
        threading.Thread(target=lambda i=i: results.__setitem__(i, _timed_get(url, ranges[i])))
        for i in ranges
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    together = time.perf_counter() - started
    assert set(results) == {0, 1}
    assert hashlib.sha256(results[0][1] + results[1][1]).hexdigest() == client.sim.video_sha256()
    assert all(elapsed >= 0.4 for elapsed, _ in results.values()), results.keys()
    assert together <= 0.8, together

    # HEAD is not paced, and the cap limits the whole body too (4 MB: ~1 s).
    started = time.perf_counter()
    assert requests.head(url, timeout=TIMEOUT).headers["Content-Length"] == str(size)
    assert time.perf_counter() - started < 0.3
    whole, body = _timed_get(url)
    assert len(body) == size
    assert 0.85 <= whole <= 2.0, whole


def test_paced_chunks_follow_the_rate_with_a_small_burst() -> None:
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    chunks = [b"x" * 1000] * 4
    out = list(paced(chunks, 10_000.0, clock=lambda: now[0], sleep=sleep))
    assert out == chunks
    assert sleeps == pytest.approx([0.1, 0.1, 0.1, 0.1])  # 4000 bytes at 10 kB/s: 0.4 s

    # A reader that stalls 1 s catches up at most BURST_SECONDS, then the rate holds again.
    released = []
    for _chunk in paced(chunks, 10_000.0, clock=lambda: now[0], sleep=sleep):
        released.append(now[0])
        if len(released) == 1:
            now[0] += 1.0
    gaps = [b - a for a, b in itertools.pairwise(released)]
    assert gaps == pytest.approx([1.0 + 0.1 - BURST_SECONDS, 0.1, 0.1])
    assert list(paced(chunks, None)) == chunks


def test_download_rate_parsing_config_and_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_rate("25MB") == parse_rate("25 mb/s") == parse_rate("25M") == 25_000_000
    assert parse_rate("25MiB") == 25 * 1024 * 1024
    assert parse_rate("800KB") == 800_000
    assert parse_rate("1.5GiB") == 1.5 * 1024**3
    assert parse_rate("4000000") == 4_000_000
    assert parse_rate("0") is parse_rate("none") is parse_rate("") is parse_rate("unlimited") is None
    for bad in ("25XB", "fast", "-5MB", "MB"):
        with pytest.raises(ValueError, match="not a rate"):
            parse_rate(bad)
    assert SimulatorConfig().download_bytes_per_second is None
    for bad_rate in (0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="download_bytes_per_second"):
            SimulatorConfig(download_bytes_per_second=bad_rate)
    assert build_parser().parse_args(["--download-rate", "25MB"]).download_rate == 25_000_000
    monkeypatch.delenv("DOWNLOAD_RATE", raising=False)
    assert build_parser().parse_args([]).download_rate is None
    monkeypatch.setenv("DOWNLOAD_RATE", "2MiB/s")
    assert build_parser().parse_args([]).download_rate == 2 * 1024 * 1024


def test_fault_fires_exactly_times(client: Client) -> None:
    client.sim.inject(Fault("http_status", route="progress", status=503, times=2))
    codes = [client.progress().status_code for _ in range(4)]
    assert codes == [503, 503, 200, 200]
    assert client.sim.stats()["faults_triggered"] == 2


def test_fault_scoped_to_one_project(client: Client) -> None:
    client.sim.inject(Fault("http_status", route="any", project_id=OTHER_PROJECT, status=500, times=None))
    assert client.progress(PROJECT).status_code == 200
    assert client.export(PROJECT).status_code == 200
    assert client.progress(OTHER_PROJECT).status_code == 500
    assert client.export(OTHER_PROJECT).status_code == 500
    assert client.progress(OTHER_PROJECT).status_code == 500
    client.sim.clear_faults()
    assert client.progress(OTHER_PROJECT).status_code == 200


def test_admin_routes(client: Client) -> None:
    base = client.base
    response = requests.post(
        f"{base}/_sim/faults",
        json={"kind": "http_status", "route": "token", "status": 503, "times": 2},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert response.json()["data"]["fault"]["status"] == 503
    assert [Client(client.sim).get_token().status_code for _ in range(3)] == [503, 503, 200]

    invalid = requests.post(f"{base}/_sim/faults", json={"kind": "meteor_strike"}, timeout=TIMEOUT)
    assert invalid.status_code == 400
    assert envelope_error(invalid)["code"] == "InvalidFault"

    requests.post(f"{base}/_sim/faults", json={"kind": "reset", "times": None}, timeout=TIMEOUT)
    assert len(requests.get(f"{base}/_sim/faults", timeout=TIMEOUT).json()["data"]) == 1
    assert requests.delete(f"{base}/_sim/faults", timeout=TIMEOUT).status_code == 200
    assert client.progress().status_code == 200

    stats = requests.get(f"{base}/_sim/stats", timeout=TIMEOUT).json()["data"]
    assert stats["faults_triggered"] == 2
    assert stats["tokens_issued"] == 2

    assert requests.post(f"{base}/_sim/expire-tokens", timeout=TIMEOUT).status_code == 200
    assert client.progress().status_code == 401
    client.login()

    assert client.export().status_code == 200
    assert requests.post(f"{base}/_sim/reset", timeout=TIMEOUT).status_code == 200
    assert client.sim.stats()["exports"] == {}
    assert client.progress().json()["data"]["state"] == "idle"


def test_unknown_routes_and_methods(sim: Simulator) -> None:
    assert requests.get(f"{sim.base_url}/api/odin/v3/nothing", timeout=TIMEOUT).status_code == 404
    response = requests.get(sim.base_url + TOKEN_PATH, timeout=TIMEOUT)
    assert response.status_code == 405
    envelope_error(response)


def test_fault_from_spec() -> None:
    fault = Fault.from_spec("http_status:route=progress,status=503,times=3")
    assert (fault.kind, fault.route, fault.status, fault.times) == ("http_status", "progress", 503, 3)
    assert Fault.from_spec("slow:delay=0.5,times=none").times is None
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault.from_spec("meteor")
    with pytest.raises(ValueError, match="route"):
        Fault.from_spec("reset:route=everywhere")


def test_stale_progress_reports_the_previous_render_then_the_new_one(make_sim: SimFactory) -> None:
    client = Client(make_sim(render_seconds=1.0, distinct_videos=True)).login()
    stale_seconds = 0.8
    client.sim.inject(Fault("stale_progress", project_id=PROJECT, stale_seconds=stale_seconds))
    # No completed render yet: the first export is not affected and the fault stays pending.
    old_url = client.finished_url()
    assert [f.kind for f in client.sim.faults.pending()] == ["stale_progress"]
    old = client.sim.render_video(download_url=old_url)

    requested = time.monotonic()
    assert client.export().status_code == 200
    answered = time.monotonic()
    new = client.sim.render_video(PROJECT)
    assert new.backend_task_id != old.backend_task_id
    assert client.sim.faults.pending() == []
    assert requests.get(f"{client.base}/_sim/exports/{PROJECT}", timeout=TIMEOUT).json()["data"]["stale"]

    stale: list[tuple[float, dict[str, Any]]] = []
    fresh: dict[str, Any] = {}
    while time.monotonic() - requested < stale_seconds + 1.0:
        data = client.progress().json()["data"]
        at = time.monotonic()
        if data["progress"] < 100:
            fresh = data
            break
        stale.append((at, data))
        project = client.project().json()["project"]
        if time.monotonic() - requested < stale_seconds - 0.1:
            assert (project["progress"], project["state"]) == (100, "completed")
            assert client.sim.render_video(download_url=project["download_url"]) == old
        time.sleep(0.05)
    assert fresh, "the progress route never switched to the new render"
    switched = time.monotonic()
    # During the window: the previous render, completed, with a fresh signed URL of ITS video.
    assert len(stale) >= 5
    for at, data in stale:
        assert at - requested < stale_seconds + 0.1
        assert (data["progress"], data["state"]) == (100, "completed")
        assert client.sim.render_video(download_url=data["downloadUrl"]) == old
    assert requests.get(stale[-1][1]["downloadUrl"], timeout=TIMEOUT).content == old.read()
    # Then the new render, already partly done (it started at the export request).
    assert switched - answered >= stale_seconds - 0.05
    assert 0 < fresh["progress"] < 100
    assert fresh["state"] in ("rendering", "encoding")
    assert "downloadUrl" not in fresh
    assert "stale" not in client.sim.export_state(PROJECT)
    assert client.project().json()["project"]["progress"] < 100
    new_url = client.poll()[-1][1]["downloadUrl"]
    assert client.sim.render_video(download_url=new_url) == new
    assert requests.get(new_url, timeout=TIMEOUT).content == new.read() != old.read()
    assert client.sim.stats()["faults_triggered"] == 1
    # Used up: the next export reports its own render at once.
    assert client.export().status_code == 200
    assert client.progress().json()["data"]["progress"] < 100


def test_stale_progress_defaults_and_syntax() -> None:
    fault = Fault.from_spec(f"stale_progress:project_id={PROJECT},stale_seconds=5")
    assert (fault.kind, fault.project_id, fault.stale_seconds, fault.times) == (
        "stale_progress",
        PROJECT,
        5.0,
        1,
    )
    assert fault.is_state_fault
    assert Fault("stale_progress").stale_seconds is None  # 3 s when bound
    with pytest.raises(ValueError, match="stale_progress"):
        Fault("http_status", stale_seconds=1)
    with pytest.raises(ValueError, match="stale_seconds"):
        Fault("stale_progress", stale_seconds=-1)


def test_timed_outage_answers_503_then_recovers(client: Client) -> None:
    window = 0.8
    injected = time.monotonic()
    client.sim.inject(Fault("http_status", route="progress", status=503, for_seconds=window))
    during: list[int] = []
    while time.monotonic() - injected < window - 0.2:
        response = client.progress()
        during.append(response.status_code)
        assert envelope_error(response)["code"] == "ServiceUnavailable"
        time.sleep(0.05)
    assert len(during) >= 5
    assert set(during) == {503}
    assert client.project().status_code == 200  # other routes are not affected
    time.sleep(max(0.0, injected + window + 0.05 - time.monotonic()))
    assert [client.progress().status_code for _ in range(3)] == [200, 200, 200]
    assert client.sim.faults.pending() == []
    assert client.sim.stats()["faults_triggered"] == len(during)


def test_timed_fault_syntax_and_count_cap(client: Client) -> None:
    spec = Fault.from_spec("http_status:route=progress,status=503,for_seconds=10")
    assert (spec.for_seconds, spec.times) == (10.0, None)  # time-bounded: every request in the window
    assert Fault("reset").times == 1
    with pytest.raises(ValueError, match="for_seconds"):
        Fault("reset", for_seconds=0)

    # Both limits: whichever runs out first ends the fault (here: the count).
    response = requests.post(
        f"{client.base}/_sim/faults",
        json={"kind": "http_status", "route": "progress", "status": 503, "for_seconds": 5, "times": 2},
        timeout=TIMEOUT,
    )
    assert response.json()["data"]["fault"]["for_seconds"] == 5
    assert [client.progress().status_code for _ in range(3)] == [503, 503, 200]

    # Via the admin route, with the default count: the window (here: short) ends it.
    requests.post(
        f"{client.base}/_sim/faults",
        json={"kind": "http_status", "route": "progress", "status": 503, "for_seconds": 0.3},
        timeout=TIMEOUT,
    )
    assert [client.progress().status_code for _ in range(2)] == [503, 503]
    time.sleep(0.4)
    assert client.progress().status_code == 200
    assert requests.get(f"{client.base}/_sim/faults", timeout=TIMEOUT).json()["data"] == []


# --------------------------------------------------------------------------- counters


def test_counters(fast_client: Client) -> None:
    url = fast_client.finished_url()
    fast_client.project()
    requests.get(url, timeout=TIMEOUT)
    requests.get(url, headers={"Range": "bytes=0-99"}, timeout=TIMEOUT)
    requests.head(url, timeout=TIMEOUT)
    stats = fast_client.sim.stats()
    assert stats["tokens_issued"] == 1
    assert stats["exports"] == {PROJECT: 1}
    assert stats["polls"][PROJECT] >= 2
    assert stats["project_gets"] == {PROJECT: 1}
    assert stats["downloads"] == 2
    assert stats["download_bytes"] == SAMPLE_MP4.stat().st_size + 100
    assert stats["requests"]["token"] == 1
    assert stats["requests"]["export"] == 1
    assert stats["requests"]["progress"] == stats["polls"][PROJECT]
    assert stats["requests"]["download"] == 3
    assert stats["faults_triggered"] == 0


# --------------------------------------------------------------------------- CLI


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_serves_until_terminated() -> None:
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "local.simulator", "--port", str(port), "--render-seconds", "0.2"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout or []:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        first = lines.get(timeout=15)
        assert first.startswith(f"AI Studios simulator listening on http://127.0.0.1:{port}")
        assert "appId=sim-app-id" in first
        sim_base = f"http://127.0.0.1:{port}"
        token = requests.post(
            sim_base + TOKEN_PATH, json={"appId": "sim-app-id", "userKey": "sim-user-key"}, timeout=TIMEOUT
        ).json()["data"]["token"]
        headers = {"Authorization": token}
        exported = requests.post(
            sim_base + EXPORT_PATH, json={"projectId": PROJECT}, headers=headers, timeout=TIMEOUT
        )
        assert exported.ok
        deadline = time.monotonic() + 5
        data: dict[str, Any] = {}
        while time.monotonic() < deadline and data.get("progress") != 100:
            progress = requests.get(f"{sim_base}{PROGRESS_PATH}/{PROJECT}", headers=headers, timeout=TIMEOUT)
            data = progress.json()["data"]
            time.sleep(0.05)
        assert requests.get(data["downloadUrl"], timeout=TIMEOUT).status_code == 200
    finally:
        proc.terminate()
        try:
            _, stderr = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0
    assert "POST /api/odin/v3/auth/token" in stderr
    assert "/cdn/videos/" in stderr
    assert "?<redacted>" in stderr
    assert token not in stderr
    assert "sim-user-key" not in stderr
    assert "Signature" not in stderr
