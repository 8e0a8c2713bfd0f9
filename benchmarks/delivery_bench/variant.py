"""One variant in its own child process (``delivery.py --child JSON``): copies the simulator's video
into S3 and reports its figures (wall and CPU seconds, peak RSS, parts, S3's completion time) as one
JSON line, so that its peak RSS is its own.

  naive   ``requests.get(url).content`` then ``put_object`` (the whole video in memory)
  single  ``VideoDelivery`` with ``workers=1``: one streaming connection into a multipart upload
  ours    ``VideoDelivery`` with ``workers=N``: parallel ranged GETs into the multipart upload
"""

from __future__ import annotations

import inspect
import resource
import sys
import time
from typing import Any

from .config import MIB


def peak_rss_mib() -> float:
    """Peak RSS of this process so far (Linux reports ``ru_maxrss`` in KiB, macOS in bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MIB if sys.platform == "darwin" else peak / 1024


def _time_completions(s3: Any) -> list[float]:
    """The clock before and after each CompleteMultipartUpload call of ``s3``, as they happen."""
    completing: list[float] = []
    s3.meta.events.register(
        "before-call.s3.CompleteMultipartUpload", lambda **_: completing.append(time.perf_counter())
    )
    s3.meta.events.register(
        "after-call.s3.CompleteMultipartUpload", lambda **_: completing.append(time.perf_counter())
    )
    return completing


def _deliver(video_delivery: Any, s3: Any, job: dict[str, Any]) -> dict[str, Any]:
    """single or ours: ``VideoDelivery`` (the class is ``video_delivery``) into a multipart upload;
    the figures, or ``skipped`` when ours cannot run."""
    variant = job["variant"]
    options: dict[str, Any] = {"local_origin": job["local_origin"]}
    if job["part_mib"]:
        options["part_size"] = job["part_mib"] * MIB
    if "workers" in inspect.signature(video_delivery).parameters:
        options["workers"] = 1 if variant == "single" else job["workers"]
    elif variant == "ours":
        return {
            "skipped": "aistudios_export.delivery.engine.VideoDelivery takes no 'workers' argument yet "
            "(parallel ranged delivery has not landed), so 'ours' cannot run"
        }
    # else: today's VideoDelivery is the single stream.
    delivery = video_delivery(s3, **options)
    started = time.perf_counter()
    result = delivery.deliver(job["url"], bucket=job["bucket"], key=job["key"], metadata={})
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "size": result.size,
        "parts": result.parts,
        "sha256": result.sha256,
        "workers": options.get("workers", "n/a (no workers= yet)"),
    }


def run_child(job: dict[str, Any]) -> dict[str, Any]:
    """Copy ``job['url']`` into S3 with one variant; returns the figures (printed as one JSON line)."""
    import boto3
    import requests
    from botocore.config import Config

    from aistudios_export.delivery.engine import VideoDelivery
    from aistudios_export.settings import Settings

    variant = job["variant"]
    config = Settings().aws_config().merge(Config(connect_timeout=10, read_timeout=600))
    s3 = boto3.client("s3", endpoint_url=job["endpoint"], region_name="us-east-1", config=config)
    s3.head_bucket(Bucket=job["bucket"])  # connection and client set up before the clock starts
    completing = _time_completions(s3)
    baseline = peak_rss_mib()
    report: dict[str, Any] = {"variant": variant, "baseline_rss_mib": baseline}
    cpu = time.process_time()
    if variant == "naive":
        started = time.perf_counter()
        data = requests.get(job["url"], timeout=(5, 300)).content
        s3.put_object(Bucket=job["bucket"], Key=job["key"], Body=data, ContentType="video/mp4")
        seconds = time.perf_counter() - started
        report |= {"size": len(data), "parts": 1, "sha256": None}
    else:
        delivered = _deliver(VideoDelivery, s3, job)
        if "skipped" in delivered:
            return report | delivered
        seconds = delivered.pop("seconds")
        report |= delivered
    complete = completing[-1] - completing[-2] if len(completing) >= 2 else None
    return report | {
        "seconds": seconds,
        "peak_rss_mib": peak_rss_mib(),
        "cpu_seconds": time.process_time() - cpu,
        "complete_seconds": complete,
    }
