"""The simulator's engine: state of tokens and renders, the API operations, signed download URLs."""

from __future__ import annotations

import hmac
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from .config import DEFAULT_RESOLUTION, DEFAULT_STALE_SECONDS, RESOLUTIONS, Fault, SimulatorConfig
from .envelope import Reply, error, ok
from .faults import FaultBook
from .inbox import Inbox
from .render import Render, Snapshot, make_warp
from .signing import DOWNLOAD_PATH_RE, DownloadSigner
from .stats import Stats
from .video import MIN_DISTINCT_SYNTHETIC_SIZE, VideoSource, render_identity_box
from .webhooks import WebhookDispatcher

OBJECT_ID_RE = re.compile(r"^[0-9a-fA-F]{24}$")


@dataclass(frozen=True)
class RenderedVideo:
    """The video of one render, exactly as the CDN serves it from that render's download URL."""

    project_id: str
    backend_task_id: str
    export_token: str
    source: VideoSource = field(repr=False)

    @property
    def size(self) -> int:
        """Size in bytes."""
        return self.source.size

    @property
    def etag(self) -> str:
        """The ``ETag`` the CDN sends for it."""
        return self.source.etag

    def sha256(self) -> str:
        """Hex SHA-256 of the whole video (streamed for synthetic bodies)."""
        return self.source.sha256()

    def read(self, offset: int = 0, length: int | None = None) -> bytes:
        """Bytes ``[offset, offset+length)`` of the video (``length=None``: to the end)."""
        return self.source.read(offset, length)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SimulatorEngine:
    """What AI Studios knows and does, without HTTP: tokens, renders, faults, counters, signed URLs.

    ``Simulator`` (server.py) serves it over HTTP; the request handler calls one method per route.
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.faults = FaultBook()
        self.counters = Stats()
        # The base video: what every render serves, or what per-render videos are derived from.
        self.video = (
            VideoSource.from_file()
            if self.config.video_size is None
            else VideoSource.synthetic(self.config.video_size)
        )
        self._missing = frozenset(p.lower() for p in self.config.missing_projects)
        self._lock = threading.RLock()
        self._tokens: dict[str, float] = {}
        self._renders: dict[str, Render] = {}  # project id -> its newest render
        self._by_token: dict[str, Render] = {}  # export token -> every render ever made (the CDN's files)
        self._distinct_videos = False
        self.set_distinct_videos(self.config.distinct_videos)
        self._export_serial = 0
        self._signer = DownloadSigner(self.config.signing_key, self.config.download_ttl_seconds)
        self._port: int | None = None  # set by whoever serves the engine (``Simulator.start``)
        self._webhooks = WebhookDispatcher(self.counters, self.config.webhook_timeout_seconds)
        self.inbox = Inbox()  # a caller's own webhook endpoint, for the local stack's tests

    @property
    def port(self) -> int:
        """The bound TCP port (set by ``start()``)."""
        if self._port is None:
            raise RuntimeError("simulator not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: the AI Studios host to configure clients with."""
        return f"http://{self.config.host}:{self.port}"

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

    @property
    def distinct_videos(self) -> bool:
        """Whether new renders get their own video (see ``SimulatorConfig.distinct_videos``)."""
        return self._distinct_videos

    def set_distinct_videos(self, enabled: bool) -> None:
        """Switch per-render video content on or off for renders started from now on."""
        if enabled and self.video.sample is None and self.video.size < MIN_DISTINCT_SYNTHETIC_SIZE:
            raise ValueError(f"distinct videos need video_size >= {MIN_DISTINCT_SYNTHETIC_SIZE}")
        self._distinct_videos = bool(enabled)

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

    def export_state(self, project_id: str) -> dict[str, Any]:
        """``progress``/``state`` (plus ``downloadUrl`` when done) the API reports for a project now.

        Also ``backendTaskId`` and ``resolution`` of the render reported, and ``stale: true`` while a
        ``stale_progress`` fault makes it report the previous render instead of the newest one.
        """
        project_id = project_id.lower()
        with self._lock:
            render = self._renders.get(project_id)
        if render is None:
            return {"projectId": project_id, "progress": 0.0, "state": "idle"}
        now = time.monotonic()
        reported = render.reported(now)
        data = self._progress_data(reported, reported.snapshot(now))
        if reported is not render:
            data["stale"] = True
        return data

    def render_video(
        self,
        project_id: str | None = None,
        *,
        download_url: str | None = None,
        backend_task_id: str | None = None,
    ) -> RenderedVideo:
        """The video of one render, chosen by exactly one of:

        - ``project_id``: the project's newest render (the one the last export request started, even
          while ``stale_progress`` still reports the previous one);
        - ``download_url``: the render a signed download URL names (its signature and expiry are not
          checked), also an old render replaced by newer exports;
        - ``backend_task_id``: the render with that ``backendTaskId`` (as sent in webhooks).

        Raises ``KeyError`` when there is no such render, ``ValueError`` without exactly one selector.
        """
        if sum(x is not None for x in (project_id, download_url, backend_task_id)) != 1:
            raise ValueError("pass exactly one of project_id, download_url, backend_task_id")
        with self._lock:
            if project_id is not None:
                render = self._renders.get(project_id.lower())
            elif download_url is not None:
                match = DOWNLOAD_PATH_RE.match(urlsplit(download_url).path.rstrip("/"))
                render = self._by_token.get(match.group(2)) if match else None
            else:
                render = next(
                    (r for r in self._by_token.values() if r.backend_task_id == backend_task_id), None
                )
        if render is None:
            raise KeyError(f"no render for {project_id or download_url or backend_task_id}")
        return RenderedVideo(render.project_id, render.backend_task_id, render.export_token, render.video)

    def video_size(self, project_id: str | None = None) -> int:
        """Size in bytes of the base video, or of ``project_id``'s newest render's video."""
        return self.video.size if project_id is None else self.render_video(project_id).size

    def video_sha256(self, project_id: str | None = None) -> str:
        """Hex SHA-256 of the base video, or of ``project_id``'s newest render's video.

        The base video is what every render serves unless ``distinct_videos`` is on.
        """
        return self.video.sha256() if project_id is None else self.render_video(project_id).sha256()

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

    # ----------------------------------------------------------------- downloads

    def sign_download_url(self, render: Render) -> str:
        """A fresh signed CDN URL for the render's video, valid ``download_ttl_seconds``."""
        return self._signer.sign(self.base_url, render.project_id, render.export_token)

    def verify_download(self, path: str, query: str) -> str | None:
        """``None`` if ``path?query`` is a valid, unexpired signed URL, else the reason for a 403."""
        return self._signer.verify(path, query)

    def video_for_download(self, path: str) -> VideoSource:
        """The video a (verified) download path names: its render's, or the base video if unknown."""
        match = DOWNLOAD_PATH_RE.match(path)
        with self._lock:
            render = self._by_token.get(match.group(2)) if match else None
        if render is None or render.project_id != (match.group(1) if match else None):
            return self.video
        return render.video

    # ----------------------------------------------------------------- internals

    def _check_project_id(self, project_id: str) -> Reply | None:
        if not OBJECT_ID_RE.match(project_id):
            return error(400, "InvalidParameter", "projectId must be a 24-character hex ObjectId")
        if project_id.lower() in self._missing:
            return error(404, "ProjectNotFound", f"project {project_id.lower()} not found")
        return None

    def _new_render(
        self, project_id: str, resolution: str, workspace_id: str | None, webhook_url: str | None
    ) -> Render:
        with self._lock:
            self._export_serial += 1
            rng = random.Random(f"{self.config.seed}:{project_id}:{self._export_serial}")
            now = time.monotonic()
            backend_task_id, export_token = secrets.token_hex(12), secrets.token_urlsafe(18)
            video = self.video
            if self._distinct_videos:
                box = render_identity_box(backend_task_id, export_token)
                video = video.with_identity(box, time.time() + self.config.render_seconds)
            render = Render(
                project_id=project_id,
                resolution=resolution,
                workspace_id=workspace_id,
                webhook_url=webhook_url,
                render_seconds=self.config.render_seconds,
                started_at=now,
                started_wall=time.time(),
                backend_task_id=backend_task_id,
                export_token=export_token,
                warp=make_warp(rng),
                video=video,
            )
            previous = self._renders.get(project_id)
            self._renders[project_id] = render
            self._by_token[export_token] = render
            self._bind_state_faults(render)
            if previous is not None:
                self._bind_stale_progress(render, previous.reported(now), now)
        return render

    def _bind_state_faults(self, render: Render) -> None:
        now = time.monotonic()
        for fault in self.faults.state_faults(render.project_id):
            if fault.kind != "stale_progress" and render.bind_fault(fault, now):
                self.faults.consume(fault)
                self.counters.incr("faults_triggered")

    def _bind_stale_progress(self, render: Render, previous: Render, now: float) -> None:
        """Make ``render`` report ``previous`` for a while, if a ``stale_progress`` fault asks for it."""
        if not previous.snapshot(now).completed:
            return
        for fault in self.faults.state_faults(render.project_id):
            if fault.kind == "stale_progress":
                seconds = DEFAULT_STALE_SECONDS if fault.stale_seconds is None else fault.stale_seconds
                render.stale_of, render.stale_until = previous, now + seconds
                self.faults.consume(fault)
                self.counters.incr("faults_triggered")
                return

    def _progress_data(self, render: Render, snap: Snapshot) -> dict[str, Any]:
        data: dict[str, Any] = {
            "projectId": render.project_id,
            "progress": snap.progress,
            "state": snap.state,
            "backendTaskId": render.backend_task_id,
            "resolution": render.resolution,
        }
        if snap.completed:
            data["downloadUrl"] = self.sign_download_url(render)
        return data

    def tick(self) -> None:
        """Fire webhooks for milestones crossed since the last tick (run by the ticker thread)."""
        with self._lock:
            renders = [r for r in self._renders.values() if r.webhook_url]
        now = time.monotonic()
        for render in renders:
            snap = render.snapshot(now)
            for milestone in sorted(self.config.webhook_milestones):
                if milestone > snap.progress or milestone in render.milestones_sent:
                    continue
                if milestone >= 100 and not snap.completed:
                    continue
                render.milestones_sent.add(milestone)
                if self.faults.take_request_fault("webhook", render.project_id) is not None:
                    self.counters.incr("webhooks_dropped")  # a ``webhook_drop`` fault: lost on the way
                    self.counters.incr("faults_triggered")
                    continue
                payload: dict[str, Any] = {"progress": milestone, "backendTaskId": render.backend_task_id}
                if snap.completed and milestone >= 100:
                    payload["download_url"] = self.sign_download_url(render)
                assert render.webhook_url is not None
                self._webhooks.submit(render.webhook_url, payload)


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
