"""Delivery benchmark (issue 9): naive vs single stream vs ours, under a per-connection bandwidth cap.

The AI Studios simulator serves a synthetic MP4 of each size (generated as it streams, Range-capable,
every connection capped at --rate, default 25 MB/s) and the local stack's S3 serves the bucket (moto's
server with the stack's S3 patches, ``python -m local.stack.s3_server``: the S3 of ``make up``), both
on 127.0.0.1 and both in this (parent) process tree. Each variant runs in its own child process, so its peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss``) is its own; S3's storage stays in the moto process:

  naive   ``requests.get(url).content`` then ``put_object`` (the whole video in memory)
  single  ``aistudios_export.delivery.engine.VideoDelivery`` with ``workers=1``: one streaming connection
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

This script runs the benchmark; its parts are in delivery_bench/ (its docstring lists them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

# delivery_bench/ sits next to this script, whose directory Python puts first on sys.path.
from delivery_bench.config import AWS_ENV, BUCKET, MIB, REPO
from delivery_bench.options import parse_args
from delivery_bench.report import print_columns, print_intro, print_row, summarize
from delivery_bench.runner import Outcome, run_variant
from delivery_bench.servers import download_url, start_moto, warm_cdn
from delivery_bench.variant import run_child

for _path in (str(REPO), str(REPO / "shared")):  # runnable from anywhere, not only via make
    if _path not in sys.path:
        sys.path.insert(0, _path)


def run_size(
    size_mib: int, args: argparse.Namespace, endpoint: str, env: dict[str, str], s3: Any, moto_pid: int
) -> list[Outcome]:
    """Every chosen variant at one size, from a simulator serving a video of that size; a row each."""
    from local.simulator import Simulator, SimulatorConfig

    config = SimulatorConfig(
        render_seconds=0.2,
        video_size=size_mib * MIB,
        download_bytes_per_second=args.rate,
        download_ttl_seconds=6 * 3600.0,
    )
    outcomes = []
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
            outcome = run_variant(variant, size_mib, job, env, s3, sha256, moto_pid)
            outcomes.append(outcome)
            print_row(outcome)
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(run_child(json.loads(args.child))), flush=True)
        return 0

    import boto3

    env = os.environ | AWS_ENV | {"PYTHONPATH": os.pathsep.join([str(REPO / "shared"), str(REPO)])}
    os.environ.update(AWS_ENV)
    print_intro(args)
    moto, endpoint = start_moto(env)
    outcomes: list[Outcome] = []
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        print_columns()
        for size_mib in args.sizes:
            outcomes += run_size(size_mib, args, endpoint, env, s3, moto.pid)
    finally:
        moto.terminate()
        moto.wait(timeout=10)
    return summarize(args, outcomes)


if __name__ == "__main__":
    sys.exit(main())
