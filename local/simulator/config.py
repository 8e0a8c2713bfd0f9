"""Configuration and fault descriptions for the AI Studios simulator."""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, field
from typing import Any

from .throttle import check_rate
from .video import MIN_DISTINCT_SYNTHETIC_SIZE

#: Route names used by faults, counters and logs.
ROUTES: tuple[str, ...] = ("token", "export", "progress", "project", "download", "webhook", "any")

#: Fault kinds that act on a single request (consumed one ``times`` per matching request).
REQUEST_FAULT_KINDS: frozenset[str] = frozenset(
    {
        "http_status",
        "reset",
        "slow",
        "envelope_error",
        "expire_tokens",
        "download_truncate",
        "download_403",
        "download_redirect",
        "download_huge",
        "download_endless",
    }
)

#: Fault kinds that change the state of a render (consumed one ``times`` per render they bind to).
STATE_FAULT_KINDS: frozenset[str] = frozenset({"export_fail", "export_stall", "stale_progress"})

#: Fault kinds that only make sense on the download (CDN) route.
DOWNLOAD_ONLY_KINDS: frozenset[str] = frozenset(
    {"download_truncate", "download_403", "download_redirect", "download_huge", "download_endless"}
)

#: What ``download_huge`` advertises unless told: 5 TiB, the largest object S3 holds.
DEFAULT_ADVERTISED_BYTES = 5 * 1024**4

#: Fault kinds that act on the webhooks the simulator sends (route ``webhook``; one ``times`` each).
WEBHOOK_FAULT_KINDS: frozenset[str] = frozenset({"webhook_drop"})

FAULT_KINDS: frozenset[str] = REQUEST_FAULT_KINDS | STATE_FAULT_KINDS | WEBHOOK_FAULT_KINDS

RESOLUTIONS: tuple[str, ...] = ("4k", "1080", "720", "480")
DEFAULT_RESOLUTION = "1080"

#: How long ``stale_progress`` keeps reporting the previous render when ``stale_seconds`` is not given.
DEFAULT_STALE_SECONDS = 3.0

#: Default of ``Fault.times``: 1, or ``None`` (no count limit) when ``for_seconds`` bounds the fault.
_TIMES_DEFAULT: Any = object()


@dataclass(frozen=True)
class SimulatorConfig:
    """Settings of one simulator instance.

    Attributes:
        host: interface to bind; loopback only (``127.0.0.1``).
        port: TCP port; ``0`` picks a free port (read it back from ``Simulator.port``).
        app_id: the only ``appId`` the token route accepts.
        user_key: the only ``userKey`` the token route accepts.
        token_ttl_seconds: lifetime of an issued token (AI Studios: 24 h).
        render_seconds: time from an export request until progress reaches 100.
        download_ttl_seconds: lifetime of a signed ``downloadUrl`` from the moment it is handed out.
        video_size: ``None`` serves the committed sample MP4; an int serves a deterministic
            synthetic MP4-typed body of exactly that many bytes (at least 32).
        distinct_videos: give every render its own video: the base video (sample or synthetic) with a
            top-level ``free`` box naming the render (backendTaskId, exportToken) at its end, so each
            render has its own bytes, SHA-256 and ETag. The sample grows by that box (110 bytes); a
            synthetic body keeps exactly ``video_size`` bytes (then at least 142). ``False`` (default):
            every render serves the same base video. Changeable at run time with
            ``Simulator.set_distinct_videos``; each render keeps the content it was created with.
        download_bytes_per_second: bandwidth cap of every download response (each GET, ranged or not,
            is paced on its own, so N parallel connections get N times the rate, like a CDN that caps
            per connection); ``None`` (default) = unlimited.
        missing_projects: project ObjectIds that do not exist (404 ``ProjectNotFound``).
        webhook_milestones: progress values at which a webhook is posted to ``webhookUrl``.
        seed: seed of the progress jitter, so runs are reproducible.
        signing_key: HMAC key of download URLs; random per instance by default.
        log_requests: write one redacted line per request to stderr.
        webhook_timeout_seconds: timeout of one webhook delivery attempt.
        tick_seconds: period of the background ticker that fires webhooks.
    """

    host: str = "127.0.0.1"
    port: int = 0
    app_id: str = "sim-app-id"
    user_key: str = "sim-user-key"
    token_ttl_seconds: float = 86400.0
    render_seconds: float = 20.0
    download_ttl_seconds: float = 3600.0
    video_size: int | None = None
    distinct_videos: bool = False
    download_bytes_per_second: float | None = None
    missing_projects: frozenset[str] = frozenset()
    webhook_milestones: tuple[int, ...] = (25, 50, 75, 100)
    seed: int = 0
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    log_requests: bool = False
    webhook_timeout_seconds: float = 5.0
    tick_seconds: float = 0.1

    def __post_init__(self) -> None:
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the simulator binds loopback only, not {self.host!r}")
        if self.render_seconds < 0:
            raise ValueError("render_seconds must be >= 0")
        if self.video_size is not None and self.video_size < 32:
            raise ValueError("video_size must be at least 32 bytes (ftyp + mdat headers)")
        if (
            self.distinct_videos
            and self.video_size is not None
            and self.video_size < MIN_DISTINCT_SYNTHETIC_SIZE
        ):
            raise ValueError(
                f"with distinct_videos, video_size must be at least {MIN_DISTINCT_SYNTHETIC_SIZE} bytes"
                " (ftyp + mdat headers + the render's identity box)"
            )
        check_rate(self.download_bytes_per_second)
        if any(not 0 < m <= 100 for m in self.webhook_milestones):
            raise ValueError("webhook_milestones must be in (0, 100]")


@dataclass
class Fault:
    """One injected fault.

    Attributes:
        kind: one of ``http_status``, ``reset``, ``slow``, ``envelope_error``, ``expire_tokens``,
            ``export_fail``, ``export_stall``, ``stale_progress``, ``download_truncate``,
            ``download_403``, ``download_redirect``, ``download_huge``, ``download_endless``.

            ``download_huge`` makes the video's size a lie: the download answers as if it had
            ``advertised_bytes`` bytes (``Content-Length`` of a 200, the total of a 206's
            ``Content-Range``, ranges checked against it), sends the real bytes it has within the
            range asked, then closes the connection. ``download_endless`` answers with no length and
            no ``Accept-Ranges`` and repeats the video's bytes until the client hangs up.

            ``stale_progress`` reproduces AI Studios reporting the PREVIOUS render right after a new
            export request: when an export of a project whose current render has completed is requested,
            the progress and project routes (and ``export_state``) keep answering with that previous
            render (progress 100, its completed state and a fresh signed download URL of the previous
            render's video) for ``stale_seconds`` after the export request, then switch to the new render.
            The new render starts at the export request, so it is already partly done at the switch.
            It binds only to an export request that replaces a completed render (otherwise it stays
            pending); ``times`` counts such export requests. Webhooks are not affected.

            ``webhook_drop`` loses webhooks: each one the simulator would post (to a matching
            project's ``webhookUrl``) is dropped instead, one ``times`` each; its route is ``webhook``.
        route: ``token``, ``export``, ``progress``, ``project``, ``download`` or ``any`` (request faults).
        project_id: restrict to one project (``None`` = every project / project-less requests).
        times: how many matching requests (or renders, for state faults) it affects;
            ``None`` = no count limit. Default 1, or ``None`` when ``for_seconds`` is given.
        for_seconds: the fault expires this many seconds after it is injected (time-bounded, e.g. an
            outage: ``Fault("http_status", route="progress", status=503, for_seconds=10)`` answers every
            progress request with 503 for 10 s, then the route recovers). Combined with ``times``,
            whichever runs out first ends it. ``None`` = no time limit.
        status: HTTP status for ``http_status`` (default 500).
        retry_after: ``Retry-After`` seconds sent with a 429 (default 1).
        delay: seconds ``slow`` waits before answering (default 1).
        code: error code of ``envelope_error`` / ``http_status`` envelopes.
        msg: error message of ``envelope_error`` / ``http_status`` envelopes.
        at_progress: progress where ``export_fail`` fails / ``export_stall`` stalls (default 40).
        after_bytes: bytes sent before ``download_truncate`` closes (default half the body), or before
            ``download_endless`` ends after all (default never).
        redirect_host: host of the ``download_redirect`` Location (default ``127.0.0.2``).
        advertised_bytes: the size ``download_huge`` announces (default 5 TiB).
        stale_seconds: how long ``stale_progress`` reports the previous render, counted from the new
            export request (default 3).
    """

    kind: str
    route: str = "any"
    project_id: str | None = None
    times: int | None = _TIMES_DEFAULT
    status: int | None = None
    retry_after: float | None = None
    delay: float | None = None
    code: str | None = None
    msg: str | None = None
    at_progress: float | None = None
    after_bytes: int | None = None
    redirect_host: str | None = None
    for_seconds: float | None = None
    stale_seconds: float | None = None
    advertised_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.times is _TIMES_DEFAULT:
            self.times = None if self.for_seconds is not None else 1
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if self.kind in WEBHOOK_FAULT_KINDS and self.route == "any":
            self.route = "webhook"
        if (self.kind in WEBHOOK_FAULT_KINDS) != (self.route == "webhook"):
            raise ValueError("the webhook route takes webhook faults only, and webhook faults only it")
        if self.route not in ROUTES:
            raise ValueError(f"unknown fault route {self.route!r}; expected one of {list(ROUTES)}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 or None (forever)")
        if self.kind == "http_status" and self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"invalid HTTP status {self.status}")
        if self.at_progress is not None and not 0 <= self.at_progress <= 100:
            raise ValueError("at_progress must be within 0..100")
        if self.for_seconds is not None and not self.for_seconds > 0:
            raise ValueError("for_seconds must be > 0 or None (no time limit)")
        if self.stale_seconds is not None:
            if self.kind != "stale_progress":
                raise ValueError("stale_seconds applies to stale_progress faults only")
            if self.stale_seconds < 0:
                raise ValueError("stale_seconds must be >= 0")
        if self.advertised_bytes is not None:
            if self.kind != "download_huge":
                raise ValueError("advertised_bytes applies to download_huge faults only")
            if self.advertised_bytes < 1:
                raise ValueError("advertised_bytes must be >= 1")

    @property
    def is_state_fault(self) -> bool:
        """True for faults that change a render instead of a single request."""
        return self.kind in STATE_FAULT_KINDS

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (used by the admin route)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """Build a fault from a JSON object; unknown keys and wrong types raise ``ValueError``."""
        if not isinstance(data, dict):
            raise ValueError("a fault must be a JSON object")
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown fault fields: {unknown}")
        if "kind" not in data:
            raise ValueError("a fault needs a 'kind'")
        values = {name: _coerce(name, value) for name, value in data.items()}
        return cls(**values)

    @classmethod
    def from_spec(cls, spec: str) -> Fault:
        """Parse the CLI form ``KIND[:key=value,...]``, e.g. ``http_status:route=progress,status=503``."""
        kind, _, rest = spec.partition(":")
        data: dict[str, Any] = {"kind": kind.strip()}
        for item in filter(None, (part.strip() for part in rest.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"fault parameter {item!r} is not key=value")
            data[key.strip()] = _parse_scalar(value.strip())
        return cls.from_dict(data)


_INT_FIELDS = frozenset({"times", "status", "after_bytes", "advertised_bytes"})
_FLOAT_FIELDS = frozenset({"retry_after", "delay", "at_progress", "for_seconds", "stale_seconds"})
_STR_FIELDS = frozenset({"kind", "route", "project_id", "code", "msg", "redirect_host"})


def _parse_scalar(text: str) -> Any:
    """Turn a CLI value into None/int/float/str."""
    if text.lower() in ("none", "null", "forever", ""):
        return None
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            continue
    return text


def _coerce(name: str, value: Any) -> Any:
    """Validate and convert one fault field value."""
    if value is None:
        if name == "kind":
            raise ValueError("fault 'kind' may not be null")
        return None
    if isinstance(value, bool):
        raise ValueError(f"fault field {name!r} may not be a boolean")
    if name in _INT_FIELDS:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, int):
            raise ValueError(f"fault field {name!r} must be an integer")
        return value
    if name in _FLOAT_FIELDS:
        if not isinstance(value, int | float):
            raise ValueError(f"fault field {name!r} must be a number")
        return float(value)
    if name in _STR_FIELDS:
        return str(value)
    raise ValueError(f"unknown fault field {name!r}")
