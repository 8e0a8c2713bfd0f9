"""When a file was last modified, as the server that holds it says: evidence of which render a video
belongs to (workflow/poll.py, the stale-100 rule). The URL is validated and its address pinned as
for any fetch; one byte is asked for (a presigned GET URL may refuse HEAD), and nothing is kept."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from email.utils import parsedate_to_datetime

import requests

from ..errors import ExportPipelineError
from .pinned import pinned_session
from .urls import resolve_target


def last_modified(
    url: str,
    *,
    local_origin: str | None,
    allowed_hosts: Iterable[str],
    timeout: tuple[float, float] = (3.05, 5.0),
) -> datetime | None:
    """The file's Last-Modified; None when the server does not say, or cannot be asked."""
    try:
        target = resolve_target(url, local_origin=local_origin, allowed_hosts=allowed_hosts)
        session, pins = pinned_session()
        pins.pin(target)
        with (
            session,
            session.get(
                url, headers={"Range": "bytes=0-0"}, stream=True, timeout=timeout, allow_redirects=False
            ) as response,
        ):
            value = response.headers.get("Last-Modified") if response.status_code in (200, 206) else None
        return parsedate_to_datetime(value) if value else None
    except (ExportPipelineError, requests.RequestException, TypeError, ValueError):
        return None  # unknown: the rule goes on to weaker evidence (the caller logs what it decides)
