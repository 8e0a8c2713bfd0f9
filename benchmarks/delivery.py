"""Delivery benchmark: our streaming multipart delivery vs the naive download-then-put_object.

Serves a synthetic MP4 of --size MiB from the simulator, runs each variant in a fresh process
against a moto S3 server in another process (so S3's own storage is not counted), and prints
wall time, throughput and peak RSS side by side. Everything stays on 127.0.0.1.

    make bench            # or: PYTHONPATH=shared .venv/bin/python benchmarks/delivery.py --size 256
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def child(variant: str, url: str, endpoint: str, bucket: str, part_mb: int) -> None:
    import boto3
    import requests

    from aistudios_export.delivery import VideoDelivery

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    key = f"bench/{variant}.mp4"
    if variant == "naive":
        data = requests.get(url, timeout=300).content
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="video/mp4")
        size = len(data)
    else:
        delivery = VideoDelivery(s3, part_size=part_mb * 1024 * 1024, local_origin=url)
        size = delivery.deliver(url, bucket=bucket, key=key, metadata={}).size
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "variant": variant,
                "size": size,
                "seconds": elapsed,
                "rss_before_kb": before,
                "rss_peak_kb": peak,
            }
        )
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=256, help="video size in MiB")
    parser.add_argument("--part-mb", type=int, default=16)
    parser.add_argument("--child", nargs=4, metavar=("VARIANT", "URL", "ENDPOINT", "BUCKET"))
    args = parser.parse_args()
    if args.child:
        child(*args.child, part_mb=args.part_mb)
        return

    import boto3

    from aistudios_export.client import AIStudiosClient
    from aistudios_export.credentials import Credentials
    from local.simulator import Simulator, SimulatorConfig

    env = os.environ | {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PYTHONPATH": "shared:.",
    }
    port = free_port()
    moto = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="t",
            aws_secret_access_key="t",  # noqa: S106 - moto accepts any credentials
        )
        s3.create_bucket(Bucket="bench")
        config = SimulatorConfig(render_seconds=0.2, video_size=args.size * 1024 * 1024)
        with Simulator(config) as sim:
            client = AIStudiosClient(sim.base_url, lambda _f: Credentials(config.app_id, config.user_key))
            project = "65fa6b07dca2e367461a2925"
            client.export(project)
            time.sleep(0.5)
            url = client.progress(project).download_url
            assert url
            print(
                f"delivery of a {args.size} MiB video, simulator -> moto S3 on loopback, part size {args.part_mb} MiB"
            )
            results = {}
            for variant in ("naive", "streaming"):
                out = subprocess.run(  # noqa: S603
                    [
                        sys.executable,
                        __file__,
                        "--part-mb",
                        str(args.part_mb),
                        "--child",
                        variant,
                        url,
                        endpoint,
                        "bench",
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
            sha = sim.video_sha256()
        print(f"{'variant':<10} {'seconds':>8} {'MiB/s':>8} {'peak RSS MiB':>13} {'RSS growth MiB':>15}")
        for name, r in results.items():
            growth = (r["rss_peak_kb"] - r["rss_before_kb"]) / 1024
            print(
                f"{name:<10} {r['seconds']:8.2f} {r['size'] / 2**20 / r['seconds']:8.1f} "
                f"{r['rss_peak_kb'] / 1024:13.1f} {growth:15.1f}"
            )
        naive, ours = results["naive"], results["streaming"]
        print(
            f"ratio streaming/naive: time {ours['seconds'] / naive['seconds']:.2f}x, "
            f"peak RSS {ours['rss_peak_kb'] / naive['rss_peak_kb']:.2f}x"
        )
        print(f"source sha256 {sha}")
    finally:
        moto.terminate()
        moto.wait(timeout=10)


if __name__ == "__main__":
    main()
