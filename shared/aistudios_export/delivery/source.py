"""Opening a video's download: the URL (and every redirect, at most MAX_REDIRECTS) validated under the
URL policy and connected to its validated address, an answer that is not a video refused before any
byte is copied."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urljoin

import requests

from ..errors import PermanentUpstreamError, TransientUpstreamError
from ..net.pinned import PinnedAdapter
from ..net.urls import redact_url, resolve_target
from ..observability import logger
from .ranges import refusal

MAX_REDIRECTS = 3
VIDEO_TYPES = ("video/", "application/mp4", "application/octet-stream", "binary/octet-stream")


def open_download(
    session: requests.Session,
    url: str,
    timeout: tuple[float, float],
    pins: PinnedAdapter | None,
    *,
    local_origin: str | None,
    allowed_hosts: Iterable[str],
) -> tuple[requests.Response, str]:
    """GET the URL, following at most MAX_REDIRECTS redirects, each target validated like the first;
    the open response and the URL it came from. `pins` None: a test's session, not pinned."""
    for _ in range(MAX_REDIRECTS + 1):
        safe = resolve_target(url, local_origin=local_origin, allowed_hosts=allowed_hosts)
        if pins is not None:
            pins.pin(safe)
        try:
            response = session.get(url, stream=True, timeout=timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise TransientUpstreamError(
                f"could not reach the download host: {type(exc).__name__}", code="DownloadUnreachable"
            ) from None
        status = response.status_code
        if status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
            target = urljoin(url, response.headers["Location"])
            response.close()
            logger.info("download redirected", extra={"to": redact_url(target)})
            url = target
            continue
        if status == 200:
            content_type = response.headers.get("Content-Type", "").lower()
            if content_type and not content_type.startswith(VIDEO_TYPES):
                response.close()
                raise PermanentUpstreamError(f"the download is {content_type}, not a video", code="NotAVideo")
            return response, url
        response.close()
        raise refusal(status)
    raise PermanentUpstreamError("too many redirects from the download host", code="TooManyRedirects")
