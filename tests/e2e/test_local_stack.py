"""The README's commands, driven from the outside as a user would."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import boto3
import pytest
import requests

from tests.helpers import REPO, new_project_id

pytestmark = pytest.mark.e2e


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AISTUDIOS_"))}
    env["PYTHONPATH"] = "shared"  # what `make demo` / `make up` set
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_make_demo_entry_point_delivers_a_verified_video() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "local", "demo"],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    elapsed = time.monotonic() - started
    output = result.stdout
    assert result.returncode == 0, output + result.stderr
    assert "-> 202" in output
    assert "SUCCEEDED  100.0%" in output
    assert "verified : byte for byte identical to the video AI Studios served" in output
    assert "s3://aistudios-export-local-video-bucket-" in output
    assert '"status": "SUCCEEDED"' in output
    assert 'attributes: {"dedupKey": "' in output
    assert (
        ':SUCCEEDED", "projectId": "65fa6b07dca2e367461a2925", "resolution": "1080", "status": "SUCCEEDED"}'
        in output
    )
    assert elapsed < 90, f"the demo should take well under a minute and a half, took {elapsed:.0f} s"


@pytest.fixture
def running_stack() -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    yield from _make_up({"RENDER_SECONDS": "2"})


@pytest.fixture
def slow_stack() -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """`make up` whose renders take five minutes and whose exports have 15 s before their deadline."""
    yield from _make_up({"RENDER_SECONDS": "300", "EXPORT_DEADLINE_SECONDS": "15"})


@pytest.fixture
def twenty_second_waits() -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """`make up` polling every 20 s (the shortest and longest wait), renders of 30 s, webhooks on."""
    yield from _make_up(
        {"RENDER_SECONDS": "30", "POLL_MIN_WAIT_SECONDS": "20", "POLL_MAX_WAIT_SECONDS": "20"}
    )


def _make_up(variables: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    endpoints_file = REPO / ".local" / "endpoints.json"
    endpoints_file.unlink(missing_ok=True)
    env = _env() | variables
    proc = subprocess.Popen(
        [sys.executable, "-m", "local", "up"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                break
            assert time.monotonic() < deadline, "".join(lines)
        assert endpoints_file.exists(), "".join(lines)
        endpoints = json.loads(endpoints_file.read_text())
        endpoints["_banner"] = "".join(lines)
        # keep reading what it prints, or a full pipe would block it (and its stop) on a write
        printed: list[str] = []
        threading.Thread(target=lambda: printed.extend(proc.stdout or []), daemon=True).start()
        endpoints["_printed"] = printed  # type: ignore[assignment]
        yield proc, endpoints
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_make_up_serves_the_api_and_aws_endpoints(
    running_stack: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    proc, e = running_stack
    for key in (
        "api_url",
        "aws_endpoint_url",
        "region",
        "bucket",
        "topic_arn",
        "queue_url",
        "state_machine_arn",
        "table",
    ):
        assert e[key], key
        assert e[key] in e["_banner"], f"{key} should be printed"
    assert "curl -s -X POST" in e["_banner"]
    assert f"aws --endpoint-url {e['aws_endpoint_url']}" in e["_banner"]
    assert json.loads((REPO / ".local" / "endpoints.json").read_text())["api_url"] == e["api_url"]

    project_id = new_project_id()
    created = requests.post(f"{e['api_url']}/exports", json={"projectId": project_id}, timeout=30)
    assert created.status_code == 202, created.text
    link = created.json()["links"]["self"]
    deadline = time.monotonic() + 60
    while (view := requests.get(link, timeout=10).json())["status"] not in (
        "SUCCEEDED",
        "FAILED",
        "TIMED_OUT",
    ):
        assert time.monotonic() < deadline, view
        time.sleep(0.5)
    assert view["status"] == "SUCCEEDED"

    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=e["region"]
    )
    s3 = session.client("s3", endpoint_url=e["aws_endpoint_url"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=e["bucket"])["Contents"]]
    assert view["video"]["key"] in keys
    sfn = session.client("stepfunctions", endpoint_url=e["aws_endpoint_url"])
    deadline = time.monotonic() + 20  # the record says SUCCEEDED a moment before the execution ends
    while True:
        executions = sfn.list_executions(stateMachineArn=e["state_machine_arn"])["executions"]
        statuses = [x["status"] for x in executions if x["name"] == view["exportId"]]
        if statuses != ["RUNNING"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert statuses == ["SUCCEEDED"]

    aws = shutil.which("aws")
    if aws:  # the copy-paste commands the banner prints, with the real AWS CLI when it is installed
        cli_env = os.environ | {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        listing = subprocess.run(  # noqa: S603
            [
                aws,
                "--endpoint-url",
                e["aws_endpoint_url"],
                "--region",
                e["region"],
                "s3",
                "ls",
                f"s3://{e['bucket']}",
                "--recursive",
            ],
            capture_output=True,
            text=True,
            env=cli_env,
            timeout=60,
            check=True,
        )
        assert view["video"]["key"] in listing.stdout
        runs = subprocess.run(  # noqa: S603
            [
                aws,
                "--endpoint-url",
                e["aws_endpoint_url"],
                "--region",
                e["region"],
                "stepfunctions",
                "list-executions",
                "--state-machine-arn",
                e["state_machine_arn"],
            ],
            capture_output=True,
            text=True,
            env=cli_env,
            timeout=60,
            check=True,
        )
        assert view["exportId"] in runs.stdout

    proc.send_signal(signal.SIGINT)
    try:
        assert proc.wait(timeout=20) == 0
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)  # its threads' stacks, for the report
        time.sleep(2)
        pytest.fail("make up did not stop within 20 s:\n" + "".join(e["_printed"])[-6000:])  # type: ignore[arg-type]
    with pytest.raises(requests.ConnectionError):
        requests.get(e["api_url"] + "/exports/x", timeout=2)
    assert not (REPO / ".local" / "endpoints.json").exists(), "a stopped stack's endpoints are removed"


def test_demo_drives_another_ai_studios_endpoint_given_by_aistudios_url() -> None:
    """AISTUDIOS_URL (+ credentials) replaces the built-in simulator, here by one started like `make sim`."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sim = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "local.simulator",
            "--port",
            str(port),
            "--app-id",
            "other-app",
            "--user-key",
            "other-key",
            "--render-seconds",
            "2",
        ],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert sim.stdout is not None
        assert "listening on" in sim.stdout.readline()
        env = _env() | {
            "AISTUDIOS_URL": f"http://127.0.0.1:{port}",
            "AISTUDIOS_APP_ID": "other-app",
            "AISTUDIOS_USER_KEY": "other-key",
        }
        result = subprocess.run(
            [sys.executable, "-m", "local", "demo"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"AI Studios : http://127.0.0.1:{port} (external endpoint)" in result.stdout
        assert "verified : byte for byte identical" in result.stdout
        stats = requests.get(f"http://127.0.0.1:{port}/_sim/stats", timeout=5).json()["data"]
        assert stats["exports"] == {"65fa6b07dca2e367461a2925": 1}
    finally:
        sim.terminate()
        sim.wait(timeout=10)


def _wait_final(link: str, timeout: float = 90) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while (view := requests.get(link, timeout=10).json())["status"] not in (
        "SUCCEEDED",
        "FAILED",
        "TIMED_OUT",
        "CANCELLED",
    ):
        assert time.monotonic() < deadline, view
        time.sleep(0.5)
    return dict(view)


def test_make_up_holds_one_export_per_project_and_survives_outages_and_stale_progress(
    running_stack: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    import threading

    _, e = running_stack
    api, sim = e["api_url"], e["aistudios_url"]
    s3 = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=e["region"]
    ).client("s3", endpoint_url=e["aws_endpoint_url"])

    def stored(view: dict[str, object]) -> bytes:
        video = view["video"]
        assert isinstance(video, dict)
        body: bytes = s3.get_object(Bucket=video["bucket"], Key=video["key"])["Body"].read()
        return body

    # Two concurrent requests for one project: one render, one 202, one 409 naming the first.
    project_id = new_project_id()
    answers: list[requests.Response] = []
    barrier = threading.Barrier(2)

    def post() -> None:
        barrier.wait()
        answers.append(requests.post(f"{api}/exports", json={"projectId": project_id}, timeout=30))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(a.status_code for a in answers) == [202, 409], [a.text for a in answers]
    accepted = next(a for a in answers if a.status_code == 202).json()
    assert (
        next(a for a in answers if a.status_code == 409).json()["error"]["activeExportId"]
        == accepted["exportId"]
    )
    assert requests.get(f"{sim}/_sim/stats", timeout=10).json()["data"]["exports"][project_id] == 1
    first = _wait_final(accepted["links"]["self"])
    assert first["status"] == "SUCCEEDED"

    # After it ended the project is free again; this time AI Studios reports the old render at 100
    # for a while after the request: the new render is the one delivered.
    fault = {"kind": "stale_progress", "project_id": project_id, "stale_seconds": 2}
    assert requests.post(f"{sim}/_sim/faults", json=fault, timeout=10).status_code in (200, 201)
    again = requests.post(f"{api}/exports", json={"projectId": project_id}, timeout=30)
    assert again.status_code == 202, again.text
    second = _wait_final(again.json()["links"]["self"])
    assert second["status"] == "SUCCEEDED"
    render = requests.get(f"{sim}/_sim/exports/{project_id}", timeout=10).json()["data"]
    assert f"backendTaskId={render['backendTaskId']}".encode() in stored(second)
    assert stored(second) != stored(first)

    # An AI Studios outage longer than every retry: the export waits it out.
    outage_project = new_project_id()
    outage = {
        "kind": "http_status",
        "route": "progress",
        "project_id": outage_project,
        "status": 503,
        "for_seconds": 12,
    }
    assert requests.post(f"{sim}/_sim/faults", json=outage, timeout=10).status_code in (200, 201)
    created = requests.post(f"{api}/exports", json={"projectId": outage_project}, timeout=30)
    assert created.status_code == 202, created.text
    assert _wait_final(created.json()["links"]["self"])["status"] == "SUCCEEDED"

    # A download URL that redirects to another local address: refused, exactly as on AWS.
    ssrf_project = new_project_id()
    redirect = {"kind": "download_redirect", "route": "download", "project_id": ssrf_project, "times": 10}
    assert requests.post(f"{sim}/_sim/faults", json=redirect, timeout=10).status_code in (200, 201)
    created = requests.post(f"{api}/exports", json={"projectId": ssrf_project}, timeout=30)
    refused = _wait_final(created.json()["links"]["self"])
    assert refused["status"] == "FAILED"
    assert refused["error"]["code"] == "UnsafeUrl"

    # An execution stopped by hand, as with `aws stepfunctions stop-execution`: CANCELLED, notified.
    stopped_project = new_project_id()
    stall = {"kind": "export_stall", "project_id": stopped_project, "at_progress": 30}
    assert requests.post(f"{sim}/_sim/faults", json=stall, timeout=10).status_code in (200, 201)
    created = requests.post(f"{api}/exports", json={"projectId": stopped_project}, timeout=30)
    export_id = created.json()["exportId"]
    sfn = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=e["region"]
    ).client("stepfunctions", endpoint_url=e["aws_endpoint_url"])
    time.sleep(1)
    sfn.stop_execution(
        executionArn=e["state_machine_arn"].replace(":stateMachine:", ":execution:") + f":{export_id}"
    )
    cancelled = _wait_final(created.json()["links"]["self"], timeout=30)
    assert cancelled["status"] == "CANCELLED"


def test_make_up_starts_exports_from_request_files_and_events_with_the_readme_commands(
    running_stack: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    """The README's `aws s3 cp` and `aws events put-events` against `make up` (boto3 when the AWS CLI
    is not installed): each ends with a video in S3 and a notification."""
    _, e = running_stack
    for key in (
        "event_bus",
        "requests_prefix",
        "request_queue_url",
        "dead_letter_queue_url",
        "events_queue_url",
    ):
        assert e[key], key
    assert "events put-events --entries file://events/put_export_requested.json" in e["_banner"]
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=e["region"]
    )
    s3, sqs = (session.client(name, endpoint_url=e["aws_endpoint_url"]) for name in ("s3", "sqs"))
    file_projects = [new_project_id(), new_project_id()]
    event_project = "65fa6b07dca2e367461a2925"  # the one events/put_export_requested.json names
    request_file = REPO / ".local" / "e2e-requests.json"
    request_file.write_text(json.dumps([{"projectId": p} for p in file_projects]))
    key = e["requests_prefix"] + "e2e.json"
    aws = shutil.which("aws")
    if aws:
        cli_env = os.environ | {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        base = [aws, "--endpoint-url", e["aws_endpoint_url"], "--region", e["region"]]
        for command in (
            ["s3", "cp", str(request_file), f"s3://{e['bucket']}/{key}"],
            ["events", "put-events", "--entries", "file://events/put_export_requested.json"],
        ):
            subprocess.run(base + command, cwd=REPO, env=cli_env, capture_output=True, timeout=60, check=True)  # noqa: S603
    else:
        s3.put_object(Bucket=e["bucket"], Key=key, Body=request_file.read_bytes())
        entries = json.loads((REPO / "events" / "put_export_requested.json").read_text())
        session.client("events", endpoint_url=e["aws_endpoint_url"]).put_events(Entries=entries)

    notes: dict[str, dict[str, object]] = {}
    deadline = time.monotonic() + 120
    while len(notes) < 3:
        assert time.monotonic() < deadline, notes
        for message in sqs.receive_message(
            QueueUrl=e["queue_url"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            body = json.loads(json.loads(message["Body"])["Message"])
            if body["projectId"] in [*file_projects, event_project]:
                notes[body["projectId"]] = body
    assert {n["status"] for n in notes.values()} == {"SUCCEEDED"}
    assert notes[event_project]["trigger"] == "eventbridge"
    assert {notes[p]["trigger"] for p in file_projects} == {"s3"}
    for note in notes.values():
        video = note["video"]
        assert isinstance(video, dict)
        s3.head_object(Bucket=video["bucket"], Key=video["key"])
    result = json.loads(s3.get_object(Bucket=e["bucket"], Key="results/e2e.json.result.json")["Body"].read())
    assert {entry["exportId"] for entry in result["entries"]} == {notes[p]["exportId"] for p in file_projects}


def test_make_up_ends_an_export_whose_status_change_event_was_lost(
    slow_stack: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    """The safety net's rule disabled (its events lost, as EventBridge may lose one), an execution
    stopped by hand leaves its export open: the reconciler ends it soon after its deadline, notified
    once, and the project can export again."""
    _, e = slow_stack
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=e["region"]
    )
    events = session.client("events", endpoint_url=e["aws_endpoint_url"])
    sfn = session.client("stepfunctions", endpoint_url=e["aws_endpoint_url"])
    sqs = session.client("sqs", endpoint_url=e["aws_endpoint_url"])
    [safety_net] = [r["Name"] for r in events.list_rules()["Rules"] if r["Name"].endswith("-execution-ended")]
    events.disable_rule(Name=safety_net)

    project_id = new_project_id()
    created = requests.post(f"{e['api_url']}/exports", json={"projectId": project_id}, timeout=30)
    assert created.status_code == 202, created.text
    export_id, link = created.json()["exportId"], created.json()["links"]["self"]
    deadline = time.monotonic() + 15  # EXPORT_DEADLINE_SECONDS, counted from a moment later
    arn = e["state_machine_arn"].replace(":stateMachine:", ":execution:") + f":{export_id}"
    sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped by hand")
    time.sleep(3)  # the local stack sees a status change within half a second
    assert requests.get(link, timeout=10).json()["status"] in ("REQUESTED", "RENDERING"), "event not lost"

    while (view := requests.get(link, timeout=10).json())["status"] in ("REQUESTED", "RENDERING"):
        assert time.monotonic() < deadline + 120, "still open two minutes after its deadline"
        time.sleep(1)
    assert view["status"] == "CANCELLED", view
    assert view["error"]["code"] == "ExecutionAborted", view

    notes: list[str] = []
    quiet_until = time.monotonic() + 3
    while time.monotonic() < quiet_until:
        for message in sqs.receive_message(QueueUrl=e["queue_url"], WaitTimeSeconds=1).get("Messages", []):
            notes.append(json.loads(json.loads(message["Body"])["Message"])["exportId"])
            sqs.delete_message(QueueUrl=e["queue_url"], ReceiptHandle=message["ReceiptHandle"])
    assert notes == [export_id]

    again = requests.post(f"{e['api_url']}/exports", json={"projectId": project_id}, timeout=30)
    assert again.status_code == 202, again.text  # the project's lease was released


def test_make_up_meets_a_busy_ai_studios_and_bad_input_and_ends_each_right(
    running_stack: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    """Issue 19's acceptance on `make up`, its simulator configured through its own admin API: a 503
    on the export POST (through the API, a caller retrying on 503, and through an Export Requested
    event), the previous render reported for a while after the request, a video advertising 5 TiB,
    and an empty request file."""
    _, e = running_stack
    api, sim = e["api_url"], e["aistudios_url"]
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=e["region"]
    )
    s3, sqs, events = (session.client(n, endpoint_url=e["aws_endpoint_url"]) for n in ("s3", "sqs", "events"))

    def fault(**spec: object) -> None:
        assert requests.post(f"{sim}/_sim/faults", json=spec, timeout=10).status_code in (200, 201)

    def post(project_id: str) -> requests.Response:
        return requests.post(f"{api}/exports", json={"projectId": project_id}, timeout=30)

    # 503 on every attempt of the POST: the caller is told to retry; its retry meets two more and
    # gets 202 (the client tries again within the call), and the export is delivered.
    busy = new_project_id()
    fault(kind="http_status", route="export", project_id=busy, status=503, times=4)
    refused = post(busy)
    assert refused.status_code == 503, refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    fault(kind="http_status", route="export", project_id=busy, status=503, times=2)
    retried = post(busy)
    assert retried.status_code == 202, retried.text

    # the same through an Export Requested event: the request queue tries again by itself
    queued = new_project_id()
    fault(kind="http_status", route="export", project_id=queued, status=503, times=4)
    answer = events.put_events(
        Entries=[
            {
                "Source": "com.example.e2e",
                "DetailType": "Export Requested",
                "Detail": json.dumps({"projectId": queued}),
                "EventBusName": e["event_bus"],
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0

    # the previous render reported for 5 s after the request: this render's video is delivered
    again = new_project_id()
    first = _wait_final(post(again).json()["links"]["self"])
    assert first["status"] == "SUCCEEDED"
    fault(kind="stale_progress", project_id=again, stale_seconds=5)
    second = post(again)
    assert second.status_code == 202, second.text

    # a video that says it is 5 TiB: refused before any byte, at once
    huge = new_project_id()
    fault(kind="download_huge", project_id=huge)
    too_big = post(huge)
    assert too_big.status_code == 202, too_big.text

    # an empty request file: a result that names the problem, nothing dead-lettered
    s3.put_object(Bucket=e["bucket"], Key=e["requests_prefix"] + "empty.json", Body=b"")

    assert _wait_final(retried.json()["links"]["self"])["status"] == "SUCCEEDED"
    stale = _wait_final(second.json()["links"]["self"])
    assert stale["status"] == "SUCCEEDED", stale
    render = requests.get(f"{sim}/_sim/exports/{again}", timeout=10).json()["data"]
    video = stale["video"]
    assert isinstance(video, dict)
    stored = s3.get_object(Bucket=video["bucket"], Key=video["key"])["Body"].read()
    assert f"backendTaskId={render['backendTaskId']}".encode() in stored  # this render's, not the last
    started = time.monotonic()
    failed = _wait_final(too_big.json()["links"]["self"], timeout=60)
    assert failed["status"] == "FAILED", failed
    error = failed["error"]
    assert isinstance(error, dict)
    assert error["code"] == "VideoTooLarge", failed
    assert time.monotonic() - started < 30

    deadline, delivered = time.monotonic() + 120, False
    while not delivered:
        assert time.monotonic() < deadline, "the queued request was never delivered"
        for message in sqs.receive_message(
            QueueUrl=e["queue_url"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            body = json.loads(json.loads(message["Body"])["Message"])
            delivered = delivered or (body["projectId"] == queued and body["status"] == "SUCCEEDED")
    result = json.loads(
        s3.get_object(Bucket=e["bucket"], Key="results/empty.json.result.json")["Body"].read()
    )
    assert "empty" in json.dumps(result).lower(), result
    dead = sqs.get_queue_attributes(
        QueueUrl=e["dead_letter_queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert dead["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_make_up_sees_a_render_whose_webhooks_arrive_within_3_s_of_its_100(
    twenty_second_waits: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    """With 20 s waits a poll lands up to 20 s after the render's 100; its webhooks (25 and 50
    confirmed before the first poll) make the poll arm its wait, and the confirmed 100 ends it."""
    _, e = twenty_second_waits
    project_id = new_project_id()
    created = requests.post(f"{e['api_url']}/exports", json={"projectId": project_id}, timeout=30)
    assert created.status_code == 202, created.text
    link = created.json()["links"]["self"]
    sim = f"{e['aistudios_url']}/_sim/exports/{project_id}"
    done_at = seen_at = None
    deadline = time.monotonic() + 90
    while seen_at is None:
        assert time.monotonic() < deadline, requests.get(link, timeout=10).json()
        if done_at is None and requests.get(sim, timeout=5).json()["data"]["progress"] >= 100:
            done_at = time.monotonic()
        if requests.get(link, timeout=10).json()["status"] not in ("REQUESTED", "RENDERING"):
            seen_at = time.monotonic()
        time.sleep(0.2)
    assert done_at is not None, "the export moved on before the render reached 100"
    assert seen_at - done_at <= 3, f"seen {seen_at - done_at:.1f} s after the render's 100"
