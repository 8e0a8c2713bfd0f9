"""Delivery benchmark (issue 9): naive vs single stream vs ours, under a per-connection bandwidth cap.

The AI Studios simulator serves a synthetic MP4 of each size (generated as it streams, Range-capable,
every connection capped at --rate, default 25 MB/s) and the local stack's S3 serves the bucket (moto's
server with the stack's S3 patches, ``python -m local.stack.s3_server``: the S3 of ``make up``), both
on 127.0.0.1 and both in this (parent) process tree. Each variant runs in its own child process, so its peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss``) is its own; S3's storage stays in the moto process:

  naive   ``requests.get(url).content`` then ``put_object`` (the whole video in memory)
  single  ``aistudios_export.delivery.VideoDelivery`` with ``workers=1``: one streaming connection
          into a multipart upload (today's delivery)
  ours    the same ``VideoDelivery`` with ``workers=N``: parallel ranged GETs into the multipart upload

Every variant's S3 client has the functions' settings (``Settings.aws_config``: body signing as
deployed), with longer timeouts for moto. The simulator's CDN writes each synthetic video to its file
before the first variant runs (``local.simulator.spool``), so no variant pays for generating it.

Every stored object is read back and checked (size, SHA-256) against the simulator's video, and no
multipart upload may be left open. Prints, per size and variant, wall time, throughput and peak RSS,
the seconds S3 (moto) took to complete the upload, and the CPU seconds of the variant's process and
of moto while it ran (Linux; on 2 cores, moto's is what limits "ours"); then ratios and the issue's
targets, and ends with exactly one line, at 1 GiB:

  delivery: ours_peak_rss_mib=<n> ours_vs_single_stream=<x>x naive_peak_rss_mib=<n>

(``n/a`` for a figure this run did not measure). Exit status 1 when a variant fails or an object does
not verify (and, with --check-targets, when a target is missed).

    make bench-delivery                                  # 256 MiB and 1 GiB, all three variants
    make bench-delivery SIZE_MB=64 VARIANTS=naive,single # a quick run
    PYTHONPATH=shared:. .venv/bin/python benchmarks/delivery.py --with-2gib --workers 16 --rate 25MB
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import itertools
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for _path in (str(REPO), str(REPO / "shared")):  # runnable from anywhere, not only via make
    if _path not in sys.path:
        sys.path.insert(0, _path)
MIB = 1024 * 1024
VARIANTS = ("naive", "single", "ours")
DEFAULT_SIZES_MIB = (256, 1024)
REFERENCE_SIZE_MIB = 1024  # the size of the last line
RSS_TARGET_MIB = 256
SPEEDUP_TARGET = 3.0
PROJECT = "65fa6b07dca2e367461a2925"
BUCKET = "bench-delivery"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any credentials
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


# --------------------------------------------------------------------------- child (one variant)


def peak_rss_mib() -> float:
    """Peak RSS of this process so far (Linux reports ``ru_maxrss`` in KiB, macOS in bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MIB if sys.platform == "darwin" else peak / 1024


def run_child(job: dict[str, Any]) -> dict[str, Any]:
    """Copy ``job['url']`` into S3 with one variant; returns the figures (printed as one JSON line)."""
    import boto3
    import requests
    from botocore.config import Config

    from aistudios_export.delivery import VideoDelivery
    from aistudios_export.settings import Settings

    variant = job["variant"]
    config = Settings().aws_config().merge(Config(connect_timeout=10, read_timeout=600))
    s3 = boto3.client("s3", endpoint_url=job["endpoint"], region_name="us-east-1", config=config)
    s3.head_bucket(Bucket=job["bucket"])  # connection and client set up before the clock starts
    completing: list[float] = []
    s3.meta.events.register(
        "before-call.s3.CompleteMultipartUpload", lambda **_: completing.append(time.perf_counter())
    )
    s3.meta.events.register(
        "after-call.s3.CompleteMultipartUpload", lambda **_: completing.append(time.perf_counter())
    )
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
        options: dict[str, Any] = {"local_origin": job["local_origin"]}
        if job["part_mib"]:
            options["part_size"] = job["part_mib"] * MIB
        if "workers" in inspect.signature(VideoDelivery).parameters:
            options["workers"] = 1 if variant == "single" else job["workers"]
        elif variant == "ours":
            return report | {
                "skipped": "aistudios_export.delivery.VideoDelivery takes no 'workers' argument yet "
                "(parallel ranged delivery has not landed), so 'ours' cannot run"
            }
        # else: today's VideoDelivery is the single stream.
        delivery = VideoDelivery(s3, **options)
        started = time.perf_counter()
        result = delivery.deliver(job["url"], bucket=job["bucket"], key=job["key"], metadata={})
        seconds = time.perf_counter() - started
        report |= {"size": result.size, "parts": result.parts, "sha256": result.sha256}
        report["workers"] = options.get("workers", "n/a (no workers= yet)")
    complete = completing[-1] - completing[-2] if len(completing) >= 2 else None
    return report | {
        "seconds": seconds,
        "peak_rss_mib": peak_rss_mib(),
        "cpu_seconds": time.process_time() - cpu,
        "complete_seconds": complete,
    }


# --------------------------------------------------------------------------- parent


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_moto(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """The local stack's S3 (``python -m local.stack.s3_server``: moto's server with the S3 patches of
    local/stack/moto_server.py) on 127.0.0.1, a process of its own; returns it and its endpoint.
    Every variant uses this same S3."""
    import requests

    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "local.stack.s3_server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("moto server exited at start")
        try:
            requests.get(f"{endpoint}/moto-api/", timeout=1)
            return proc, endpoint
        except requests.RequestException:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("moto server did not start within 30 s")


def cpu_seconds_of(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def warm_cdn(url: str) -> None:
    """One byte of the video, so that the CDN has written the video's file before any variant."""
    import requests

    with requests.get(url, headers={"Range": "bytes=0-0"}, timeout=600) as answer:
        answer.raise_for_status()


def download_url(base_url: str, app_id: str, user_key: str) -> str:
    """A finished export's downloadUrl, obtained as a client of the documented API would."""
    import requests

    api = f"{base_url}/api/odin/v3"
    token = requests.post(f"{api}/auth/token", json={"appId": app_id, "userKey": user_key}, timeout=10)
    headers = {"Authorization": token.json()["data"]["token"]}
    exported = requests.post(
        f"{api}/editor/project/export", json={"projectId": PROJECT}, headers=headers, timeout=10
    )
    if not exported.json().get("success"):
        raise RuntimeError(f"export refused: {exported.text}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        data = requests.get(f"{api}/editor/progress/{PROJECT}", headers=headers, timeout=10).json()["data"]
        if data.get("progress") == 100 and data.get("downloadUrl"):
            return str(data["downloadUrl"])
        time.sleep(0.1)
    raise RuntimeError("the simulator's export did not reach 100 within 30 s")


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
            str(Path(__file__).resolve()),
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


def fmt(value: float | None, spec: str) -> str:
    """``value`` formatted by ``spec``, or ``n/a`` padded to the spec's width."""
    if value is None:
        width = "".join(itertools.takewhile(str.isdigit, spec))
        return format("n/a", f">{width}") if width else "n/a"
    return format(value, spec)


def times(value: float | None) -> str:
    """A ratio as ``3.21x``, or ``n/a``."""
    return "n/a" if value is None else f"{value:.2f}x"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    from local.simulator.throttle import parse_rate

    def sizes(text: str) -> list[int]:
        try:
            values = [int(part) for part in text.split(",") if part.strip()]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"sizes are MiB, comma-separated: {text!r}") from exc
        if not values or any(v < 1 for v in values):
            raise argparse.ArgumentTypeError("sizes must be positive MiB")
        return values

    def variants(text: str) -> list[str]:
        chosen = [part.strip() for part in text.split(",") if part.strip()]
        unknown = sorted(set(chosen) - set(VARIANTS))
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(f"variants are {', '.join(VARIANTS)}; got {text!r}")
        return [v for v in VARIANTS if v in chosen]

    def rate(text: str) -> float | None:
        try:
            return parse_rate(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    parser = argparse.ArgumentParser(
        description="Delivery benchmark: naive vs single stream vs parallel ranged delivery into S3 "
        "under a per-connection bandwidth cap (simulator + moto on 127.0.0.1).",
    )
    parser.add_argument(
        "--sizes",
        "--size",
        type=sizes,
        default=list(DEFAULT_SIZES_MIB),
        metavar="MIB[,MIB...]",
        help="video sizes in MiB (default 256,1024)",
    )
    parser.add_argument("--with-2gib", action="store_true", help="also run 2 GiB (2048 MiB)")
    parser.add_argument(
        "--variants",
        type=variants,
        default=list(VARIANTS),
        metavar="V[,V...]",
        help="which of naive,single,ours to run (default all three)",
    )
    parser.add_argument("--workers", type=int, default=8, help="parallel connections of 'ours' (default 8)")
    parser.add_argument(
        "--rate",
        type=rate,
        default=parse_rate("25MB"),
        metavar="RATE",
        help="per-connection bandwidth cap of the simulator's downloads: 25MB (default), 50MiB, none",
    )
    parser.add_argument(
        "--part-mib",
        type=int,
        default=None,
        help="part size of single/ours in MiB (default: VideoDelivery's own default)",
    )
    parser.add_argument("--check-targets", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--child", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.with_2gib and 2048 not in args.sizes:
        args.sizes.append(2048)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(run_child(json.loads(args.child))), flush=True)
        return 0

    import boto3

    from local.simulator import Simulator, SimulatorConfig

    env = os.environ | AWS_ENV | {"PYTHONPATH": os.pathsep.join([str(REPO / "shared"), str(REPO)])}
    os.environ.update(AWS_ENV)
    cap = "unlimited" if args.rate is None else f"{args.rate / 1e6:g} MB/s"
    part = f"{args.part_mib} MiB" if args.part_mib else "VideoDelivery's default"
    print(
        f"delivery benchmark: simulator (synthetic MP4, Range, {cap} per connection) -> local S3 (moto), both on "
        f"127.0.0.1; each variant in its own process; ours: workers={args.workers}; part size: {part}",
        flush=True,
    )
    moto, endpoint = start_moto(env)
    outcomes: list[Outcome] = []
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        print(
            f"{'size':>9} {'variant':<7} {'wall s':>8} {'MiB/s':>8} {'peak RSS MiB':>13} "
            f"{'(at start)':>10} {'parts':>6} {'S3 complete s':>13} {'CPU s':>6} {'moto CPU s':>10}  verified",
            flush=True,
        )
        for size_mib in args.sizes:
            config = SimulatorConfig(
                render_seconds=0.2,
                video_size=size_mib * MIB,
                download_bytes_per_second=args.rate,
                download_ttl_seconds=6 * 3600.0,
            )
            with Simulator(config) as sim:
                url = download_url(sim.base_url, config.app_id, config.user_key)
                warm_cdn(url)
                sha256 = sim.video_sha256()
                assert sim.video_size() == size_mib * MIB
                job = {
                    "url": url,
                    "endpoint": endpoint,
                    "bucket": BUCKET,
                    "local_origin": sim.base_url,
                    "workers": args.workers,
                    "part_mib": args.part_mib,
                }
                for variant in args.variants:
                    outcome = run_variant(variant, size_mib, job, env, s3, sha256, moto.pid)
                    outcomes.append(outcome)
                    print(
                        f"{size_mib:>5} MiB {variant:<7} {fmt(outcome.seconds, '8.2f')} "
                        f"{fmt(outcome.mib_per_s, '8.1f')} {fmt(outcome.peak_rss_mib, '13.1f')} "
                        f"{fmt(outcome.baseline_rss_mib, '10.1f')} {fmt(outcome.parts, '6d')} "
                        f"{fmt(outcome.complete_seconds, '13.2f')} {fmt(outcome.cpu_seconds, '6.1f')} "
                        f"{fmt(outcome.moto_cpu_seconds, '10.1f')}  "
                        f"{outcome.verified}{'  ' + outcome.note if outcome.note else ''}",
                        flush=True,
                    )
    finally:
        moto.terminate()
        moto.wait(timeout=10)
    return summarize(args, outcomes)


def summarize(args: argparse.Namespace, outcomes: list[Outcome]) -> int:
    by = {(o.size_mib, o.variant): o for o in outcomes if o.ok}
    print()
    for size_mib in args.sizes:
        naive, single, ours = (by.get((size_mib, v)) for v in VARIANTS)

        def speed(o: Outcome | None) -> float | None:
            return o.mib_per_s if o else None

        def rss(o: Outcome | None) -> float | None:
            return o.peak_rss_mib if o else None

        print(
            f"ratios at {size_mib} MiB: throughput ours/single {times(ratio(speed(ours), speed(single)))}, "
            f"ours/naive {times(ratio(speed(ours), speed(naive)))}, "
            f"single/naive {times(ratio(speed(single), speed(naive)))}; "
            f"peak RSS naive/ours {times(ratio(rss(naive), rss(ours)))}, "
            f"naive/single {times(ratio(rss(naive), rss(single)))}"
        )
        if ours and single and ours.complete_seconds is not None and single.complete_seconds is not None:
            transfer = {o.variant: (o.seconds or 0.0) - (o.complete_seconds or 0.0) for o in (ours, single)}
            print(
                f"  S3 completing the upload (moto, the same work for both) took {ours.complete_seconds:.1f} s "
                f"of ours' {ours.seconds:.1f} s and {single.complete_seconds:.1f} s of single's "
                f"{single.seconds:.1f} s; without it ours/single "
                f"{times(ratio(transfer['single'], transfer['ours']))}"
            )
    ours_runs = [o for o in outcomes if o.variant == "ours" and o.ok]
    met = True
    if ours_runs:
        peaks = ", ".join(f"{o.size_mib} MiB: {o.peak_rss_mib:.0f}" for o in ours_runs)
        rss_ok = all((o.peak_rss_mib or 0) <= RSS_TARGET_MIB for o in ours_runs)
        met &= rss_ok
        print(
            f"target: ours peak RSS <= {RSS_TARGET_MIB} MiB at every size, flat: "
            f"{'met' if rss_ok else 'MISSED'} ({peaks} MiB)"
        )
        for o in ours_runs:
            single = by.get((o.size_mib, "single"))
            x = ratio(o.mib_per_s, single.mib_per_s if single else None)
            if x is not None:
                met &= x >= SPEEDUP_TARGET
                print(
                    f"target: ours >= {SPEEDUP_TARGET:g}x single stream at {o.size_mib} MiB: "
                    f"{'met' if x >= SPEEDUP_TARGET else 'MISSED'} ({x:.2f}x)"
                )
    else:
        print("targets: not measured ('ours' did not run)")
    failed = [o for o in outcomes if o.verified not in ("ok", "skipped")]
    for o in failed:
        print(f"FAILED: {o.size_mib} MiB {o.variant}: {o.verified} {o.note}".rstrip())
    ref = {v: by.get((REFERENCE_SIZE_MIB, v)) for v in VARIANTS}
    ours_ref, single_ref, naive_ref = ref["ours"], ref["single"], ref["naive"]
    speedup = ratio(ours_ref.mib_per_s if ours_ref else None, single_ref.mib_per_s if single_ref else None)
    print(
        f"delivery: ours_peak_rss_mib={fmt(ours_ref.peak_rss_mib if ours_ref else None, '.0f')} "
        f"ours_vs_single_stream={times(speedup)} "
        f"naive_peak_rss_mib={fmt(naive_ref.peak_rss_mib if naive_ref else None, '.0f')}",
        flush=True,
    )
    if failed:
        return 1
    return 1 if args.check_targets and not met else 0


if __name__ == "__main__":
    sys.exit(main())
