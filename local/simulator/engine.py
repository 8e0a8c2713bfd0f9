"""The simulator's engine: the API operations AI Studios answers, and the controls tests (and the
``/_sim`` admin routes) use, over the state of tokens and renders (state.py)."""

from __future__ import annotations

import hmac
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from .config import DEFAULT_RESOLUTION, RESOLUTIONS, Fault
from .envelope import Reply, error, ok
from .state import SimulatorState

OBJECT_ID_RE = re.compile(r"^[0-9a-fA-F]{24}$")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SimulatorEngine(SimulatorState):
    """What AI Studios knows and does, without HTTP: its API operations, one per route, and the
    controls of tests and the ``/_sim`` routes, over ``SimulatorState`` (tokens, renders, faults,
    counters, signed URLs).

    ``Simulator`` (server.py) serves it over HTTP; the request handler calls one method per route.
    """

    # ----------------------------------------------------------------- public helpers

    def inject(self, fault: Fault) -> None:
        """Register a fault. ``export_fail``/``export_stall`` also bind to matching running renders.

        ``for_seconds`` counts from this call.
        """
        self.faults.add(fault)
        if fault.is_state_fault:
            with self._lock:
                for render in list(self._renders.values()):
                    self._bind_state_faults(render)

    def clear_faults(self) -> None:
        """Remove all pending faults (faults already bound to renders stay)."""
        self.faults.clear()

    def issued_tokens(self) -> list[str]:
        """Every token issued so far, expired ones included (a test makes sure none was logged)."""
        with self._lock:
            return list(self._tokens)

    def expire_tokens(self) -> None:
        """Make every issued token expired (requests using them get 401 ``InvalidToken``)."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def reset(self) -> None:
        """Clear faults, counters and exports (issued tokens, and download URLs already handed out, stay valid)."""
        self.faults.clear()
        self.counters.reset()
        self.inbox.clear()
        with self._lock:
            self._renders.clear()

    def webhooks_sent(self) -> list[dict[str, Any]]:
        """Every webhook delivery so far (``url``, ``payload``, the ``status`` answered; 0: none)."""
        return self._webhooks.sent()

    def stats(self) -> dict[str, Any]:
        """Counters: tokens_issued, exports/polls/project_gets/requests (dicts), downloads, ..."""
        return self.counters.snapshot()

    # ----------------------------------------------------------------- API operations

    def issue_token(self, body: Any) -> Reply:
        """``POST /auth/token``."""
        if not isinstance(body, dict):
            return error(400, "InvalidRequest", "request body must be a JSON object")
        app_id, user_key = body.get("appId"), body.get("userKey")
        if not isinstance(app_id, str) or not isinstance(user_key, str) or not app_id or not user_key:
            return error(400, "InvalidRequest", "appId and userKey are required")
        valid = hmac.compare_digest(app_id.encode(), self.config.app_id.encode()) and hmac.compare_digest(
            user_key.encode(), self.config.user_key.encode()
        )
        if not valid:
            return error(401, "InvalidCredentials", "invalid appId or userKey")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.config.token_ttl_seconds
        self.counters.incr("tokens_issued")
        return ok({"token": token})

    def authenticate(self, authorization: str | None) -> Reply | None:
        """Check the ``Authorization`` header; ``None`` when valid, else the 401 reply."""
        token = (authorization or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            return error(401, "InvalidToken", "missing Authorization token")
        with self._lock:
            expires = self._tokens.get(token)
        if expires is None:
            return error(401, "InvalidToken", "invalid token")
        if time.monotonic() >= expires:
            return error(401, "InvalidToken", "token expired")
        return None

    def begin_render(self, body: Any) -> Reply:
        """``POST /editor/project/export``: (re)start the render of a project from 0."""
        if isinstance(body, list) and len(body) == 1:
            body = body[0]  # the documented Python sample sends a one-element array
        if not isinstance(body, dict):
            return error(400, "InvalidRequest", "request body must be a JSON object")
        project_id = body.get("projectId")
        if not isinstance(project_id, str) or not OBJECT_ID_RE.match(project_id):
            return error(400, "InvalidParameter", "projectId must be a 24-character hex ObjectId")
        resolution = body.get("resolution", DEFAULT_RESOLUTION)
        resolution = str(resolution).lower() if isinstance(resolution, str | int) else resolution
        if resolution not in RESOLUTIONS:
            return error(400, "InvalidParameter", f"resolution must be one of {', '.join(RESOLUTIONS)}")
        workspace_id = body.get("workspaceId")
        if workspace_id is not None and not isinstance(workspace_id, str):
            return error(400, "InvalidParameter", "workspaceId must be a string")
        webhook_url = body.get("webhookUrl")
        if webhook_url is not None and not _is_http_url(webhook_url):
            return error(400, "InvalidParameter", "webhookUrl must be an http(s) URL")
        project_id = project_id.lower()
        if project_id in self._missing:
            return error(404, "ProjectNotFound", f"project {project_id} not found")
        self._new_render(project_id, str(resolution), workspace_id, webhook_url)
        self.counters.incr_key("exports", project_id)
        return ok({"projectId": project_id})

    def progress(self, project_id: str) -> Reply:
        """``GET /editor/progress/{projectId}``."""
        problem = self._check_project_id(project_id)
        if problem is not None:
            return problem
        project_id = project_id.lower()
        self.counters.incr_key("polls", project_id)
        data = self.export_state(project_id)
        data.pop("projectId", None)
        for internal in ("backendTaskId", "resolution", "stale"):
            data.pop(internal, None)
        return ok(data)

    def project(self, project_id: str) -> Reply:
        """``GET /editor/project/{projectId}``: ``{"success": true, "project": {...}}``."""
        problem = self._check_project_id(project_id)
        if problem is not None:
            return problem
        project_id = project_id.lower()
        self.counters.incr_key("project_gets", project_id)
        with self._lock:
            render = self._renders.get(project_id)
        now_wall = time.time()
        project: dict[str, Any] = {
            "_id": project_id,
            "name": f"Simulated project {project_id[-6:]}",
            "state": "idle",
            "progress": 0.0,
            "thumbnailUrl": f"{self.base_url}/cdn/thumbnails/{project_id}.png",
            "resolution": DEFAULT_RESOLUTION,
            "createdAt": _iso(now_wall - 86400.0),
            "updatedAt": _iso(now_wall - 86400.0),
        }
        if render is not None:
            render = render.reported(time.monotonic())
            snap = render.snapshot(time.monotonic())
            project.update(
                state=snap.state,
                progress=snap.progress,
                resolution=render.resolution,
                workspaceId=render.workspace_id,
                updatedAt=_iso(min(now_wall, render.completed_wall) if snap.completed else now_wall),
            )
            if snap.completed:
                project["download_url"] = self.sign_download_url(render)
        return Reply(200, {"success": True, "project": project})

    def _check_project_id(self, project_id: str) -> Reply | None:
        if not OBJECT_ID_RE.match(project_id):
            return error(400, "InvalidParameter", "projectId must be a 24-character hex ObjectId")
        if project_id.lower() in self._missing:
            return error(404, "ProjectNotFound", f"project {project_id.lower()} not found")
        return None


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
