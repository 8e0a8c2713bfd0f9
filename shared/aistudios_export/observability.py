"""One place for logging and metrics. Service name and namespace come from the template; Lambda
and Step Functions tracing is switched on there, so no tracer SDK is loaded at cold start."""

from __future__ import annotations

import logging
import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from .models import ExportStatus
from .urls import redact_text

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
    return isinstance(key, str) and key.lower() in (
        "authorization",
        "token",
        "userkey",
        "user_key",
        "password",
    )


class RedactingFilter(logging.Filter):
    """Applied to every record: the message and any extra field are scrubbed before formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.msg)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD:
                setattr(record, key, "<redacted>" if _sensitive(key) else scrub(value))
        return True


logger = Logger(log_uncaught_exceptions=True)
logger.addFilter(RedactingFilter())
metrics = Metrics()

ENDING_METRICS = {
    ExportStatus.SUCCEEDED: "ExportsSucceeded",
    ExportStatus.FAILED: "ExportsFailed",
    ExportStatus.TIMED_OUT: "ExportsTimedOut",
    ExportStatus.CANCELLED: "ExportsCancelled",
}


def count_ending(status: ExportStatus, changed: bool) -> None:
    """Metrics count transitions, not invocations: only the call that ended the export counts it."""
    if changed and status in ENDING_METRICS:
        metrics.add_metric(name=ENDING_METRICS[status], unit=MetricUnit.Count, value=1)
