"""The AI Studios REST client: token cache, refresh on rejection, bounded retries within a time budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from ..errors import PermanentUpstreamError, TransientUpstreamError
from ..models import OBJECT_ID
from ..observability import logger
from .answers import AuthRejected, Progress, ProjectInfo
from .credentials import Credentials
from .sender import Request, Sender
from .transport import RetryPolicy, build_session

TOKEN_PATH = "/api/odin/v3/auth/token"  # noqa: S105 - a path, not a secret
EXPORT_PATH = "/api/odin/v3/editor/project/export"
PROGRESS_PATH = "/api/odin/v3/editor/progress/{project_id}"
PROJECT_PATH = "/api/odin/v3/editor/project/{project_id}"

TOKEN_LIFETIME_SECONDS = 24 * 3600.0
TOKEN_SAFETY_MARGIN_SECONDS = 15 * 60.0
FRESH_REJECTION_WINDOW_SECONDS = 600.0


class AIStudiosClient:
    """Talks to the documented AI Studios REST surface. Thread-safe; keep one per process."""

    def __init__(
        self,
        base_url: str,
        credentials: Callable[[bool], Credentials],
        *,
        session: requests.Session | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 20.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        call_budget_seconds: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._sender = Sender(
            session or build_session(), (connect_timeout, read_timeout), retry or RetryPolicy(), clock, sleep
        )
        self._clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = threading.Lock()
        # Each public call (token, retries and waits included) must end within this many seconds,
        # so that it finishes inside its Lambda's timeout or API Gateway's 29 s.
        self._budget = call_budget_seconds
        self._local = threading.local()
        self._fresh_rejected_at: float | None = None

    # -- public API -------------------------------------------------------------------------

    def export(
        self,
        project_id: str,
        *,
        workspace_id: str | None = None,
        resolution: str | None = None,
        webhook_url: str | None = None,
        budget_seconds: float | None = None,
    ) -> str:
        """Ask AI Studios to export the project; returns the projectId it acknowledged.

        Not retried once the request may have reached the server: a second POST would start a
        second render. Only refusals that prove nothing was processed (connect failures, 429) are
        retried, and the POST always goes out on a new connection: a pooled one may have gone stale
        while the function was idle, and a reset there could not be told from "maybe sent".
        `budget_seconds` narrows the call's time budget (token included) for this call only.
        """
        body: dict[str, str] = {"projectId": _check_id(project_id)}
        if workspace_id:
            body["workspaceId"] = workspace_id
        if resolution:
            body["resolution"] = resolution
        if webhook_url:
            body["webhookUrl"] = webhook_url
        data = self._call("POST", EXPORT_PATH, json=body, idempotent=False, budget=budget_seconds)
        acknowledged = data.get("projectId") if isinstance(data, dict) else None
        return str(acknowledged or project_id)

    def progress(self, project_id: str, *, budget_seconds: float | None = None) -> Progress:
        """The project's progress; `budget_seconds` narrows the call's time budget for this call."""
        data = self._call(
            "GET", PROGRESS_PATH.format(project_id=_check_id(project_id)), budget=budget_seconds
        )
        if not isinstance(data, dict):
            raise TransientUpstreamError("progress response has no data object", code="MalformedResponse")
        try:
            value = float(data.get("progress", 0) or 0)
        except (TypeError, ValueError):
            raise TransientUpstreamError("progress is not a number", code="MalformedResponse") from None
        url = data.get("downloadUrl") or data.get("download_url")
        return Progress(
            percent=max(0.0, min(100.0, value)),
            state=str(data.get("state") or ""),
            download_url=str(url) if url else None,
        )

    def project(self, project_id: str) -> ProjectInfo:
        """The project's name and thumbnail (both optional in AI Studios' answer)."""
        return ProjectInfo.from_data(self._call("GET", PROJECT_PATH.format(project_id=_check_id(project_id))))

    def token(self) -> str:
        """A valid token, fetched once and reused for its life minus a safety margin."""
        with self._lock:
            if self._token and self._clock() < self._token_expires:
                return self._token
            return self._fetch_token(force_credentials=False)

    # -- internals --------------------------------------------------------------------------

    def _fetch_token(self, *, force_credentials: bool, creds: Credentials | None = None) -> str:
        creds = creds or self._credentials(force_credentials)
        try:
            data = self._call(
                "POST", TOKEN_PATH, json={"appId": creds.app_id, "userKey": creds.user_key}, auth=False
            )
        except AuthRejected as exc:
            fresh = None if force_credentials else self._credentials(True)
            if fresh is None or fresh == creds:
                raise PermanentUpstreamError(
                    f"AI Studios rejected the credentials: {exc.msg}", code=exc.code, status=401
                ) from None
            logger.info("credentials rejected; retrying once with the secret read afresh")
            return self._fetch_token(force_credentials=True, creds=fresh)
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise TransientUpstreamError("token response has no token", code="MalformedResponse")
        self._token = token
        self._token_expires = self._clock() + TOKEN_LIFETIME_SECONDS - TOKEN_SAFETY_MARGIN_SECONDS
        logger.debug("fetched an AI Studios token")
        return token

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        auth: bool = True,
        idempotent: bool | None = None,
        budget: float | None = None,
    ) -> Any:
        outermost = getattr(self._local, "deadline", None) is None
        budget = min(b for b in (budget, self._budget, float("inf")) if b is not None)
        if outermost and budget != float("inf"):
            self._local.deadline = self._clock() + budget
        try:
            return self._call_within_budget(method, path, json=json, auth=auth, idempotent=idempotent)
        finally:
            if outermost:
                self._local.deadline = None

    def _call_within_budget(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None,
        auth: bool,
        idempotent: bool | None,
    ) -> Any:
        if not auth:
            return self._send(method, path, json=json, token=None, idempotent=True)
        token = self.token()
        try:
            return self._send(method, path, json=json, token=token, idempotent=idempotent)
        except AuthRejected:
            logger.info("AI Studios token rejected; refreshing once", extra={"path": path})
        with self._lock:
            if self._token == token:
                self._token = None
                token = self._fetch_token(force_credentials=True)
            else:
                token = self._token or self._fetch_token(force_credentials=True)
        try:
            result = self._send(method, path, json=json, token=token, idempotent=idempotent)
        except AuthRejected as exc:
            return self._fresh_token_rejected(exc)
        self._fresh_rejected_at = None
        return result

    def _fresh_token_rejected(self, exc: AuthRejected) -> Any:
        """Another execution environment may have just rotated the token: the first rejection of a
        fresh token is transient (retried by the caller); a second one within the window is final."""
        now = self._clock()
        if self._fresh_rejected_at is None or now - self._fresh_rejected_at > FRESH_REJECTION_WINDOW_SECONDS:
            self._fresh_rejected_at = now
            raise TransientUpstreamError(
                f"AI Studios rejected a fresh token: {exc.msg}", code="TokenRejected", retry_after=2
            ) from None
        raise PermanentUpstreamError(
            f"AI Studios rejected a fresh token: {exc.msg}", code=exc.code, status=401
        ) from None

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None,
        token: str | None,
        idempotent: bool | None,
    ) -> Any:
        if idempotent is None:
            idempotent = method in ("GET", "HEAD")
        headers = {"Accept": "application/json"} | ({"Authorization": token} if token else {})
        request = Request(method, path, self.base_url + path, json, headers, idempotent)
        return self._sender.send(request, deadline=getattr(self._local, "deadline", None))


def _check_id(project_id: str) -> str:
    if not OBJECT_ID.match(project_id or ""):
        raise PermanentUpstreamError(
            "projectId must be a 24-character hexadecimal ObjectId", code="InvalidProjectId"
        )
    return project_id
