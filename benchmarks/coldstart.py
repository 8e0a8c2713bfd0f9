"""Cold-start benchmark: what importing each Lambda handler costs, next to `import boto3`.

A Lambda cold start imports the handler module before the first event; the runtime has boto3, so
`import boto3` is the floor every function pays. Each function's handler module (functions/*/app.py,
with the layer on the path and the environment its template gives it) is imported in a fresh
interpreter, `--runs` times, alternating with fresh `import boto3` runs; the median wall time of
each is compared. Nothing is imported in this process.

    make bench-coldstart [RUNS=7]

Ends with one line: `coldstart: worst_ratio=<x> function=<name>`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Settings every handler may require at import (values are never used: no AWS call is made).
ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "EXPORTS_TABLE": "exports",
    "IDEMPOTENCY_TABLE": "idempotency",
    "VIDEO_BUCKET": "videos",
    "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:notes",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:export",
    "EVENT_BUS_NAME": "exports",
    "REQUEST_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/requests",
    "AISTUDIOS_SECRET_ID": "secret",
    "WEBHOOK_SIGNING_SECRET_ID": "signing",
    "POWERTOOLS_SERVICE_NAME": "aistudios-export",
    "POWERTOOLS_METRICS_NAMESPACE": "AIStudiosExport",
}
TIMER = """
import time, sys
t = time.perf_counter()
{statement}
sys.stdout.write(repr(time.perf_counter() - t))
"""


def measure(statement: str, cwd: Path, path: list[Path]) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env |= ENVIRONMENT | {"PYTHONPATH": os.pathsep.join(str(p) for p in path)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached by the warm-up run, as a build would ship it
    out = subprocess.run(  # noqa: S603 - this interpreter, our own statement
        [sys.executable, "-c", TIMER.format(statement=statement)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    functions = sorted(p.parent for p in (REPO / "functions").glob("*/app.py"))
    layer = REPO / "shared"
    # warm the file system cache and the bytecode of both, so every measured run is alike
    measure("import boto3", REPO, [layer])
    rows = []
    for function in functions:
        measure("import app", function, [function, layer])
        handler, boto = [], []
        for _ in range(args.runs):
            boto.append(measure("import boto3", REPO, [layer]))
            handler.append(measure("import app", function, [function, layer]))
        rows.append((function.name, statistics.median(handler), statistics.median(boto)))
    print(f"{'function':<22}{'handler ms':>12}{'boto3 ms':>10}{'ratio':>8}")
    for name, handler_s, boto_s in rows:
        print(f"{name:<22}{handler_s * 1000:>12.0f}{boto_s * 1000:>10.0f}{handler_s / boto_s:>8.2f}")
    worst = max(rows, key=lambda r: r[1] / r[2])
    if args.json:
        print(json.dumps({n: {"handler_s": h, "boto3_s": b, "ratio": h / b} for n, h, b in rows}))
    print(f"coldstart: worst_ratio={worst[1] / worst[2]:.2f} function={worst[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
