"""The CLI's pieces that need no stack: its vocabulary against the layer's, exit codes, error lines,
where the API is found and how requests are signed, the follow loop's patience, plain progress lines."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from rich.console import Console

from aistudios_export.models import FINAL_STATUSES, RESOLUTIONS, ExportStatus
from aistudios_export_cli import exits, output
from aistudios_export_cli.api import api_error
from aistudios_export_cli.endpoint import local_api_url, resolve
from aistudios_export_cli.exits import CliError, Exit
from aistudios_export_cli.follow import PlainLines, follow
from aistudios_export_cli.signing import SigV4, region_of
from aistudios_export_cli.transfer import _verify

pytestmark = pytest.mark.unit

DEPLOYED = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1"


def test_the_cli_speaks_the_layers_vocabulary() -> None:
    assert list(exits.STATUSES) == [s.value for s in ExportStatus]
    assert {s.value for s in FINAL_STATUSES} == exits.FINAL_STATUSES
    assert exits.RESOLUTIONS == RESOLUTIONS


def test_each_ending_has_its_exit_code() -> None:
    codes = {status: exits.exit_for_status(status) for status in exits.STATUSES}
    assert codes == {
        "REQUESTED": 0,
        "RENDERING": 0,
        "DELIVERING": 0,
        "SUCCEEDED": 0,
        "FAILED": 1,
        "TIMED_OUT": 3,
        "CANCELLED": 4,
    }
    assert [exits.exit_for_http(s) for s in (400, 403, 404, 409, 422, 429, 502, 503)] == [
        2,
        5,
        6,
        7,
        2,
        5,
        5,
        5,
    ]


def test_an_api_error_becomes_one_line_naming_its_code_and_field() -> None:
    busy = api_error(
        409,
        {
            "error": {
                "code": "ProjectBusy",
                "message": "project p already has an active export (e1)",
                "activeExportId": "e1",
            }
        },
        "POST",
        "/exports",
    )
    assert (busy.message, busy.exit_code, busy.code, busy.transient) == (
        "project p already has an active export (e1) [ProjectBusy, HTTP 409]",
        Exit.CONFLICT,
        "ProjectBusy",
        False,
    )
    invalid = api_error(
        400,
        {"error": {"code": "ValidationError", "message": "must be\nhex", "field": "projectId"}},
        "POST",
        "/x",
    )
    assert invalid.message == "projectId: must be hex [ValidationError, HTTP 400]"
    assert invalid.to_json() == {
        "error": {"code": "ValidationError", "message": invalid.message, "field": "projectId"},
        "exitCode": 2,
    }
    gateway = api_error(503, "<html>", "GET", "/exports/x")
    assert (gateway.message, gateway.exit_code, gateway.transient) == (
        "GET /exports/x answered HTTP 503 without an error body",
        Exit.API,
        True,
    )
    assert api_error(
        429, {"error": {"code": "THROTTLED", "message": "Too Many Requests"}}, "GET", "/"
    ).transient


def test_the_region_is_read_from_an_execute_api_host() -> None:
    assert region_of("a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com") == "eu-west-1"
    assert region_of("A1B2C3D4E5.execute-api.cn-north-1.amazonaws.com.cn") == "cn-north-1"
    assert region_of("a1b2c3d4e5.execute-api.us-gov-west-1.amazonaws.com") == "us-gov-west-1"
    assert region_of("api.example.com") is None
    assert region_of("execute-api.eu-west-1.amazonaws.com.evil.example") is None


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))


def test_a_deployed_api_gets_sigv4_signed_requests_for_execute_api_in_its_region(
    aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.auth

    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: datetime(2026, 11, 28, 10, 0, 0))
    endpoint = resolve(DEPLOYED + "/", None, None, None, Path.cwd())
    assert endpoint.url == DEPLOYED
    assert isinstance(endpoint.auth, SigV4)
    assert endpoint.auth.region == "eu-west-1"  # from the host, not the default region (us-east-1)

    def signed(method: str, url: str, **kwargs: Any) -> requests.PreparedRequest:
        prepared: requests.PreparedRequest = requests.Request(
            method, url, auth=endpoint.auth, **kwargs
        ).prepare()
        return prepared

    def signature(request: requests.PreparedRequest) -> str:
        return str(request.headers["Authorization"]).rsplit("Signature=", 1)[1]

    get = signed("GET", f"{DEPLOYED}/exports", params={"status": "FAILED", "limit": "5"})
    authorization = get.headers["Authorization"]
    assert authorization.startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/eu-west-1/execute-api/aws4_request, SignedHeaders="
    )
    signed_headers = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-date", "x-amz-security-token"} <= set(signed_headers)
    assert (get.headers["X-Amz-Date"], get.headers["X-Amz-Security-Token"]) == (
        "20261128T100000Z",
        "session-token",
    )

    same = signed("GET", f"{DEPLOYED}/exports", params={"status": "FAILED", "limit": "5"})
    assert signature(same) == signature(get)
    assert signature(
        signed("GET", f"{DEPLOYED}/exports", params={"status": "FAILED", "limit": "6"})
    ) != signature(get)
    post = signed("POST", f"{DEPLOYED}/exports", json={"projectId": "a" * 24})
    assert signature(signed("POST", f"{DEPLOYED}/exports", json={"projectId": "b" * 24})) != signature(post)


def test_a_custom_domain_is_signed_for_the_configured_region(
    aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = resolve("https://exports.example.com/v1", None, "ap-southeast-2", None, Path.cwd())
    assert isinstance(endpoint.auth, SigV4)
    assert endpoint.auth.region == "ap-southeast-2"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(CliError, match="no AWS region to sign requests") as raised:
        resolve("https://exports.example.com/v1", None, None, None, Path.cwd())
    assert raised.value.exit_code is Exit.USAGE


def test_loopback_is_never_signed_and_plain_http_goes_nowhere_else() -> None:
    for url in ("http://127.0.0.1:3000", "http://localhost:3000/", "http://[::1]:3000"):
        endpoint = resolve(url, None, None, None, Path.cwd())
        assert (endpoint.url, endpoint.auth) == (url.rstrip("/"), None)
    for url, why in (
        ("http://api.example.com", "must be https"),
        ("ftp://127.0.0.1", "is not an http"),
        ("https://", "is not an http"),
    ):
        with pytest.raises(CliError, match=why) as raised:
            resolve(url, None, None, None, Path.cwd())
        assert raised.value.exit_code is Exit.USAGE
    with pytest.raises(CliError, match="not both"):
        resolve("http://127.0.0.1:1", "stack", None, None, Path.cwd())


def test_the_local_stack_is_found_in_the_nearest_endpoints_file(tmp_path: Path) -> None:
    deeper = tmp_path / "a" / "b"
    deeper.mkdir(parents=True)
    with pytest.raises(CliError, match="make up") as raised:
        local_api_url(deeper)
    assert raised.value.exit_code is Exit.USAGE
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "endpoints.json").write_text(json.dumps({"api_url": "http://127.0.0.1:4000"}))
    assert local_api_url(deeper) == (tmp_path / ".local" / "endpoints.json", "http://127.0.0.1:4000")
    endpoint = resolve(None, None, None, None, deeper)
    assert (endpoint.url, endpoint.auth) == ("http://127.0.0.1:4000", None)
    (tmp_path / "a" / ".local").mkdir()
    (tmp_path / "a" / ".local" / "endpoints.json").write_text("{}")
    with pytest.raises(CliError, match="names no api_url"):
        local_api_url(deeper)


class ScriptedApi:
    """Answers GET /exports/{id} from a script: a view, or an error to raise."""

    def __init__(self, *answers: dict[str, Any] | CliError) -> None:
        self.answers = list(answers)
        self.asked = 0

    def get(self, export_id: str) -> dict[str, Any]:
        self.asked += 1
        answer = self.answers.pop(0)
        if isinstance(answer, CliError):
            raise answer
        return answer


class Recorder:
    def __init__(self) -> None:
        self.shown: list[str] = []
        self.warnings: list[str] = []

    def show(self, view: dict[str, Any]) -> None:
        self.shown.append(f"{view['status']} {view['progress']}")

    def warn(self, text: str) -> None:
        self.warnings.append(text)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _view(status: str, progress: float) -> dict[str, Any]:
    return {"exportId": "e", "projectId": "p", "resolution": "1080", "status": status, "progress": progress}


OUTAGE = CliError("cannot reach the API", Exit.API, code="ConnectionError", transient=True)


def test_following_rides_out_a_short_outage_and_stops_at_the_ending() -> None:
    api = ScriptedApi(_view("RENDERING", 10), OUTAGE, OUTAGE, _view("RENDERING", 60), _view("SUCCEEDED", 100))
    display, time = Recorder(), FakeTime()
    final = follow(api, "e", 1.0, display, patience=5, clock=time.clock, sleep=time.sleep)
    assert final["status"] == "SUCCEEDED"
    assert display.shown == ["RENDERING 10", "RENDERING 60", "SUCCEEDED 100"]
    assert display.warnings == ["cannot reach the API; asking again"] * 2
    assert (api.asked, time.now) == (5, 4.0)


def test_following_gives_up_after_its_patience_and_at_once_on_a_lasting_error() -> None:
    time = FakeTime()
    api = ScriptedApi(_view("RENDERING", 10), *[OUTAGE] * 10)
    with pytest.raises(CliError, match="cannot reach"):
        follow(api, "e", 2.0, Recorder(), patience=5, clock=time.clock, sleep=time.sleep)
    assert (api.asked, time.now) == (4, 6.0)  # an answer at 0 s, errors at 2 and 4 s, and at 6 s it gives up
    gone = CliError("no export with this id", Exit.NOT_FOUND, code="ExportNotFound")
    api = ScriptedApi(_view("RENDERING", 10), gone, _view("SUCCEEDED", 100))
    with pytest.raises(CliError, match="no export"):
        follow(api, "e", 2.0, Recorder(), patience=60, clock=time.clock, sleep=time.sleep)
    assert api.asked == 2


def test_plain_lines_show_a_title_then_one_line_per_change() -> None:
    buffer = io.StringIO()
    lines = PlainLines(Console(file=buffer, width=200, highlight=False))
    created = {"createdAt": "2026-11-28T10:00:00Z"}
    for status, progress, at in (
        ("REQUESTED", 0, None),
        ("RENDERING", 40, None),
        ("RENDERING", 40, None),
        ("SUCCEEDED", 100, "2026-11-28T10:01:05.5Z"),
    ):
        lines.show(_view(status, progress) | created | {"finishedAt": at, "upstreamState": "encoding"})
    text = buffer.getvalue().splitlines()
    assert text[0] == "Export e: project p, resolution 1080"
    assert [line.split()[1:3] for line in text[1:]] == [
        ["REQUESTED", "0.0%"],
        ["RENDERING", "40.0%"],
        ["SUCCEEDED", "100.0%"],
    ]
    assert text[-1] == "0:01:05  SUCCEEDED  100.0%  encoding"


def test_endings_and_links_say_what_happened_without_secrets() -> None:
    failed = _view("FAILED", 40) | {
        "createdAt": "2026-11-28T10:00:00Z",
        "finishedAt": "2026-11-28T10:00:07Z",
        "error": {"code": "RenderFailed", "message": "AI Studios failed the render"},
    }
    assert (
        output.ending(failed) == "Export e FAILED after 0:00:07: [RenderFailed] AI Studios failed the render"
    )
    succeeded = _view("SUCCEEDED", 100) | {
        "createdAt": "2026-11-28T10:00:00Z",
        "finishedAt": "2026-11-28T11:02:03Z",
        "video": {"uri": "s3://b/k.mp4", "size": 12_345_678},
    }
    assert output.ending(succeeded) == "Export e SUCCEEDED in 1:02:03: s3://b/k.mp4 (12.3 MB)"
    assert output.safe_url("https://b.s3.amazonaws.com/k.mp4?X-Amz-Signature=abc&X-Amz-Security-Token=t") == (
        "https://b.s3.amazonaws.com/k.mp4"
    )
    assert [output.human_size(n) for n in (999, 1000, 2_500_000_000)] == ["999 bytes", "1.0 kB", "2.5 GB"]


def test_a_download_that_is_not_the_recorded_video_is_refused() -> None:
    _verify(3, "ab", 3, "AB")
    with pytest.raises(CliError, match="downloaded 2 bytes, the export's video has 3") as short:
        _verify(2, "ab", 3, "ab")
    assert short.value.code == "SizeMismatch"
    with pytest.raises(CliError, match="SHA-256") as other:
        _verify(3, "ab", 3, "cd")
    assert (other.value.code, other.value.exit_code) == ("ChecksumMismatch", Exit.API)
