"""Whose render a 100 is: the stale-100 rule, shared by the poll (is the video ready?) and the
webhook receiver (may a webhook's 100 be confirmed?), so that both judge a 100 alike."""

from __future__ import annotations

from datetime import datetime

from ..adapters import Adapters
from ..clock import utcnow
from ..models import ExportRecord
from ..observability import logger
from .answers import Progress


def this_render(
    adapters: Adapters,
    record: ExportRecord,
    progress: Progress,
    requested: datetime,
    *,
    webhook_counts: bool = True,
) -> bool:
    """Right after an export request AI Studios may still report the project's previous render at
    100, with its old video. A 100 counts as this export's render only on evidence, strongest first:
    a poll of this export saw the project below 100 (the new render had begun); the video's file,
    against the one the project offered just before the request (the same file is the previous
    render's, another is a new one); where that says nothing for sure (the same file, or the look
    before the request failed), the file's Last-Modified against the request; a webhook to this
    export's own receiver was confirmed (`webhook_counts`: the receiver, judging that webhook,
    leaves it out). Only when none of them can be had does time decide: `stale_grace_seconds`
    after the request."""
    if not progress.done:
        return False
    if record.render_seen:
        return True
    confirmed = webhook_counts and bool(record.webhook_confirmed_at)
    same_file = bool(record.previous_video) and progress.video_file == record.previous_video
    if same_file or (record.previous_video is None and not confirmed):
        modified = _modified(adapters, progress)
        second = requested.replace(microsecond=0)  # Last-Modified counts whole seconds
        if modified is not None and modified != second:  # in the request's own second: no telling
            if modified < second:
                logger.info("a 100 on a video last modified before the request: the previous render's")
            return modified > second
    if same_file:
        logger.info("a 100 on the video offered before the request: the previous render's")
        return False
    if confirmed or record.previous_video is not None:
        return True
    ready = (utcnow() - requested).total_seconds() >= adapters.settings.stale_grace_seconds
    if not ready:
        logger.info("a 100 not yet proven to be this export's render")
    return ready


def _modified(adapters: Adapters, progress: Progress) -> datetime | None:
    from ..net.modified import last_modified  # requests' pinned session: only when it is needed

    s = adapters.settings
    return last_modified(
        progress.download_url or "",
        local_origin=s.local_http_origin or None,
        allowed_hosts=s.download_allowed_hosts,
        timeout=(s.connect_timeout, 3.0),  # the headers only: a CDN answers them at once
    )
