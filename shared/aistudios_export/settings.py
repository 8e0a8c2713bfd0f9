"""Configuration, read once from the environment into a typed object that fails fast.

Each setting declares the environment variable it is read from, once, beside its default."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from botocore.config import Config

from .errors import ConfigurationError
from .models import RESOLUTIONS
from .net.urls import origin_of
from .waiting import DEFAULT_MAX_WAIT, DEFAULT_MIN_WAIT

_Parse = Callable[[str, str], Any]


def _text(name: str, raw: str) -> str:
    return raw


def _number(minimum: float) -> _Parse:
    def parse(name: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
        if value < minimum:
            raise ConfigurationError(f"{name} must be >= {minimum:g}, got {raw!r}")
        return value

    return parse


def _integer(minimum: float, scale: int = 1) -> _Parse:
    number = _number(minimum)
    return lambda name, raw: int(number(name, raw) * scale)


def _flag(name: str, raw: str) -> bool:
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _hosts(name: str, raw: str) -> tuple[str, ...]:
    return tuple(h.strip() for h in raw.split(",") if h.strip())


def _url(name: str, raw: str) -> str:
    return raw.rstrip("/")


def _optional_megabytes(name: str, raw: str) -> int | None:
    return _integer(1, 1024 * 1024)(name, raw) if raw else None


def _optional_seconds(name: str, raw: str) -> float | None:
    return _number(0)(name, raw) or None


def env(name: str, default: Any, parse: _Parse = _text, *, secret: bool = False) -> Any:
    """A setting read from environment variable `name`; unset or empty keeps `default`."""
    return field(default=default, repr=not secret, metadata={"env": name, "parse": parse})


@dataclass(frozen=True)
class Settings:
    """Everything a function may need. `require` names what a given function cannot run without."""

    aistudios_base_url: str = env("AISTUDIOS_BASE_URL", "https://app.aistudios.com", _url)
    credentials_secret_id: str = env("AISTUDIOS_SECRET_ID", "")
    local_app_id: str = env("AISTUDIOS_APP_ID", "", secret=True)
    local_user_key: str = env("AISTUDIOS_USER_KEY", "", secret=True)
    table_name: str = env("EXPORTS_TABLE", "")
    idempotency_table: str = env("IDEMPOTENCY_TABLE", "")
    bucket_name: str = env("VIDEO_BUCKET", "")
    topic_arn: str = env("NOTIFICATION_TOPIC_ARN", "")
    event_bus_name: str = env("EVENT_BUS_NAME", "")
    state_machine_arn: str = env("STATE_MACHINE_ARN", "")
    default_resolution: str = env("DEFAULT_RESOLUTION", "1080")
    export_deadline_minutes: float = env("EXPORT_DEADLINE_MINUTES", 30.0, _number(0.1))
    # Finer than minutes, for the local stack and tests; wins over the minutes when set.
    export_deadline_override: float | None = env("EXPORT_DEADLINE_SECONDS", None, _number(1))
    poll_min_wait_seconds: float = env("POLL_MIN_WAIT_SECONDS", float(DEFAULT_MIN_WAIT), _number(1))
    poll_max_wait_seconds: float = env("POLL_MAX_WAIT_SECONDS", float(DEFAULT_MAX_WAIT), _number(1))
    connect_timeout: float = env("HTTP_CONNECT_TIMEOUT", 3.05, _number(0.1))
    read_timeout: float = env("HTTP_READ_TIMEOUT", 20.0, _number(0.1))
    call_budget_seconds: float | None = env("HTTP_CALL_BUDGET_SECONDS", None, _optional_seconds)
    part_size_bytes: int = env("PART_SIZE_MB", 8 * 1024 * 1024, _integer(5, 1024 * 1024))
    delivery_workers: int = env("DELIVERY_WORKERS", 8, _integer(1))
    # A larger video is refused before any byte is fetched (MaxVideoBytes says why; the default is
    # delivery/memory.py's, which a test holds equal, without importing the delivery here).
    max_video_bytes: int = env("MAX_VIDEO_BYTES", 10 * 1024**3, _integer(1))
    # Set by Lambda itself; the delivery plans its workers within it (delivery/memory.py).
    function_memory_bytes: int | None = env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", None, _optional_megabytes)
    download_allowed_hosts: tuple[str, ...] = env("DOWNLOAD_ALLOWED_HOSTS", (), _hosts)
    # Local only: the one plain-http origin that may be fetched (the simulator's), scheme://host:port.
    local_http_origin: str = env("LOCAL_HTTP_ORIGIN", "")
    presign_seconds: int = env("PRESIGN_SECONDS", 300, _integer(60))
    # Where the videos land in VIDEO_BUCKET, and how they are encrypted: AES256, bucket-default or
    # a KMS key ARN. Checked by the functions that write or link videos, at cold start (Adapters,
    # delivery/keys.py, whose default a test holds equal, without importing the delivery here).
    key_template: str = env("KEY_TEMPLATE", "exports/{projectId}/{exportId}.mp4")
    video_encryption: str = env("VIDEO_ENCRYPTION", "AES256")
    # Every AWS call: explicit timeouts and the standard retry mode (the API's function sets tight ones).
    aws_connect_timeout: float = env("AWS_CONNECT_TIMEOUT", 2.0, _number(0.1))
    aws_read_timeout: float = env("AWS_READ_TIMEOUT", 20.0, _number(0.1))
    aws_max_attempts: int = env("AWS_MAX_ATTEMPTS", 3, _integer(1))
    # The request queue (S3 request files and Export Requested events; see intake).
    request_queue_url: str = env("REQUEST_QUEUE_URL", "")
    request_max_attempts: int = env("REQUEST_MAX_ATTEMPTS", 8, _integer(1))
    request_retry_base_seconds: int = env("REQUEST_RETRY_BASE_SECONDS", 30, _integer(1))
    # The reconciler (workflow/reconcile.py) looks at an open export this long after its deadline.
    reconcile_margin_seconds: float = env("RECONCILE_MARGIN_SECONDS", 600.0, _number(0))
    # A reading of 100 right after the request may be the previous render's (see workflow.poll_export).
    stale_grace_seconds: float = env("STALE_GRACE_SECONDS", 60.0, _number(0))
    # Verified AI Studios webhooks (see webhooks/receiver.py): the start step gives AI Studios a per-export
    # receiver URL on the API; the receiver signs what it forwards with this secret.
    webhooks_enabled: bool = env("WEBHOOKS_ENABLED", False, _flag)
    webhook_secret_id: str = env("WEBHOOK_SIGNING_SECRET_ID", "")
    # The receiver's base URL for exports started without an API request (the request queue).
    webhook_receiver_url: str = env("WEBHOOK_RECEIVER_URL", "", _url)

    @property
    def export_deadline_seconds(self) -> float:
        if self.export_deadline_override is not None:
            return self.export_deadline_override
        return self.export_deadline_minutes * 60

    def aws_config(self) -> Config:
        # S3 checks each part's CRC32C, sent over TLS; botocore would also SHA-256 every part to sign
        # it (because the checksum is ours, not its own), a second pass over each byte of a video.
        return Config(
            connect_timeout=self.aws_connect_timeout,
            read_timeout=self.aws_read_timeout,
            retries={"mode": "standard", "total_max_attempts": self.aws_max_attempts},
            s3={"payload_signing_enabled": False},
        )

    def aws_call_worst_seconds(self) -> float:
        """The longest one AWS call can take: every attempt timing out, plus standard-mode backoff
        (at most 1 s before the 2nd attempt, 2 s before the 3rd, ...)."""
        attempts = self.aws_max_attempts
        backoff = sum(min(2.0**i, 20.0) for i in range(attempts - 1))
        return attempts * (self.aws_connect_timeout + self.aws_read_timeout) + backoff

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, require: tuple[str, ...] = ()) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = environ.get(spec.metadata["env"])
            if raw is not None and raw != "":
                values[spec.name] = spec.metadata["parse"](spec.metadata["env"], raw)
        settings = cls(**values)
        settings.check(require)
        return settings

    @classmethod
    def env_name(cls, setting: str) -> str:
        """The environment variable a setting is read from."""
        return str({f.name: f.metadata["env"] for f in fields(cls)}[setting])

    def check(self, require: tuple[str, ...]) -> None:
        missing = [name for name in require if not getattr(self, name)]
        if missing:
            names = ", ".join(self.env_name(m) for m in missing)
            raise ConfigurationError(f"missing required environment variable(s): {names}")
        if self.poll_min_wait_seconds > self.poll_max_wait_seconds:
            raise ConfigurationError("POLL_MIN_WAIT_SECONDS must not exceed POLL_MAX_WAIT_SECONDS")
        if self.default_resolution not in RESOLUTIONS:
            raise ConfigurationError(f"DEFAULT_RESOLUTION must be one of {', '.join(RESOLUTIONS)}")
        if not self.aistudios_base_url.startswith(("https://", "http://")):
            raise ConfigurationError("AISTUDIOS_BASE_URL must be an http(s) URL")
        if self.aistudios_base_url.startswith("http://") and (
            not self.local_http_origin
            or origin_of(self.aistudios_base_url) != origin_of(self.local_http_origin)
        ):
            raise ConfigurationError(
                "AISTUDIOS_BASE_URL must use https (plain http only to LOCAL_HTTP_ORIGIN)"
            )
