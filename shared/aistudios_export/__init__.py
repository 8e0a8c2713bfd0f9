"""Domain code shared by every function: the AI Studios client, the export model and store, the
workflow steps, notifications and the delivery engine."""

from .adapters import Adapters
from .client import AIStudiosClient
from .envelope import Progress
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
from .models import ExportRecord, ExportStatus, Failure, PollResult, VideoLocation
from .request import ExportRequest, RequestValidationError, parse_export_request
from .settings import Settings
from .transport import RetryPolicy

__all__ = [
    "AIStudiosClient",
    "Adapters",
    "ConfigurationError",
    "DeliveryVerificationError",
    "ExportNotFoundError",
    "ExportPipelineError",
    "ExportRecord",
    "ExportRequest",
    "ExportStatus",
    "Failure",
    "InvalidTransitionError",
    "PermanentUpstreamError",
    "PollResult",
    "Progress",
    "RequestValidationError",
    "RetryPolicy",
    "Settings",
    "TransientUpstreamError",
    "UnsafeUrlError",
    "VideoLocation",
    "parse_export_request",
]
