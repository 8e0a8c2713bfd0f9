"""The webhook tests' shared ground: moto in-process with webhooks on, a signing secret, one open
export with a receiver token; the video's Last-Modified and the forwards, seen without a socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from aistudios_export import Adapters, ExportRecord, ExportStatus, Progress
from aistudios_export.net import modified as modified_module
from aistudios_export.webhooks import forwarding
from aistudios_export.webhooks.receiver import receive_webhook
from aistudios_export.webhooks.tokens import new_token, token_hash
from tests.unit.aws_resources import EXPORT_ID, PROJECT_ID, RecordingAIStudios, Resources
from tests.unit.workflow.conftest import Modified

DONE = Progress(100.0, "complete", "https://cdn.example.com/v.mp4?Signature=x")


class CountingAIStudios(RecordingAIStudios):
    """The recording client, counting progress reads (a refusal must not cost AI Studios a call)."""

    def __init__(self) -> None:
        super().__init__()
        self.progress_reads = 0

    def progress(self, project_id: str, *args: Any, **kwargs: Any) -> Progress:
        self.progress_reads += 1
        return super().progress(project_id, *args, **kwargs)


class Hooks:
    """Resources with webhooks on, a signing secret, and one open export with a receiver token."""

    def __init__(self) -> None:
        secret = boto3.client("secretsmanager").create_secret(Name="signing", SecretString="k" * 64)
        self.res = Resources(WEBHOOKS_ENABLED="true", WEBHOOK_SIGNING_SECRET_ID=secret["ARN"])
        self.aistudios = CountingAIStudios()
        self.adapters = Adapters(self.res.adapters.settings, aistudios=self.aistudios, table=self.res.table)  # type: ignore[arg-type]
        self.token = new_token()

    def seed(self, **fields: Any) -> ExportRecord:
        """The open export; by default its project offered no video before the request, so a 100
        with a download URL is this render's (aistudios/renders.py)."""
        fields.setdefault("previous_video", "")
        record = ExportRecord(
            export_id=EXPORT_ID,
            project_id=PROJECT_ID,
            resolution="1080",
            status=ExportStatus.RENDERING,
            deadline_at="2026-11-27T21:20:00Z",
            webhook_token_hash=token_hash(self.token),
            **{
                "previous_video": "",
                **fields,
            },  # by default the project had no video before: a 100 is this render's
        )
        return self.adapters.store.create(record)

    def post(self, body: Any, token: str | None = None, export_id: str = EXPORT_ID) -> Any:
        raw = body if isinstance(body, str | bytes) else json.dumps(body)
        return receive_webhook(self.adapters, export_id, token or self.token, raw)

    def record(self) -> ExportRecord:
        return self.adapters.store.get(EXPORT_ID)


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    with mock_aws():
        yield Hooks()


@pytest.fixture(autouse=True)
def modified(monkeypatch: pytest.MonkeyPatch) -> Modified:
    """The video's Last-Modified, which confirming a 100 may ask the CDN for: unknown unless set."""
    fake = Modified()
    monkeypatch.setattr(modified_module, "last_modified", fake)
    return fake


class Forwards:
    """What the receiver hands forwarding to sign and send (unit tests open no socket)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, url: str, event: dict[str, Any], secret: str, **_: Any) -> bool:
        self.sent.append((url, event))
        return True


@pytest.fixture
def forwards(monkeypatch: pytest.MonkeyPatch) -> Forwards:
    fake = Forwards()
    monkeypatch.setattr(forwarding, "forward_event", fake)
    return fake
