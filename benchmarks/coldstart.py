"""Cold-start benchmark: what importing each Lambda handler costs, next to `import boto3`.

A Lambda cold start imports the handler module before the first event; the runtime has boto3, so
`import boto3` is the floor every function pays. Each function's handler module (functions/*/app.py,
with the layer on the path and the environment its template gives it) is imported in a fresh
interpreter, `--runs` times, each run right after a fresh `import boto3` run; a function's ratio is
the median of those pairs' ratios of wall time (as `python -X importtime` measures it), so a load
that comes and goes during the benchmark weighs on both sides of a pair. The CPU time of the same
imports is shown next to it: on a shared machine it moves far less than wall time, so when the two
ratios disagree, the machine was busy. Nothing is imported in this process.

What a handler does not import, its first invocation does if it needs it (docs/operations.md).
The last column, "validation +ms", times the largest such part after the import, so that what was
moved out of the import is shown, not hidden: the validation Powertools builds on a validated
route's first request, and the request model (pydantic) submission and intake import to parse the
first request. (Libraries only some invocations use, such as `requests` or `crc32c`, are not in it.)

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
# What a handler leaves to its first request, timed after its import: Powertools builds a validated
# route's validation (pydantic and the route's model) on the route's first request, and submission
# and intake import the request model (pydantic) when they parse the first request.
FIRST_REQUEST = """
import sys, time
import app
t = time.perf_counter()
routes = getattr(getattr(app, "app", None), "_static_routes", []) + getattr(getattr(app, "app", None), "_dynamic_routes", [])
if any(r.enable_validation for r in routes):
    import aws_lambda_powertools.event_handler.middlewares.openapi_validation
    for r in routes:
        r.dependant
if {"aistudios_export.api.submission", "aistudios_export.intake.consumer"} & set(sys.modules):
    import aistudios_export.request
sys.stdout.write(repr(time.perf_counter() - t))
"""


def run(code: str, cwd: Path, path: list[Path]) -> str:
    """What `code` prints, run in a fresh interpreter with the handlers' environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env |= ENVIRONMENT | {"PYTHONPATH": os.pathsep.join(str(p) for p in path)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached by the warm-up run, as a build would ship it
    return subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout


def measure(statement: str, cwd: Path, path: list[Path]) -> tuple[float, float]:
    """(wall, CPU) seconds of `statement` in a fresh interpreter."""
    wall, cpu = (float(v) for v in run(TIMER.format(statement=statement), cwd, path).strip("()").split(","))
    return wall, cpu


@dataclass(frozen=True)
class Row:
    function: str
    handler_s: float  # median wall time of the handler's import
    boto3_s: float  # median wall time of `import boto3`
    ratio: float  # median of the pairs' wall-time ratios
    cpu_ratio: float  # median of the pairs' CPU-time ratios
    first_request_s: float  # median wall time of what the handler leaves to its first request

    @classmethod
    def of(
        cls, function: str, pairs: list[tuple[tuple[float, float], tuple[float, float]]], first: list[float]
    ) -> Row:
        """`pairs`: ((wall, cpu) of `import boto3`, (wall, cpu) of the handler's import) per run;
        `first`: what the handler left to its first request, per run."""
        return cls(
            function,
            statistics.median(h[0] for _, h in pairs),
            statistics.median(b[0] for b, _ in pairs),
            statistics.median(h[0] / b[0] for b, h in pairs),
            statistics.median(h[1] / b[1] for b, h in pairs),
            statistics.median(first),
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
        pairs, first = [], []
        for _ in range(args.runs):
            boto = measure("import boto3", REPO, [layer])
            pairs.append((boto, measure("import app", function, [function, layer])))
            first.append(float(run(FIRST_REQUEST, function, [function, layer])))
        rows.append(Row.of(function.name, pairs, first))
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{args.runs} runs per function, Python {sys.version.split()[0]}, load average {load}")
    print(
        f"{'function':<22}{'handler ms':>12}{'boto3 ms':>10}{'ratio':>8}{'cpu ratio':>11}{'validation +ms':>16}"
    )
    for r in rows:
        print(
            f"{r.function:<22}{r.handler_s * 1000:>12.0f}{r.boto3_s * 1000:>10.0f}{r.ratio:>8.2f}"
            f"{r.cpu_ratio:>11.2f}{r.first_request_s * 1000:>16.0f}"
        )
    worst = max(rows, key=lambda r: r.ratio)
    if args.json:
        print(json.dumps({r.function: asdict(r) for r in rows}))
    print(f"coldstart: worst_ratio={worst.ratio:.2f} function={worst.function}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
