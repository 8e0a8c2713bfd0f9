"""What the simulated AI Studios knows: issued tokens, every project's renders (with the faults bound
to them), and the signed download URLs of their videos. The API operations over it are engine.py's."""

from __future__ import annotations

import random
import secrets
import threading
import time
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

from .config import DEFAULT_STALE_SECONDS, SimulatorConfig
from .faults import FaultBook
from .inbox import Inbox
from .render import Render, RenderedVideo, Snapshot, make_warp
from .signing import DOWNLOAD_PATH_RE, DownloadSigner
from .stats import Stats
from .video import MIN_DISTINCT_SYNTHETIC_SIZE, VideoSource, render_identity_box
from .webhooks import WebhookDispatcher


class SimulatorState:
    """Tokens, renders and their videos, faults bound to renders, counters, signed URLs, webhooks due.

    ``SimulatorEngine`` (engine.py) answers the API's operations from it.
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

    @property
    def distinct_videos(self) -> bool:
        """Whether new renders get their own video (see ``SimulatorConfig.distinct_videos``)."""
        return self._distinct_videos

    def set_distinct_videos(self, enabled: bool) -> None:
        """Switch per-render video content on or off for renders started from now on."""
        if enabled and self.video.sample is None and self.video.size < MIN_DISTINCT_SYNTHETIC_SIZE:
            raise ValueError(f"distinct videos need video_size >= {MIN_DISTINCT_SYNTHETIC_SIZE}")
        self._distinct_videos = bool(enabled)

    # ----------------------------------------------------------------- renders

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

    # ----------------------------------------------------------------- downloads

    def sign_download_url(self, render: Render) -> str:
        """A fresh signed CDN URL for the render's video, valid ``download_ttl_seconds``."""
        return self._signer.sign(self.base_url, render.project_id, render.export_token)

    def verify_download(self, path: str, query: str) -> str | None:
        """``None`` if ``path?query`` is a valid, unexpired signed URL, else the reason for a 403."""
        return self._signer.verify(path, query)

    def last_modified_for_download(self, path: str) -> str | None:
        """The ``Last-Modified`` of a render's file: when the render completed (the file was written
        then, as a CDN would say); ``None`` for a path that names no render."""
        match = DOWNLOAD_PATH_RE.match(path)
        with self._lock:
            render = self._by_token.get(match.group(2)) if match else None
        if render is None:
            return None
        return formatdate(render.started_wall + render.render_seconds, usegmt=True)

    def video_for_download(self, path: str) -> VideoSource:
        """The video a (verified) download path names: its render's, or the base video if unknown."""
        match = DOWNLOAD_PATH_RE.match(path)
        with self._lock:
            render = self._by_token.get(match.group(2)) if match else None
        if render is None or render.project_id != (match.group(1) if match else None):
            return self.video
        return render.video

    # ----------------------------------------------------------------- webhooks

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
