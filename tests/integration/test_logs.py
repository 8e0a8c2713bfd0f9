"""Whole local exports, then every line every function logged: no secret in any of them, and every
line about an export names it.

The functions log at DEBUG and log each event they receive (POWERTOOLS_LOGGER_LOG_EVENT), as an
operator chasing a problem might set them. The exports: one that succeeds and forwards its webhooks
to the caller's own endpoint (its AI Studios token expiring on the way), one whose render fails, one
cancelled through the API, one queued by an Export Requested event; the API calls are signed as a
caller with temporary credentials would sign them, and one webhook comes with a forged token."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from local.simulator import Fault
from local.stack import LocalDeployment
from tests.helpers import new_project_id
from tests.integration.conftest import Api, deployment

pytestmark = pytest.mark.integration

# The steps of the state machine, the receiver and the queue consumer: all they log is about one export.
ABOUT_ONE_EXPORT = (
    "PollExportFunction",
    "DeliverExportFunction",
    "RecordFailureFunction",
    "ReceiveWebhookFunction",
    "StartRequestedExportsFunction",
)
SIGNED_QUERY = ("Signature=", "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token=", "?Expires=")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployment]:
    yield from deployment(
        tmp_path_factory,
        render_seconds=4,
        export_deadline_seconds=90,
        poll_min_wait_seconds=1,
        poll_max_wait_seconds=2,
        function_env={"POWERTOOLS_LOG_LEVEL": "DEBUG", "POWERTOOLS_LOGGER_LOG_EVENT": "true"},
    )


class Caller:
    """API calls signed the way a caller with temporary credentials signs them (the local API does
    not check signatures, but the functions see the headers)."""

    def __init__(self, api: Api) -> None:
        self.url = api.url
        self.signature = secrets.token_hex(32)
        self.session_token = "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(48)
        self.headers = {
            "Authorization": "AWS4-HMAC-SHA256 Credential=ASIA5EXAMPLECALLER/20261128/us-east-1/execute-api/"
            f"aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature={self.signature}",
            "X-Amz-Date": "20261128T100000Z",
            "X-Amz-Security-Token": self.session_token,
        }

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return requests.request(
            method,
            self.url + path,
            data=None if body is None else json.dumps(body),
            headers={"Content-Type": "application/json", **self.headers},
            timeout=30,
            **kwargs,
        )

    def start(self, project_id: str, **extra: Any) -> str:
        answer = self.call("POST", "/exports", {"projectId": project_id, **extra})
        assert answer.status_code == 202, answer.text
        return str(answer.json()["exportId"])


@pytest.fixture(scope="module")
def run(stack: LocalDeployment) -> dict[str, Any]:
    """The exports, run once for the module: their ids and projects, and every secret in play."""
    assert stack.simulator is not None
    api, events = Api(stack), stack.client("events")
    caller = Caller(api)
    projects = {name: new_project_id() for name in ("succeeds", "fails", "cancelled", "queued")}
    stack.simulator.inject(Fault("export_fail", project_id=projects["fails"], at_progress=30))
    # the first progress call for this project finds every token expired: the client refreshes its own
    stack.simulator.inject(Fault("expire_tokens", route="progress", project_id=projects["succeeds"]))

    box = secrets.token_hex(6)
    ids = {
        "succeeds": caller.start(
            projects["succeeds"], webhookUrl=f"{stack.endpoints['aistudios_url']}/_sim/inbox/{box}"
        ),
        "fails": caller.start(projects["fails"]),
        "cancelled": caller.start(projects["cancelled"]),
    }
    assert caller.call("DELETE", f"/exports/{ids['cancelled']}").status_code == 200
    answer = events.put_events(
        Entries=[
            {
                "Source": "com.example.tests",
                "DetailType": "Export Requested",
                "Detail": json.dumps({"projectId": projects["queued"]}),
                "EventBusName": stack.endpoints["event_bus"],
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0

    forged = secrets.token_urlsafe(32)
    refused = requests.post(
        f"{api.url}/webhooks/{ids['succeeds']}/{forged}", json={"progress": 100}, timeout=30
    )
    assert refused.status_code == 404

    ids["queued"] = _queued_export(caller, projects["queued"])
    final = {name: api.wait_final(export_id, timeout=90)["status"] for name, export_id in ids.items()}
    assert final == {
        "succeeds": "SUCCEEDED",
        "fails": "FAILED",
        "cancelled": "CANCELLED",
        "queued": "SUCCEEDED",
    }

    presigned = [
        caller.call("GET", f"/exports/{ids['succeeds']}").json()["video"]["downloadUrl"],
        caller.call("GET", f"/exports/{ids['succeeds']}/video", allow_redirects=False).headers["Location"],
    ]
    assert caller.call("GET", f"/exports?projectId={projects['queued']}").status_code == 200
    assert stack.simulator.inbox.read(box), "the caller's endpoint should have been sent the webhooks"
    time.sleep(2)  # the safety net's invocation for the cancelled execution, and the last lines

    sent = [w["url"] for w in stack.simulator.webhooks_sent()]
    return {
        "ids": ids,
        "projects": projects,
        "secrets": {
            "AI Studios appId": [stack.options.aistudios_app_id],
            "AI Studios userKey": [stack.options.aistudios_user_key],
            "AI Studios token": stack.simulator.issued_tokens(),
            "receiver token": [url.rsplit("/", 1)[1] for url in sent if "/webhooks/" in url] + [forged],
            "webhook signing secret": [_signing_secret(stack)],
            "caller's signature": [caller.signature],
            "caller's session token": [caller.session_token],
            "presigned link's signature": [
                value
                for url in presigned
                for name, values in parse_qs(urlsplit(url).query).items()
                if "signature" in name.lower()
                for value in values
            ],
        },
    }


def _queued_export(caller: Caller, project_id: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page = caller.call("GET", f"/exports?projectId={project_id}").json()
        if page["exports"]:
            return str(page["exports"][0]["exportId"])
        time.sleep(0.5)
    raise AssertionError("the Export Requested event started no export")


def _signing_secret(stack: LocalDeployment) -> str:
    client = stack.client("secretsmanager")
    [name] = [s["Name"] for s in client.list_secrets()["SecretList"] if "webhook-signing" in s["Name"]]
    return str(client.get_secret_value(SecretId=name)["SecretString"])


def _logs(stack: LocalDeployment) -> dict[str, list[str]]:
    """Every line of every function's log, by the function's logical id: all the template's functions."""
    assert stack.options.log_dir is not None
    log_dir = Path(stack.options.log_dir)
    found: dict[str, list[str]] = {}
    for pool in stack.supervisor.pools.values():
        path = log_dir / f"{pool.spec.name}.log"
        found[pool.spec.logical_id] = path.read_text().splitlines() if path.exists() else []
    assert len(found) >= 8
    return found


def _json(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def test_no_function_logs_a_credential_a_token_or_a_signed_query(
    stack: LocalDeployment, run: dict[str, Any]
) -> None:
    assert stack.schedules is not None
    stack.schedules.run_now()  # the reconciler runs every 10 s: make sure it has, with what it logs
    logs = _logs(stack)
    for function, lines in logs.items():
        assert lines, f"{function} logged nothing: the scan would prove nothing"
    text = "\n".join(line for lines in logs.values() for line in lines)
    for export_id in run["ids"].values():
        assert export_id in text, "each export is in the logs"
    assert "fetched an AI Studios token" in text, "DEBUG lines are scanned too"
    assert "refreshing once" in text, "the expired token's refresh is scanned too"
    assert '"httpMethod"' in text, "the events the functions received are scanned too"

    for what, values in run["secrets"].items():
        assert values, f"no {what} to look for"
        assert all(len(v) >= 8 for v in values), f"a {what} too short to look for"
        for function, lines in logs.items():
            for value in values:
                assert not any(value in line for line in lines), f"{function} logged a {what}"
    for function, lines in logs.items():
        for pattern in SIGNED_QUERY:
            leaked = [line for line in lines if pattern.lower() in line.lower()]
            assert not leaked, f"{function} logged a signed query string ({pattern}): {leaked[0][:300]}"


def test_every_line_about_an_export_names_it_and_its_project(
    stack: LocalDeployment, run: dict[str, Any]
) -> None:
    projects = {run["ids"][name]: run["projects"][name] for name in run["ids"]}
    logs = _logs(stack)
    checked = 0
    for function in ABOUT_ONE_EXPORT:
        for line in logs.get(function, []):
            entry = _json(line)
            if entry is None or "level" not in entry or "_aws" in entry:
                continue  # not the Logger's (a warning on stderr, an EMF metric blob)
            if isinstance(entry["message"], dict):
                continue  # the event, logged before the function has read it
            assert entry.get("exportId") in projects, f"{function}: {line[:300]}"
            assert entry.get("projectId") == projects[entry["exportId"]], f"{function}: {line[:300]}"
            checked += 1
    assert checked >= 20, f"only {checked} lines about an export were checked"


def test_the_exports_are_measured_in_the_functions_metrics(
    stack: LocalDeployment, run: dict[str, Any]
) -> None:
    values: dict[str, list[float]] = {}
    for lines in _logs(stack).values():
        for line in lines:
            entry = _json(line)
            if entry is None or "_aws" not in entry:
                continue
            for directive in entry["_aws"]["CloudWatchMetrics"]:
                assert directive["Namespace"] == "AIStudiosExport"
                assert directive["Dimensions"] == [["service"]]
                for metric in directive["Metrics"]:
                    value = entry[metric["Name"]]
                    values.setdefault(metric["Name"], []).extend(
                        value if isinstance(value, list) else [value]
                    )

    # the reconciler's runs: every export ended through the state machine or the safety net
    assert sum(values.get("ExportsReconciled", [])) == 0
    counts = {
        name: sum(v)
        for name, v in values.items()
        if name.startswith("Exports") and name != "ExportsReconciled"
    }
    assert counts == {
        "ExportsStarted": 4,
        "ExportsSucceeded": 2,
        "ExportsFailed": 1,
        "ExportsCancelled": 1,
    }
    assert len(values["RenderSeconds"]) == 2
    assert all(3 <= seconds < 60 for seconds in values["RenderSeconds"]), values["RenderSeconds"]
    assert len(values["DeliverySeconds"]) == len(values["DeliveredBytes"]) == 2
    assert all(size > 0 for size in values["DeliveredBytes"])
    assert len(values["PollsPerExport"]) == 3, "the two delivered and the failed render"
    assert all(polls >= 1 for polls in values["PollsPerExport"]), values["PollsPerExport"]
    assert sum(values["Webhooks404"]) >= 1
    assert sum(values.get("Webhooks202", [])) >= 1
