"""Cold-start benchmark: what importing each Lambda handler costs, next to `import boto3`.

A Lambda cold start imports the handler module before the first event; the runtime has boto3, so
`import boto3` is the floor every function pays. Each function's handler module (functions/*/app.py,
with the layer on the path and the environment its template gives it) is imported in a fresh
interpreter, `--runs` times, each run right after a fresh `import boto3` run; a function's ratio is
the median of those pairs' ratios of wall time (as `python -X importtime` measures it), so a load
that comes and goes during the benchmark weighs on both sides of a pair. The CPU time of the same
imports is shown next to it: on a shared machine it moves far less than wall time, so when the two
ratios disagree, the machine was busy. Nothing is imported in this process.

What a handler does not import, its first invocation does if it needs it (README, Observability).

    make bench-coldstart [RUNS=9]

Ends with one line: `coldstart: worst_ratio=<x> function=<name>` (wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
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
t, c = time.perf_counter(), time.process_time()
{statement}
sys.stdout.write(repr((time.perf_counter() - t, time.process_time() - c)))
"""


def measure(statement: str, cwd: Path, path: list[Path]) -> tuple[float, float]:
    """(wall, CPU) seconds of `statement` in a fresh interpreter."""
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
    wall, cpu = (float(v) for v in out.strip("()").split(","))
    return wall, cpu


@dataclass(frozen=True)
class Row:
    function: str
    handler_s: float  # median wall time of the handler's import
    boto3_s: float  # median wall time of `import boto3`
    ratio: float  # median of the pairs' wall-time ratios
    cpu_ratio: float  # median of the pairs' CPU-time ratios

    @classmethod
    def of(cls, function: str, pairs: list[tuple[tuple[float, float], tuple[float, float]]]) -> Row:
        """`pairs`: ((wall, cpu) of `import boto3`, (wall, cpu) of the handler's import) per run."""
        return cls(
            function,
            statistics.median(h[0] for _, h in pairs),
            statistics.median(b[0] for b, _ in pairs),
            statistics.median(h[0] / b[0] for b, h in pairs),
            statistics.median(h[1] / b[1] for b, h in pairs),
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    functions = sorted(p.parent for p in (REPO / "functions").glob("*/app.py"))
    layer = REPO / "shared"
    # warm the file system cache and the bytecode of both, so every measured run is alike
    measure("import boto3", REPO, [layer])
    rows = []
    for function in functions:
        measure("import app", function, [function, layer])
        pairs = []
        for _ in range(args.runs):
            boto = measure("import boto3", REPO, [layer])
            pairs.append((boto, measure("import app", function, [function, layer])))
        rows.append(Row.of(function.name, pairs))
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{args.runs} runs per function, Python {sys.version.split()[0]}, load average {load}")
    print(f"{'function':<22}{'handler ms':>12}{'boto3 ms':>10}{'ratio':>8}{'cpu ratio':>11}")
    for r in rows:
        print(
            f"{r.function:<22}{r.handler_s * 1000:>12.0f}{r.boto3_s * 1000:>10.0f}{r.ratio:>8.2f}{r.cpu_ratio:>11.2f}"
        )
    worst = max(rows, key=lambda r: r.ratio)
    if args.json:
        print(json.dumps({r.function: asdict(r) for r in rows}))
    print(f"coldstart: worst_ratio={worst.ratio:.2f} function={worst.function}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
