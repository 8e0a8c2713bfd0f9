"""Capacity model: what limits throughput at 1,000, 10,000 and 100,000 exports an hour, the request
queue's depth and start latency, and the cost per month.

Each volume is a steady rate of exports, every one as the other benchmarks measure it: polls from a
replay of the real planner over the polling benchmark's simulated renders, state transitions read
from the ASL, function memory, part size, MaxConcurrentStarts and the API's rate from template.yaml,
start and delivery times and the table's writes from docs/costs.md and the store's tests. Against
them, the documented quotas of a us-east-1 account (benchmarks/capacity_bench/limits.py, each with
its page). The first limit reached is the one with the highest share used; the queue is the way in
unless --via api. Nothing here calls AWS or AI Studios.

    make bench-capacity   # or: PYTHONPATH=shared:. .venv/bin/python benchmarks/capacity.py --help
"""

from __future__ import annotations

import argparse

# capacity_bench/ (and polling_bench/) sit next to this script, whose directory Python puts first.
from capacity_bench.costs import monthly
from capacity_bench.figures import per_export, template_settings
from capacity_bench.limits import LIMITS, assess, first_reached, limit_values
from capacity_bench.queue import servers_for, start_queue
from capacity_bench.report import START_WITHIN, print_figures, print_volume


def _volumes(text: str) -> list[float]:
    return [float(v.replace("_", "")) for v in text.split(",") if v.strip()]


def _overrides(pairs: list[str]) -> dict[str, float]:
    known = {limit.key for limit in LIMITS}
    out: dict[str, float] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in known or not value:
            raise SystemExit(f"--limit takes KEY=VALUE with KEY one of {sorted(known)}: {pair!r}")
        out[key] = float(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--volumes", type=_volumes, default=[1000.0, 10_000.0, 100_000.0], help="exports an hour"
    )
    parser.add_argument(
        "--video-gib", type=float, default=1.0, help="video size (docs/costs.md's example: 1)"
    )
    parser.add_argument("--max-concurrent-starts", type=int, help="the parameter (default: the template's)")
    parser.add_argument(
        "--via", choices=["queue", "api"], default="queue", help="the way the exports come in"
    )
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a raised quota or a known limit, e.g. lambda=3000 or aistudios=50",
    )
    parser.add_argument(
        "--renders", type=int, default=300, help="simulated renders the planner is replayed on"
    )
    args = parser.parse_args()
    one = per_export(args.video_gib, args.renders)
    settings = template_settings() | {"start_seconds": one.start_seconds}
    if args.max_concurrent_starts:
        settings["max_concurrent_starts"] = float(args.max_concurrent_starts)
    values = limit_values(settings, _overrides(args.limit))
    print_figures(one)
    for volume in args.volumes:
        rows = assess(volume, one, values)
        queue = start_queue(volume / 3600, int(settings["max_concurrent_starts"]), one.start_seconds)
        first = first_reached(rows, frozenset({args.via}))
        needed = servers_for(volume / 3600, one.start_seconds, START_WITHIN)
        print_volume(volume, rows, queue, first, monthly(volume, one), needed)


if __name__ == "__main__":
    main()
