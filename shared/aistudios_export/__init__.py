"""Domain code shared by every function: the AI Studios client, the export model and store, the
workflow steps, notifications and the delivery engine.

The names below are loaded on first use (PEP 562): a handler importing one module of the layer
pays for that module's imports, not for every module's (see `make bench-coldstart`)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what each name is, for type checkers (`X as X`: re-exported)
    from .adapters import Adapters as Adapters
    from .aistudios.answers import Progress as Progress
    from .aistudios.client import AIStudiosClient as AIStudiosClient
    from .aistudios.transport import RetryPolicy as RetryPolicy
    from .errors import ConfigurationError as ConfigurationError
    from .errors import DeliveryVerificationError as DeliveryVerificationError
    from .errors import ExportNotFoundError as ExportNotFoundError
    from .errors import ExportPipelineError as ExportPipelineError
    from .errors import InvalidTransitionError as InvalidTransitionError
    from .errors import PermanentUpstreamError as PermanentUpstreamError
    from .errors import RequestValidationError as RequestValidationError
    from .errors import TransientUpstreamError as TransientUpstreamError
    from .errors import UnsafeUrlError as UnsafeUrlError
    from .models import ExportRecord as ExportRecord
    from .models import ExportStatus as ExportStatus
    from .models import Failure as Failure
    from .models import PollResult as PollResult
    from .models import VideoLocation as VideoLocation
    from .request import ExportRequest as ExportRequest
    from .request import parse_export_request as parse_export_request
    from .settings import Settings as Settings

_WHERE = {
    "AIStudiosClient": "aistudios.client",
    "Adapters": "adapters",
    "ConfigurationError": "errors",
    "DeliveryVerificationError": "errors",
    "ExportNotFoundError": "errors",
    "ExportPipelineError": "errors",
    "ExportRecord": "models",
    "ExportRequest": "request",
    "ExportStatus": "models",
    "Failure": "models",
    "InvalidTransitionError": "errors",
    "PermanentUpstreamError": "errors",
    "PollResult": "models",
    "Progress": "aistudios.answers",
    "RequestValidationError": "errors",
    "RetryPolicy": "aistudios.transport",
    "Settings": "settings",
    "TransientUpstreamError": "errors",
    "UnsafeUrlError": "errors",
    "VideoLocation": "models",
    "parse_export_request": "request",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:  # a submodule (`from aistudios_export import api`) is imported by Python
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
