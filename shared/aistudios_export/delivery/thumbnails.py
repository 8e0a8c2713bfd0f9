"""The project's thumbnail, copied next to its video when AI Studios offers one. Optional: any
failure is logged and forgotten, never the export's. Fetched under the same URL policy as videos."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import requests
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import ExportPipelineError
from ..net.pinned import pinned_session
from ..net.urls import redact_url, resolve_target
from ..observability import logger
from .keys import SSE_S3_ARGUMENTS

MAX_THUMBNAIL_BYTES = 5 * 1024 * 1024
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


def copy_thumbnail(
    s3: Any,
    url: str,
    *,
    bucket: str,
    key_stem: str,
    encryption: Mapping[str, Any] = SSE_S3_ARGUMENTS,
    metadata: Mapping[str, str] | None = None,
    local_origin: str | None = None,
    allowed_hosts: Iterable[str] = (),
    timeout: tuple[float, float] = (3.05, 10.0),
) -> str | None:
    """The key of the stored thumbnail (`key_stem` plus its extension), or None if there is none.
    `encryption` and `metadata`: the video's (PutObject's arguments, S3 user metadata)."""
    try:
        target = resolve_target(url, local_origin=local_origin, allowed_hosts=allowed_hosts)
        session, pins = pinned_session()
        pins.pin(target)
        with session, session.get(url, stream=True, timeout=timeout, allow_redirects=False) as response:
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if response.status_code != 200 or content_type not in EXTENSIONS:
                raise ValueError(f"HTTP {response.status_code}, {content_type or 'no type'}")
            data = b""
            for chunk in response.iter_content(chunk_size=256 * 1024):
                data += chunk
                if len(data) > MAX_THUMBNAIL_BYTES:
                    break
        if not data or len(data) > MAX_THUMBNAIL_BYTES:
            raise ValueError(f"{len(data)} bytes")
        key = f"{key_stem}.{EXTENSIONS[content_type]}"
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            Metadata=dict(metadata or {}),
            **encryption,
        )
    except (ExportPipelineError, requests.RequestException, BotoCoreError, ClientError, ValueError) as exc:
        logger.warning("thumbnail not copied", extra={"url": redact_url(url), "reason": str(exc)})
        return None
    return key
