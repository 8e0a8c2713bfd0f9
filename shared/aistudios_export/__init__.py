"""Domain code shared by every function: the AI Studios client, the export model and store,
notifications and the delivery engine."""

from .client import AIStudiosClient, Progress, RetryPolicy
from .errors import (
    ConfigurationError,
    DeliveryVerificationError,
    ExportNotFoundError,
    ExportPipelineError,
    InvalidTransitionError,
    PermanentUpstreamError,
    TransientUpstreamError,
    UnsafeUrlError,
)
from .models import ExportRequest, ExportStatus, RequestValidationError, parse_export_request
from .settings import Settings

__all__ = [
    "AIStudiosClient",
    "ConfigurationError",
    "DeliveryVerificationError",
    "ExportNotFoundError",
    "ExportPipelineError",
    "ExportRequest",
    "ExportStatus",
    "InvalidTransitionError",
    "PermanentUpstreamError",
    "Progress",
    "RequestValidationError",
    "RetryPolicy",
    "Settings",
    "TransientUpstreamError",
    "UnsafeUrlError",
    "parse_export_request",
]
