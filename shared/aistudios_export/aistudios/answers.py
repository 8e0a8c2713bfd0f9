"""Reading AI Studios answers: the `{"success", "data" | "error": {"code", "msg"}}` envelope and
what each HTTP status means for the caller (auth refresh, retry, or give up)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import PermanentUpstreamError, TransientUpstreamError

if TYPE_CHECKING:
    import requests

_AUTH_HINTS = ("token", "auth", "unauthor", "expired", "credential")
FAILED_STATES = frozenset({"failed", "fail", "error", "errored", "cancelled", "canceled", "aborted"})


@dataclass(frozen=True)
class Progress:
    """One reading of a project's progress endpoint: `percent` is 0..100."""

    percent: float
    state: str
    download_url: str | None = field(default=None, repr=False)

    @property
    def failed(self) -> bool:
        return self.state.strip().lower() in FAILED_STATES

    @property
    def done(self) -> bool:
        return self.percent >= 100 and bool(self.download_url)

    @property
    def video_file(self) -> str:
        """Which file the reading offers ("" when none): the download URL without its query (a
        signature changes with every reading; the file does not). A render's video is its own file,
        so the file the project offered before a request is the previous render's."""
        return video_file(self.download_url) if self.done else ""


def video_file(url: str | None) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}{parts.path}" if parts.netloc else ""


class AuthRejected(Exception):
    """The token (or the credentials) were refused: the client refreshes once, then gives up."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


def envelope_error(body: Any) -> tuple[str, str]:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code", "Unknown")), str(error.get("msg", error.get("message", "")))
    return "Unknown", ""


def looks_like_auth_failure(code: str, msg: str) -> bool:
    text = f"{code} {msg}".lower()
    return any(hint in text for hint in _AUTH_HINTS)


def interpret(response: requests.Response, method: str, path: str) -> Any:
    """The envelope's `data`, or the error that the status and envelope call for."""
    from .transport import parse_retry_after  # transport imports requests; the poll step's import need not

    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    code, msg = envelope_error(body)
    if status == 401 or (status == 403 and looks_like_auth_failure(code, msg)):
        raise AuthRejected(code if code != "Unknown" else "Unauthorized", msg or "unauthorized")
    if status == 429 or status >= 500:
        raise TransientUpstreamError(
            f"{method} {path} answered HTTP {status}" + (f": {msg}" if msg else ""),
            code=code if code != "Unknown" else f"HTTP{status}",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if status >= 300:
        raise PermanentUpstreamError(
            msg or f"{method} {path} answered HTTP {status}",
            code=code if code != "Unknown" else f"HTTP{status}",
            status=status,
        )
    if not isinstance(body, dict):
        raise TransientUpstreamError(f"{method} {path} returned a non-JSON body", code="MalformedResponse")
    if body.get("success") is False:
        if looks_like_auth_failure(code, msg):
            raise AuthRejected(code, msg)
        raise PermanentUpstreamError(msg or "AI Studios reported an error", code=code, status=status)
    return body.get("data", body)  # the project route answers {"project": ...}


@dataclass(frozen=True)
class ProjectInfo:
    """What the project route says that delivery uses: a name for the file, a thumbnail to copy."""

    name: str | None
    thumbnail_url: str | None = field(default=None, repr=False)

    @classmethod
    def from_data(cls, data: Any) -> ProjectInfo:
        project = data.get("project", data) if isinstance(data, dict) else None
        if not isinstance(project, dict):
            return cls(None)
        name, thumbnail = project.get("name"), project.get("thumbnailUrl") or project.get("thumbnail_url")
        return cls(str(name)[:200] if name else None, str(thumbnail) if thumbnail else None)
