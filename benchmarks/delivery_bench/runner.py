"""The parent's side of one variant: runs its child process (``delivery.py --child``), counts the CPU
moto spent meanwhile, reads the child's figures and verifies the object it stored; an `Outcome`."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import BUCKET, MIB, SCRIPT


@dataclass
class Outcome:
    size_mib: int
    variant: str
    seconds: float | None = None
    peak_rss_mib: float | None = None
    baseline_rss_mib: float | None = None
    parts: int | None = None
    complete_seconds: float | None = None
    cpu_seconds: float | None = None
    moto_cpu_seconds: float | None = None
    verified: str = "-"
    note: str = ""

    @property
    def mib_per_s(self) -> float | None:
        return self.size_mib / self.seconds if self.seconds else None

    @property
    def ok(self) -> bool:
        return self.verified == "ok"


def cpu_seconds_of(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def verify(s3: Any, key: str, size: int, sha256: str, reported_sha: str | None) -> str:
    """'ok', or what is wrong with the stored object; deletes it afterwards (moto keeps objects)."""
    try:
        head = s3.head_object(Bucket=BUCKET, Key=key)
        digest = hashlib.sha256()
        stored = 0
        for chunk in s3.get_object(Bucket=BUCKET, Key=key)["Body"].iter_chunks(MIB):
            digest.update(chunk)
            stored += len(chunk)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"cannot read back: {type(exc).__name__}: {exc}"
    finally:
        s3.delete_object(Bucket=BUCKET, Key=key)
    problems = []
    if stored != size or int(head["ContentLength"]) != size:
        problems.append(f"size {stored} (head {head['ContentLength']}) != {size}")
    if digest.hexdigest() != sha256:
        problems.append("sha256 differs from the simulator's video")
    if reported_sha is not None and reported_sha != sha256:
        problems.append("DeliveryResult.sha256 differs from the simulator's video")
    open_uploads = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    if open_uploads:
        problems.append(f"{len(open_uploads)} multipart upload(s) left open")
        for upload in open_uploads:
            s3.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
    return "ok" if not problems else "; ".join(problems)


def run_variant(
    variant: str, size_mib: int, job: dict[str, Any], env: dict[str, str], s3: Any, sha256: str, moto_pid: int
) -> Outcome:
    outcome = Outcome(size_mib, variant)
    key = f"bench/{size_mib}MiB/{variant}.mp4"
    moto_before = cpu_seconds_of(moto_pid)
    proc = subprocess.run(  # noqa: S603 - fixed argv
        [
            sys.executable,
            str(SCRIPT),
            "--child",
            json.dumps(job | {"variant": variant, "key": key}),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    moto_after = cpu_seconds_of(moto_pid)
    if moto_before is not None and moto_after is not None:
        outcome.moto_cpu_seconds = moto_after - moto_before
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        outcome.verified = "FAILED"
        outcome.note = f"exit {proc.returncode}: {tail}"
        return outcome
    report = json.loads(lines[-1])
    if "skipped" in report:
        outcome.verified = "skipped"
        outcome.note = report["skipped"]
        return outcome
    outcome.seconds = report["seconds"]
    outcome.peak_rss_mib = report["peak_rss_mib"]
    outcome.baseline_rss_mib = report["baseline_rss_mib"]
    outcome.parts = report["parts"]
    outcome.complete_seconds = report["complete_seconds"]
    outcome.cpu_seconds = report["cpu_seconds"]
    outcome.verified = verify(s3, key, size_mib * MIB, sha256, report["sha256"])
    if variant != "naive":
        outcome.note = f"workers={report.get('workers')}"
    return outcome
