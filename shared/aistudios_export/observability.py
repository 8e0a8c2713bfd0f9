"""One place for logging and metrics. Service name and namespace come from the template; Lambda
and Step Functions tracing is switched on there, so no tracer SDK is loaded at cold start."""

from __future__ import annotations

import logging
import re

from aws_lambda_powertools import Logger, Metrics

from .urls import redact_text

_TOKEN_LIKE = re.compile(r"(?i)(\"?(?:authorization|token|userKey|user_key|appId)\"?\s*[:=]\s*\"?)[^\",\s}]+")


class RedactingFilter(logging.Filter):
    """Scrubs signed-URL query strings and token-like values from every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _TOKEN_LIKE.sub(r"\1<redacted>", redact_text(record.msg))
        return True


logger = Logger(log_uncaught_exceptions=True)
logger.addFilter(RedactingFilter())
metrics = Metrics()
