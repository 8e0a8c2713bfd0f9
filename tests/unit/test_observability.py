from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from aistudios_export.models import ExportRecord, ExportStatus, PollResult, VideoLocation
from aistudios_export.observability import (
    ENDING_METRICS,
    METRICS,
    RedactingFilter,
    about_export,
    count_delivery,
    count_poll,
    export_scope,
    logger,
    metrics,
    scrub,
)
from tests.helpers import REPO

pytestmark = pytest.mark.unit


def test_scrub_removes_signed_query_values_and_tokens_everywhere() -> None:
    value = {
        "url": "https://cdn.example.com/v.mp4?Expires=1&Signature=abc123",
        "nested": ["Authorization: tok-999", {"token": "tok-999"}],
        "userKey": "uk-1",
        "count": 3,
    }
    text = json.dumps(scrub(value))
    for secret in ("abc123", "tok-999", "uk-1"):
        assert secret not in text
    assert '"count": 3' in text


def test_a_logged_api_event_keeps_no_credential_of_its_caller() -> None:
    event = {
        "headers": {"Authorization": "AWS4-HMAC-SHA256 Signature=abc123", "X-Amz-Security-Token": "IQoJsess"},
        "multiValueHeaders": {"x-amz-security-token": ["IQoJsess"], "Cookie": ["session=c00k1e"]},
        "path": "/exports",
    }
    text = json.dumps(scrub(event))
    for secret in ("abc123", "IQoJsess", "c00k1e"):
        assert secret not in text
    assert '"path": "/exports"' in text


def test_the_filter_scrubs_messages_and_extra_fields() -> None:
    stream = io.StringIO()
    log = logging.getLogger("redaction-test")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s %(where)s"))
    log.addHandler(handler)
    log.addFilter(RedactingFilter())
    log.propagate = False
    log.warning(
        "fetch https://h/v.mp4?Signature=s3cr3t failed", extra={"where": "https://h/v?X-Amz-Signature=zz"}
    )
    out = stream.getvalue()
    assert "s3cr3t" not in out
    assert "zz" not in out
    assert "?<redacted>" in out


# -- signed URLs as urllib3 and requests write them (no scheme, no host) -----------------------------


def test_a_thumbnail_fetch_that_fails_leaves_no_signed_url_in_the_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue's leak: the thumbnail's fetch failed and its reason, requests' ConnectionError,
    wrote the signed URL's path and query ("Max retries exceeded with url: /t.png?...")."""
    import boto3
    import requests
    from moto import mock_aws

    from aistudios_export.delivery import thumbnails
    from aistudios_export.net.pinned import PinnedAdapter
    from tests.unit.net.refused import HOST, SIGNATURE, SIGNED_PATH, refused_fetch

    class Refusing(PinnedAdapter):
        def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
            raise refused_fetch(str(request.path_url))[0]

    def refusing_session() -> tuple[requests.Session, PinnedAdapter]:
        session, adapter = requests.Session(), Refusing()
        session.mount("https://", adapter)
        return session, adapter

    monkeypatch.setattr(thumbnails, "pinned_session", refusing_session)
    with mock_aws(), _captured() as lines:
        s3 = boto3.client("s3", region_name="us-east-1")
        key = thumbnails.copy_thumbnail(s3, f"https://{HOST}{SIGNED_PATH}", bucket="b", key_stem="k")

    assert key is None
    [line] = [line for line in lines if line["message"] == "thumbnail not copied"]
    assert "Max retries exceeded with url: /cdn/videos/" in line["reason"]  # the reason is still said
    assert SIGNATURE not in json.dumps(lines)
    assert "AKIDEXAMPLE" not in json.dumps(lines)


def test_urllib3s_own_retry_warning_reaches_the_log_without_the_signed_query(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """urllib3 logs "Retrying (...) after connection broken by '...': /path?query" at WARNING, which
    the runtime's handler writes to the function's log; the URL is one of its %-arguments."""
    from tests.unit.net.refused import SIGNATURE, refused_fetch

    with caplog.at_level(logging.WARNING, logger="urllib3"):
        _, written = refused_fetch()

    [record] = [r for r in caplog.records if r.name == "urllib3.connectionpool"]
    assert SIGNATURE in written[0]  # as urllib3 wrote it
    assert "after connection broken by" in record.getMessage()
    assert SIGNATURE not in record.getMessage()
    assert SIGNATURE not in caplog.text


def test_a_logged_exception_and_percent_arguments_keep_no_signed_query() -> None:
    """What the filter cannot reach (the exception's text and value, which Powertools formats from
    the exception itself) the formatter scrubs from the whole line."""
    import requests

    from tests.unit.net.refused import SIGNATURE, refused_fetch

    error, _ = refused_fetch()
    with _captured() as lines:
        try:
            raise error
        except requests.ConnectionError:
            logger.exception("the fetch failed")
        logger.warning("the fetch failed: %s", error)

    assert len(lines) == 2
    assert SIGNATURE not in json.dumps(lines)
    assert "url: /cdn/videos/" in lines[0]["exception"]
    assert "?<redacted>" in lines[1]["message"]


# -- the export's keys on every log line -------------------------------------------------------------


class _Context:
    function_name = "test"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "req-1"


@contextmanager
def _captured() -> Iterator[list[dict[str, Any]]]:
    """What the functions' logger writes meanwhile, one parsed JSON object per line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    parsed: list[dict[str, Any]] = []
    try:
        yield parsed
    finally:
        logger.removeHandler(handler)
        logger.clear_state()
        parsed += [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_export_names_every_later_line_and_the_next_invocation_forgets_it() -> None:
    @logger.inject_lambda_context(clear_state=True)
    def invocation(event: dict[str, Any], context: Any) -> None:
        if event:
            about_export(event["exportId"], event.get("projectId"))
        logger.info("step")

    with _captured() as lines:
        invocation({"exportId": "e" * 32, "projectId": "p" * 24}, _Context())
        invocation({}, _Context())

    first, second = lines
    assert (first["exportId"], first["projectId"]) == ("e" * 32, "p" * 24)
    assert "exportId" not in second
    assert "projectId" not in second


def test_a_batch_record_s_keys_end_with_it_even_when_it_fails() -> None:
    def failing_record() -> None:
        with export_scope():
            about_export("e" * 32, "p" * 24)
            raise RuntimeError("this record failed")

    with _captured() as lines:
        with pytest.raises(RuntimeError):
            failing_record()
        with export_scope():
            about_export(project_id="q" * 24)
            logger.info("next record")

    [line] = lines
    assert line["projectId"] == "q" * 24
    assert "exportId" not in line


def test_every_handler_forgets_the_previous_invocation_s_keys() -> None:
    handlers = sorted((REPO / "functions").glob("*/app.py"))
    assert handlers
    for path in handlers:
        decorators = re.findall(r"@logger\.inject_lambda_context(\([^)]*\))?", path.read_text())
        assert decorators, f"{path.parent.name} does not use the shared logger"
        assert all("clear_state=True" in d for d in decorators), f"{path.parent.name} keeps stale keys"


# -- metrics ---------------------------------------------------------------------------------------


@pytest.fixture
def emitted(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], dict[str, tuple[str, list[float]]]]]:
    """The metrics flushed so far, as {name: (unit, values)}; and the dimensions are only the service's."""
    metrics.clear_metrics()
    capsys.readouterr()

    def flush() -> dict[str, tuple[str, list[float]]]:
        metrics.flush_metrics(raise_on_empty_metrics=False)
        found: dict[str, tuple[str, list[float]]] = {}
        for line in capsys.readouterr().out.splitlines():
            blob = json.loads(line)
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                assert directive["Namespace"] == "AIStudiosExportTests"
                assert directive["Dimensions"] == [["service"]], "no dimension but the service's"
                for metric in directive["Metrics"]:
                    value = blob[metric["Name"]]
                    found[metric["Name"]] = (metric["Unit"], value if isinstance(value, list) else [value])
        return found

    yield flush
    metrics.clear_metrics()


REQUESTED = datetime(2026, 11, 27, 20, 50, 9, tzinfo=UTC)
DEADLINE = datetime(2026, 11, 27, 21, 20, 9, tzinfo=UTC)


def _poll(checked_at: str, **fields: Any) -> PollResult:
    values: dict[str, Any] = {"download_ready": False, "failed": False} | fields
    return PollResult(
        100.0 if values["download_ready"] else 40.0,
        "state",
        values.pop("download_ready"),
        values.pop("failed"),
        "detail",
        5,
        checked_at,
        **values,
    )


def test_the_poll_that_sees_the_render_done_reports_its_time_and_the_polls(emitted: Any) -> None:
    count_poll(_poll("2026-11-27T20:51:52Z"), polls=3, requested_at=REQUESTED, deadline=DEADLINE)
    assert emitted() == {}, "a poll that does not settle the render reports nothing"

    count_poll(
        _poll("2026-11-27T20:52:10Z", download_ready=True), polls=4, requested_at=REQUESTED, deadline=DEADLINE
    )
    assert emitted() == {"PollsPerExport": ("Count", [4.0]), "RenderSeconds": ("Seconds", [121.0])}


def test_a_failed_or_late_render_reports_its_polls_and_a_withdrawn_one_nothing(emitted: Any) -> None:
    count_poll(_poll("2026-11-27T20:55:00Z", failed=True), polls=2, requested_at=REQUESTED, deadline=DEADLINE)
    count_poll(_poll("2026-11-27T21:20:09Z"), polls=9, requested_at=REQUESTED, deadline=DEADLINE)
    count_poll(
        _poll("2026-11-27T20:51:00Z", abandoned=True), polls=1, requested_at=REQUESTED, deadline=DEADLINE
    )
    assert emitted() == {"PollsPerExport": ("Count", [2.0, 9.0])}


def test_a_delivery_is_measured_once_by_the_call_that_ended_the_export(emitted: Any) -> None:
    video = VideoLocation("b", "k", 7_340_032, "a" * 64)
    done = ExportRecord("e" * 32, "p" * 24, "1080", ExportStatus.SUCCEEDED, video=video)

    count_delivery(done, changed=True, seconds=12.34567)
    count_delivery(done, changed=False, seconds=3.0)  # a retry that found the video already there

    assert emitted() == {
        "ExportsSucceeded": ("Count", [1.0]),
        "DeliverySeconds": ("Seconds", [12.346]),
        "DeliveredBytes": ("Bytes", [7_340_032.0]),
    }


def test_every_metric_a_function_emits_is_in_the_catalogue_with_its_unit() -> None:
    sources = [*(REPO / "shared" / "aistudios_export").glob("*.py"), *(REPO / "functions").glob("*/app.py")]
    calls = [c for path in sources for c in re.findall(r"add_metric\(([^)]*)\)", path.read_text())]
    assert len(calls) >= 6
    for call in calls:
        name = re.search(r'name="(\w+)"', call)
        unit = re.search(r"unit=MetricUnit\.(\w+)", call)
        assert unit, f"add_metric({call}) names no MetricUnit"
        if name:  # the others are ENDING_METRICS' or the webhook answers' (checked below)
            assert METRICS[name.group(1)] is MetricUnit[unit.group(1)], call
    assert set(ENDING_METRICS.values()) <= set(METRICS)


def test_the_operations_page_lists_every_metric_with_its_unit() -> None:
    page = (REPO / "docs" / "operations.md").read_text()
    section = page.split("\n## Observability", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| (\w+) \|", section, flags=re.MULTILINE))
    assert rows == {name: unit.value for name, unit in METRICS.items()}
