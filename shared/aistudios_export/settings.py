"""Configuration, read once from the environment into a typed object that fails fast."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigurationError


def _num(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be >= {minimum}, got {raw!r}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """Everything a function may need. `require` names what a given function cannot run without."""

    aistudios_base_url: str = "https://app.aistudios.com"
    credentials_secret_id: str = ""
    local_app_id: str = field(default="", repr=False)
    local_user_key: str = field(default="", repr=False)
    table_name: str = ""
    idempotency_table: str = ""
    bucket_name: str = ""
    topic_arn: str = ""
    event_bus_name: str = ""
    state_machine_arn: str = ""
    default_resolution: str = "1080"
    export_deadline_seconds: float = 1800.0
    poll_min_wait_seconds: float = 15.0
    poll_max_wait_seconds: float = 60.0
    connect_timeout: float = 3.05
    read_timeout: float = 20.0
    call_budget_seconds: float | None = None
    part_size_bytes: int = 16 * 1024 * 1024
    download_allowed_hosts: tuple[str, ...] = ()
    allow_insecure_urls: bool = False
    presign_seconds: int = 3600
    key_prefix: str = "exports"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, require: tuple[str, ...] = ()) -> Settings:
        env = os.environ if env is None else env
        settings = cls(
            aistudios_base_url=env.get("AISTUDIOS_BASE_URL", cls.aistudios_base_url).rstrip("/"),
            credentials_secret_id=env.get("AISTUDIOS_SECRET_ID", ""),
            local_app_id=env.get("AISTUDIOS_APP_ID", ""),
            local_user_key=env.get("AISTUDIOS_USER_KEY", ""),
            table_name=env.get("EXPORTS_TABLE", ""),
            idempotency_table=env.get("IDEMPOTENCY_TABLE", ""),
            bucket_name=env.get("VIDEO_BUCKET", ""),
            topic_arn=env.get("NOTIFICATION_TOPIC_ARN", ""),
            event_bus_name=env.get("EVENT_BUS_NAME", ""),
            state_machine_arn=env.get("STATE_MACHINE_ARN", ""),
            default_resolution=env.get("DEFAULT_RESOLUTION", "1080"),
            export_deadline_seconds=_num(
                env,
                "EXPORT_DEADLINE_SECONDS",
                _num(env, "EXPORT_DEADLINE_MINUTES", 30.0, minimum=0.1) * 60,
                minimum=1,
            ),
            poll_min_wait_seconds=_num(env, "POLL_MIN_WAIT_SECONDS", 15.0, minimum=1),
            poll_max_wait_seconds=_num(env, "POLL_MAX_WAIT_SECONDS", 60.0, minimum=1),
            connect_timeout=_num(env, "HTTP_CONNECT_TIMEOUT", 3.05, minimum=0.1),
            read_timeout=_num(env, "HTTP_READ_TIMEOUT", 20.0, minimum=0.1),
            call_budget_seconds=_num(env, "HTTP_CALL_BUDGET_SECONDS", 0.0, minimum=0) or None,
            part_size_bytes=int(_num(env, "PART_SIZE_MB", 16, minimum=5) * 1024 * 1024),
            download_allowed_hosts=tuple(
                h.strip() for h in env.get("DOWNLOAD_ALLOWED_HOSTS", "").split(",") if h.strip()
            ),
            allow_insecure_urls=_flag(env, "ALLOW_INSECURE_URLS"),
            presign_seconds=int(_num(env, "PRESIGN_SECONDS", 3600, minimum=60)),
            key_prefix=env.get("KEY_PREFIX", "exports").strip("/") or "exports",
        )
        settings.check(require)
        return settings

    def check(self, require: tuple[str, ...]) -> None:
        missing = [name for name in require if not getattr(self, name)]
        if missing:
            names = ", ".join(_ENV_NAMES.get(m, m) for m in missing)
            raise ConfigurationError(f"missing required environment variable(s): {names}")
        if self.poll_min_wait_seconds > self.poll_max_wait_seconds:
            raise ConfigurationError("POLL_MIN_WAIT_SECONDS must not exceed POLL_MAX_WAIT_SECONDS")
        if self.default_resolution not in ("4k", "1080", "720", "480"):
            raise ConfigurationError("DEFAULT_RESOLUTION must be one of 4k, 1080, 720, 480")
        if not self.aistudios_base_url.startswith(("https://", "http://")):
            raise ConfigurationError("AISTUDIOS_BASE_URL must be an http(s) URL")
        if self.aistudios_base_url.startswith("http://") and not self.allow_insecure_urls:
            raise ConfigurationError("AISTUDIOS_BASE_URL must use https (ALLOW_INSECURE_URLS is off)")

    def describe(self) -> dict[str, Any]:
        """Safe to log: no credentials."""
        return {k: v for k, v in self.__dict__.items() if k not in ("local_app_id", "local_user_key")}


_ENV_NAMES = {
    "table_name": "EXPORTS_TABLE",
    "bucket_name": "VIDEO_BUCKET",
    "topic_arn": "NOTIFICATION_TOPIC_ARN",
    "state_machine_arn": "STATE_MACHINE_ARN",
    "credentials_secret_id": "AISTUDIOS_SECRET_ID",
    "event_bus_name": "EVENT_BUS_NAME",
}
