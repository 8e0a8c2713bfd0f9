"""The local deployment, started once per module: simulator, moto, handlers, local API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local.stack import DeploymentOptions, LocalDeployment

FINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED"}


class Inbox:
    """Reads the queue subscribed to the notification topic and files messages by exportId."""

    def __init__(self, stack: LocalDeployment) -> None:
        self._sqs = stack.client("sqs")
        self._queue = stack.endpoints["queue_url"]
        self._seen: dict[str, list[dict[str, Any]]] = {}

    def for_export(self, export_id: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while not self._seen.get(export_id) and time.monotonic() < deadline:
            self._drain(wait=1)
        self._drain(wait=0)  # pick up duplicates, if any were published
        return self._seen.get(export_id, [])

    def _drain(self, wait: int) -> None:
        response = self._sqs.receive_message(
            QueueUrl=self._queue, MaxNumberOfMessages=10, WaitTimeSeconds=wait
        )
        for message in response.get("Messages", []):
            envelope = json.loads(message["Body"])
            body = json.loads(envelope["Message"])
            attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
            self._seen.setdefault(body["exportId"], []).append({"body": body, "attributes": attributes})
            self._sqs.delete_message(QueueUrl=self._queue, ReceiptHandle=message["ReceiptHandle"])


class Api:
    def __init__(self, stack: LocalDeployment) -> None:
        self.url = stack.endpoints["api_url"]

    def post_export(self, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return requests.post(
            f"{self.url}/exports",
            data=data,
            headers={"Content-Type": "application/json", **(headers or {})},
            timeout=30,
        )

    def get_export(self, export_id: str) -> requests.Response:
        return requests.get(f"{self.url}/exports/{export_id}", timeout=30)

    def wait_final(self, export_id: str, timeout: float = 45.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            view: dict[str, Any] = self.get_export(export_id).json()
            if view["status"] in FINAL:
                return view
            time.sleep(0.25)
        raise AssertionError(f"export {export_id} not final after {timeout} s: {view}")


def deployment(tmp_path_factory: pytest.TempPathFactory, **overrides: Any) -> Iterator[LocalDeployment]:
    """A warm local deployment with quick renders and polls; a module overriding `stack` passes
    what it needs otherwise (a longer deadline, a bigger video, ...)."""
    log_dir: Path = tmp_path_factory.mktemp("lambda-logs")
    settings: dict[str, Any] = {
        "render_seconds": 2.5,
        "export_deadline_seconds": 10,
        "poll_min_wait_seconds": 1,
        "poll_max_wait_seconds": 2,
        "write_endpoints": False,
        "log_dir": log_dir,
    }
    with LocalDeployment(DeploymentOptions(**(settings | overrides))) as local:
        local.warm()
        yield local


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployment]:
    yield from deployment(tmp_path_factory)


@pytest.fixture(scope="module")
def api(stack: LocalDeployment) -> Api:
    return Api(stack)


@pytest.fixture(scope="module")
def inbox(stack: LocalDeployment) -> Inbox:
    return Inbox(stack)
