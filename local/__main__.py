"""`python -m local demo` runs one export end to end; `python -m local up` keeps the stack running."""

from __future__ import annotations

import argparse
import faulthandler
import hashlib
import json
import os
import signal
import sys
import threading
import time
from typing import Any

import requests

from local.stack import DeploymentConfigError, DeploymentOptions, LocalDeployment

DEMO_PROJECT_ID = "65fa6b07dca2e367461a2925"
FINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED")


def say(text: str = "") -> None:
    print(text, flush=True)


def demo(args: argparse.Namespace) -> int:
    options = DeploymentOptions.from_env(
        render_seconds=args.render_seconds, export_deadline_seconds=args.deadline, video_size=args.video_size
    )
    say("Starting the local stack: AI Studios simulator, moto (S3, SNS, SQS, DynamoDB, Step Functions),")
    say("the functions from template.yaml and a local API...")
    started = time.monotonic()
    with LocalDeployment(options) as stack:
        stack.warm()
        e = stack.endpoints
        source = "simulator" if stack.simulator else "external endpoint"
        say(f"  AI Studios : {e['aistudios_url']} ({source})")
        say(f"  API        : {e['api_url']}")
        say(f"  AWS (moto) : {e['aws_endpoint_url']}  ready in {time.monotonic() - started:.1f} s")
        say()
        if stack.simulator is not None:
            # As on the real service, every render is its own file: the check below then proves the
            # stored object is the video of this export's render, not just "a" video of the project.
            stack.simulator.set_distinct_videos(True)
        body = {"projectId": args.project_id, "resolution": args.resolution}
        response = requests.post(f"{e['api_url']}/exports", json=body, timeout=30)
        say(f"POST /exports {json.dumps(body)} -> {response.status_code} {response.text}")
        if response.status_code != 202:
            return 1
        link = response.json()["links"]["self"]
        view = _follow(link, args.timeout)
        say()
        if view["status"] != "SUCCEEDED":
            say(f"Export ended {view['status']}: {json.dumps(view.get('error'))}")
            _print_notification(stack)
            return 1
        ok = _verify(stack, view, args.project_id) & _workflow_succeeded(stack, view["exportId"])
        ok &= _no_call_refused(stack)
        _print_notification(stack)
        say()
        say(
            f"Demo {'succeeded' if ok else 'FAILED verification'} in {time.monotonic() - started:.1f} s; stopping the stack."
        )
        return 0 if ok else 1


def _workflow_succeeded(stack: LocalDeployment, export_id: str) -> bool:
    """The export's execution ended SUCCEEDED too (its record is final a moment before): a step that
    failed after the video was stored (a refused AWS call, say) ends the execution FAILED."""
    sfn = stack.client("stepfunctions")
    arn = stack.endpoints["state_machine_arn"].replace(":stateMachine:", ":execution:") + ":" + export_id
    deadline = time.monotonic() + 30
    while (status := sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
        if time.monotonic() > deadline:
            break
        time.sleep(0.3)
    say(f"Workflow   : execution {export_id} {status}")
    return bool(status == "SUCCEEDED")


def _no_call_refused(stack: LocalDeployment) -> bool:
    """Every AWS call the functions and the state machine made was allowed by their roles
    (template.yaml): a refusal the workflow survived would still be an error in an account."""
    refused = stack.iam.record.denied()
    for call in refused:
        say(f"REFUSED    : {call.principal} {call.action} on {call.resource} ({call.operation})")
    if not refused:
        say(f"IAM        : {stack.iam.record.count()} AWS calls, each allowed by its caller's role")
    return not refused


def _follow(link: str, timeout: float) -> dict[str, Any]:
    """Show live progress from the status API until the export is final."""
    begin = time.monotonic()
    last = None
    while True:
        view: dict[str, Any] = requests.get(link, timeout=30).json()
        line = f"  [{time.monotonic() - begin:5.1f}s] {view['status']:<10} {view['progress']:5.1f}%  {view.get('upstreamState') or ''}"
        if line.split("]", 1)[1] != last:
            say(line)
            last = line.split("]", 1)[1]
        if view["status"] in FINAL:
            return view
        if time.monotonic() - begin > timeout:
            raise SystemExit(f"export not finished after {timeout} s")
        time.sleep(0.5)


def _verify(stack: LocalDeployment, view: dict[str, Any], project_id: str) -> bool:
    """Compare the object in S3 byte for byte with the video of the render this export started."""
    video = view["video"]
    obj = stack.client("s3").get_object(Bucket=video["bucket"], Key=video["key"])
    stored = obj["Body"].read()
    if stack.simulator is not None:
        # The demo's export is the project's newest render: the simulator knows its exact bytes.
        render = stack.simulator.render_video(project_id)
        served, origin = render.read(), f" (render backendTaskId={render.backend_task_id})"
    else:
        served, origin = _served_by_endpoint(stack, project_id), ""
    same = bool(stored == served and hashlib.sha256(stored).hexdigest() == video["sha256"])
    say(f"Video      : {video['uri']}")
    say(
        f"  size     : {video['size']} bytes ({obj['ContentType']}, {obj.get('ServerSideEncryption', 'unencrypted')})"
    )
    say(f"  sha256   : {video['sha256']}")
    say(
        f"  verified : byte for byte identical to the video AI Studios served{origin}"
        if same
        else "  MISMATCH : the stored object differs from the served video"
    )
    say(
        f"  download : {video['downloadUrl'].split('?')[0]}?... (presigned, {video['downloadUrlExpiresInSeconds']} s)"
    )
    return same


def _served_by_endpoint(stack: LocalDeployment, project_id: str) -> bytes:
    """The video an external AI Studios endpoint currently offers for the project."""
    from aistudios_export.aistudios.client import AIStudiosClient
    from aistudios_export.aistudios.credentials import Credentials

    opts = stack.options
    client = AIStudiosClient(
        stack.endpoints["aistudios_url"],
        lambda _force: Credentials(opts.aistudios_app_id, opts.aistudios_user_key),
    )
    source_url = client.progress(project_id).download_url
    assert source_url, "AI Studios no longer offers the download"
    return requests.get(source_url, timeout=60).content


def _print_notification(stack: LocalDeployment) -> None:
    sqs = stack.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=stack.endpoints["queue_url"], WaitTimeSeconds=5, MaxNumberOfMessages=10
    ).get("Messages", [])
    if not messages:
        say("Notification: none received on the queue")
        return
    for message in messages:
        envelope = json.loads(message["Body"])
        attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
        say(f"Notification (SNS -> SQS {stack.endpoints['queue_url'].rsplit('/', 1)[-1]}):")
        say(f"  attributes: {json.dumps(attributes, sort_keys=True)}")
        say("  message   : " + json.dumps(json.loads(envelope["Message"]), indent=2).replace("\n", "\n  "))


def up(args: argparse.Namespace) -> int:
    options = DeploymentOptions.from_env(
        render_seconds=args.render_seconds,
        export_deadline_seconds=args.deadline,
        video_size=args.video_size,
        poll_min_wait_seconds=args.poll_min_wait,
        poll_max_wait_seconds=args.poll_max_wait,
        api_port=args.api_port,
        moto_port=args.aws_port,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Ctrl-C stops everything, even when started by a parent that ignores SIGINT (its children
    # inherit the ignoring, as under a test runner's worker processes)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with LocalDeployment(options) as stack:
        stack.warm()
        e = stack.endpoints
        aws = f"aws --endpoint-url {e['aws_endpoint_url']} --region {e['region']}"
        say("The local stack is running. Endpoints (also in .local/endpoints.json):")
        for key, value in e.items():
            say(f"  {key:<18} {value}")
        say()
        say("Try it (any credentials work locally):")
        say("  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing")
        say(
            f"  curl -s -X POST {e['api_url']}/exports -H 'Content-Type: application/json' "
            f'-d \'{{"projectId": "{DEMO_PROJECT_ID}"}}\''
        )
        say(f"  curl -s {e['api_url']}/exports/<exportId>")
        say(f"  {aws} s3 ls s3://{e['video_bucket']} --recursive   # the videos")
        say(f"  {aws} stepfunctions list-executions --state-machine-arn {e['state_machine_arn']}")
        say(f"  {aws} sqs receive-message --queue-url {e['queue_url']} --wait-time-seconds 5")
        say(f"  {aws} dynamodb scan --table-name {e['table']}")
        say(
            f"  {aws} s3 cp events/request_file.json "
            f"s3://{e['bucket']}/{e['requests_prefix']}batch.json   # results/batch.json.result.json"
        )
        say(
            f"  {aws} events put-events --entries file://events/put_export_requested.json   # bus {e['event_bus']}"
        )
        say(f"  {aws} sqs receive-message --queue-url {e['events_queue_url']}   # lifecycle events")
        say()
        say("Ctrl-C stops everything.")
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        say("Stopping the local stack.")
    return 0


def main(argv: list[str] | None = None) -> int:
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>`: where each thread is
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("demo", "up"):
        p = sub.add_parser(name)
        p.add_argument(
            "--render-seconds",
            type=float,
            default=float(os.environ.get("RENDER_SECONDS", 6 if name == "demo" else 20)),
        )
        p.add_argument(
            "--deadline",
            type=float,
            default=float(os.environ.get("EXPORT_DEADLINE_SECONDS", 120 if name == "demo" else 1800)),
        )
        p.add_argument(
            "--video-size",
            type=int,
            default=int(os.environ["VIDEO_SIZE"]) if os.environ.get("VIDEO_SIZE") else None,
        )
    demo_parser = sub.choices["demo"]
    demo_parser.add_argument("--project-id", default=os.environ.get("DEMO_PROJECT_ID", DEMO_PROJECT_ID))
    demo_parser.add_argument("--resolution", default="1080")
    demo_parser.add_argument("--timeout", type=float, default=180)
    up_parser = sub.choices["up"]
    up_parser.add_argument("--api-port", type=int, default=int(os.environ.get("API_PORT", 0)))
    up_parser.add_argument("--aws-port", type=int, default=int(os.environ.get("AWS_PORT", 0)))
    up_parser.add_argument(
        "--poll-min-wait", type=int, default=int(os.environ.get("POLL_MIN_WAIT_SECONDS", 2))
    )
    up_parser.add_argument(
        "--poll-max-wait", type=int, default=int(os.environ.get("POLL_MAX_WAIT_SECONDS", 10))
    )
    args = parser.parse_args(argv)
    try:
        return demo(args) if args.command == "demo" else up(args)
    except DeploymentConfigError as exc:
        print(exc, file=sys.stderr)  # one line, as for any bad command-line input
        return 1


if __name__ == "__main__":
    sys.exit(main())
