"""One place for logging and metrics. Service name and namespace come from the template
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE). Lambda and Step Functions tracing is
switched on there (Tracing: Active) without the X-Ray SDK: Powertools' Tracer, with the SDK it
loads, would add to every cold start about as much as `import boto3` itself (docs/operations.md).

Every log line names its export through the Logger's keys (`about_export`), set once where an
invocation learns the export and cleared before the next one (`clear_state=True` on every handler).
Metrics are counted here, under the names docs/operations.md's metrics table gives, with no dimension
but the service's: an export id is never a dimension."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit

from .clock import parse_iso
from .models import ExportRecord, ExportStatus, PollResult
from .net.urls import redact_text

_TOKEN_LIKE = re.compile(r"(?i)(\"?(?:authorization|token|userKey|user_key)\"?\s*[:=]\s*\"?)[^\",\s}]+")
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def scrub(value: Any) -> Any:
    """Signed-URL query values and token-like pairs removed from strings, recursively."""
    if isinstance(value, str):
        return _TOKEN_LIKE.sub(r"\1<redacted>", redact_text(value))
    if isinstance(value, dict):
        return {k: "<redacted>" if _sensitive(k) else scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub(v) for v in value)
    return value


def _sensitive(key: Any) -> bool:
    """Keys whose values are secrets wherever they appear: a logged API event carries the caller's
    Authorization and temporary credentials' X-Amz-Security-Token headers."""
    return isinstance(key, str) and key.lower() in (
        "authorization",
        "token",
        "userkey",
        "user_key",
        "password",
        "x-amz-security-token",
        "cookie",
        "x-api-key",
    )


class RedactingFilter(logging.Filter):
    """Applied to every record: the message (with its %-arguments, which urllib3 passes the URL in),
    any extra field and the exception's text are scrubbed before formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.msg, str):
            with suppress(TypeError, ValueError):  # a malformed call: logging itself reports it
                record.msg, record.args = record.getMessage(), None
        record.msg = scrub(record.msg)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD:
                setattr(record, key, "<redacted>" if _sensitive(key) else scrub(value))
        if record.exc_info and not record.exc_text:  # what a standard formatter prints (the runtime's)
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True


class RedactingFormatter(LambdaPowertoolsFormatter):
    """The last net: the whole line is scrubbed, with what the filter cannot reach (the exception's
    text and value as Powertools formats them from the exception itself)."""

    def format(self, record: logging.LogRecord) -> str:
        return str(redact_text(super().format(record)))


# Third-party loggers that write URLs (urllib3's "Retrying ... : /path?query" warning, its "Failed to
# parse headers (url=...)"), whose records reach the function's log through the runtime's handler.
URL_LOGGERS = ("urllib3.connectionpool", "urllib3.poolmanager", "urllib3.util.retry", "urllib3.response")

logger = Logger(log_uncaught_exceptions=True, logger_formatter=RedactingFormatter())
logger.addFilter(RedactingFilter())
for _name in URL_LOGGERS:
    logging.getLogger(_name).addFilter(RedactingFilter())
metrics = Metrics()

EXPORT_KEYS = ("exportId", "projectId")


def about_export(export_id: str | None = None, project_id: str | None = None) -> None:
    """Every later log line of this invocation names the export and its project (whichever is given)."""
    keys = {"exportId": export_id, "projectId": project_id}
    logger.append_keys(**{name: value for name, value in keys.items() if value})


@contextmanager
def export_scope() -> Iterator[None]:
    """One export among several in an invocation (a batch): its keys end with it."""
    try:
        yield
    finally:
        logger.remove_keys(EXPORT_KEYS)


ENDING_METRICS = {
    ExportStatus.SUCCEEDED: "ExportsSucceeded",
    ExportStatus.FAILED: "ExportsFailed",
    ExportStatus.TIMED_OUT: "ExportsTimedOut",
    ExportStatus.CANCELLED: "ExportsCancelled",
}
# Every metric the functions emit, with its unit: docs/operations.md's metrics table lists the same,
# and each add_metric call names one of them literally (the dashboard's test reads the calls).
METRICS: dict[str, MetricUnit] = {
    "ExportsStarted": MetricUnit.Count,
    **dict.fromkeys(ENDING_METRICS.values(), MetricUnit.Count),
    "RenderSeconds": MetricUnit.Seconds,
    "DeliverySeconds": MetricUnit.Seconds,
    "DeliveredBytes": MetricUnit.Bytes,
    "PollsPerExport": MetricUnit.Count,
    "ExportsReconciled": MetricUnit.Count,
    "ExportsResubmitted": MetricUnit.Count,
    **{f"Webhooks{status}": MetricUnit.Count for status in (202, 400, 404, 409, 503)},
}


def count_resubmitted() -> None:
    metrics.add_metric(name="ExportsResubmitted", unit=MetricUnit.Count, value=1)


def count_started() -> None:
    metrics.add_metric(name="ExportsStarted", unit=MetricUnit.Count, value=1)


def count_ending(status: ExportStatus, changed: bool) -> None:
    """Metrics count transitions, not invocations: only the call that ended the export counts it."""
    if changed and status in ENDING_METRICS:
        metrics.add_metric(name=ENDING_METRICS[status], unit=MetricUnit.Count, value=1)


def count_poll(
    result: PollResult, *, polls: int, requested_at: datetime | None, deadline: datetime | None
) -> None:
    """The poll that settles the render (done, failed, or past the deadline: what the state machine's
    Choice decides on) reports how many polls the export took and, for a render seen done, how long
    it took from the request. A withdrawn export, never rendered, counts nothing."""
    checked_at = parse_iso(result.checked_at)
    past_deadline = deadline is not None and checked_at >= deadline
    if result.abandoned or not (result.download_ready or result.failed or past_deadline):
        return
    metrics.add_metric(name="PollsPerExport", unit=MetricUnit.Count, value=polls)
    if result.download_ready and requested_at is not None:
        seconds = max(0.0, (checked_at - requested_at).total_seconds())
        metrics.add_metric(name="RenderSeconds", unit=MetricUnit.Seconds, value=seconds)


def count_delivery(record: ExportRecord, changed: bool, seconds: float) -> None:
    """A delivery that ended the export SUCCEEDED: its duration and the bytes it stored."""
    count_ending(record.status, changed)
    if changed and record.status is ExportStatus.SUCCEEDED and record.video is not None:
        metrics.add_metric(name="DeliverySeconds", unit=MetricUnit.Seconds, value=round(seconds, 3))
        metrics.add_metric(name="DeliveredBytes", unit=MetricUnit.Bytes, value=record.video.size)


def count_webhook(status: int) -> None:
    """What the receiver answered one webhook (202 taken, 400, 404, 409, 503 refused); an answer
    METRICS does not list yet is counted all the same, never the receiver's failure."""
    metrics.add_metric(name=f"Webhooks{status}", unit=MetricUnit.Count, value=1)
