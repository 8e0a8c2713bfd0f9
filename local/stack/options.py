"""Settings of a local deployment, and the error raised when the environment cannot make them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .template import REPO

LOCAL_DIR = REPO / ".local"


class DeploymentConfigError(ValueError):
    """The environment asks for a deployment that cannot be made (the CLI prints it and exits)."""


def _iam_mode() -> str:
    return os.environ.get("LOCAL_STACK_IAM", "enforce").strip().lower() or "enforce"


@dataclass
class DeploymentOptions:
    """Knobs of the local deployment. Defaults make the demo finish in seconds."""

    stack_name: str = "aistudios-export-local"
    region: str = "us-east-1"
    aistudios_url: str | None = None
    aistudios_app_id: str = ""
    aistudios_user_key: str = field(default="", repr=False)
    render_seconds: float = 6.0
    video_size: int | None = None
    # Per-connection cap of the simulator's downloads (bytes/s), like a CDN's; None = unlimited.
    download_bytes_per_second: float | None = None
    poll_min_wait_seconds: int = 1
    poll_max_wait_seconds: int = 3
    # A 100 nobody saw coming, on no evidence (the look before the request failed), counts after
    # this long: the template's default, so that the local stack is no easier to fool than AWS (a
    # test may shorten it, saying so).
    stale_grace_seconds: float = 60.0
    # Each render's video carries its identity, so a test can tell which render was delivered.
    distinct_videos: bool = True
    export_deadline_seconds: float = 120.0
    # A queued request whose project is busy comes back after 2 s, 4 s, ... rather than 30 s, 60 s, ...
    request_retry_base_seconds: int = 2
    # Scheduled functions (the reconciler) run this often, not at the template's rate; the reconciler
    # looks at an open export this long after its deadline, not ten minutes.
    schedule_seconds: float = 10.0
    reconcile_margin_seconds: float = 5.0
    parameters: dict[str, str] = field(default_factory=dict)
    function_env: dict[str, str] = field(default_factory=dict)
    moto_port: int = 0
    api_port: int = 0
    log_dir: Path | None = LOCAL_DIR / "logs"
    write_endpoints: bool = True
    # How the functions' and the state machine's roles are held to their policies (local/stack/iam/):
    # "enforce" refuses what AWS would refuse; "audit" records what it would refuse and lets it
    # through; "off" neither. LOCAL_STACK_IAM sets the default.
    iam: str = field(default_factory=_iam_mode)
    # Deploy as a user who brings their own credentials secret, encrypted with their own KMS key
    # (ExistingCredentialsSecretArn): reading it then needs kms:Decrypt through Secrets Manager.
    existing_credentials_secret: bool = False
    # Deliver to a bucket of the user's own (DestinationBucketName), under their KMS key
    # (DestinationKmsKeyArn; locally also alias/<name>) and a key template (DestinationKeyTemplate):
    # DEST_BUCKET, DEST_KMS_KEY, KEY_TEMPLATE. Made before the stack if missing (accounts.py).
    destination_bucket: str = ""
    destination_kms_key: str = ""
    key_template: str = ""

    @classmethod
    def from_env(cls, **overrides: Any) -> DeploymentOptions:
        """Honours AISTUDIOS_URL (+ AISTUDIOS_APP_ID / AISTUDIOS_USER_KEY) to drive another endpoint."""
        options = cls(**overrides)
        for name, variable in (
            ("destination_bucket", "DEST_BUCKET"),
            ("destination_kms_key", "DEST_KMS_KEY"),
            ("key_template", "KEY_TEMPLATE"),
        ):
            setattr(options, name, os.environ.get(variable, "").strip() or getattr(options, name))
        options.check_destination()
        url = os.environ.get("AISTUDIOS_URL", "").strip()
        if url:
            options.aistudios_url = url.rstrip("/")
            options.aistudios_app_id = os.environ.get("AISTUDIOS_APP_ID", "")
            options.aistudios_user_key = os.environ.get("AISTUDIOS_USER_KEY", "")
            if not (options.aistudios_app_id and options.aistudios_user_key):
                raise DeploymentConfigError(
                    "AISTUDIOS_URL needs AISTUDIOS_APP_ID and AISTUDIOS_USER_KEY in the environment"
                )
        return options

    def check_destination(self) -> None:
        """The destination options, checked as the template's parameters will be."""
        from aistudios_export.delivery.keys import KeyTemplate

        if self.key_template:
            try:
                KeyTemplate.parse(self.key_template)
            except ValueError as exc:
                raise DeploymentConfigError(f"KEY_TEMPLATE {exc}") from None
        if self.destination_kms_key and not self.destination_kms_key.startswith(("alias/", "arn:aws:kms:")):
            raise DeploymentConfigError("DEST_KMS_KEY must be a KMS key ARN or alias/<name>")
