"""The API's answers as models, for the OpenAPI document only (routes.py refers to them by name).

No handler imports this module: building these classes would cost every cold start, and http_view
builds the answers as plain dicts. Tests hold the real answers to the generated document instead,
so a key added to a view without a line here fails them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..models import ExportStatus, Resolution
from ..request import ExportRequest


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ExportLinks(_Answer):
    self_: str = Field(alias="self", description="this export")
    video: str | None = Field(default=None, description="redirect to the video, once SUCCEEDED")
    retryOf: str | None = Field(default=None, description="the export this one retries")
    retriedBy: str | None = Field(default=None, description="the export that retries this one")


class Video(_Answer):
    bucket: str
    key: str
    uri: str = Field(description="s3://bucket/key")
    size: int = Field(description="bytes")
    sha256: str
    contentType: str
    versionId: str | None = Field(default=None, description="when the bucket is versioned")
    downloadUrl: str = Field(description="presigned; valid downloadUrlExpiresInSeconds")
    downloadUrlExpiresInSeconds: int = Field(le=900)


class ExportFailure(_Answer):
    code: str
    message: str


class Export(_Answer):
    """An export as the API shows it."""

    exportId: str
    projectId: str
    workspaceId: str | None
    resolution: Resolution
    status: ExportStatus
    progress: float = Field(ge=0, le=100)
    upstreamState: str | None = Field(description="AI Studios' own word for the render's state")
    trigger: str = Field(description="how the export was requested (api, s3, eventbridge)")
    createdAt: str
    updatedAt: str
    deadlineAt: str = Field(description="still rendering after this: TIMED_OUT")
    finishedAt: str | None
    name: str | None = Field(description="the request's name")
    metadata: dict[str, str] = Field(description="the request's metadata ({} when it had none)")
    retryOf: str | None = Field(description="the export this one retries (POST /exports/{exportId}/retry)")
    retriedBy: str | None = Field(description="the export that retries this one")
    links: ExportLinks
    video: Video | None = Field(default=None, description="once SUCCEEDED")
    error: ExportFailure | None = Field(default=None, description="once FAILED, TIMED_OUT or CANCELLED")


class PageLinks(_Answer):
    self_: str = Field(alias="self", description="this page")
    next: str | None = Field(default=None, description="the next page, while there is one")


class ExportPage(_Answer):
    exports: list[Export] = Field(description="newest first")
    nextToken: str | None = Field(description="null on the last page")
    links: PageLinks


class AcceptedLinks(_Answer):
    self_: str = Field(alias="self")


class ExportAccepted(_Answer):
    exportId: str
    status: ExportStatus
    retryOf: str | None = Field(default=None, description="a retry: the export it retries")
    links: AcceptedLinks


class FieldError(_Answer):
    field: str
    message: str


class BusyLinks(_Answer):
    active: str = Field(description="the export holding the project")


class ErrorDetail(_Answer):
    code: str = Field(description="what went wrong, for programs (e.g. ValidationError, ExportNotFound)")
    message: str = Field(description="what went wrong, for people")
    field: str | None = Field(default=None, description="the field, parameter or header at fault")
    details: list[FieldError] | None = Field(default=None, description="every field in error")
    activeExportId: str | None = Field(default=None, description="ProjectBusy: the export in progress")
    links: BusyLinks | None = None


class ErrorResponse(_Answer):
    """Every error, from every route (and from API Gateway itself)."""

    error: ErrorDetail


# What routes.py names: the bodies (validated by submission.py) and the answers.
COMPONENTS: tuple[type[BaseModel], ...] = (ExportRequest, Export, ExportPage, ExportAccepted, ErrorResponse)
