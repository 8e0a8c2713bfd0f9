"""Polling benchmark: how soon each wait schedule sees a finished render, and what it costs.

Replays simulated AI Studios renders on a virtual clock (no sleeping, no network) the way the state
machine runs them: the execution starts with a Wait of the shortest wait, then each round is
wait -> 'Check progress' -> 'Is the render done?'. The planned schedule is the real
`aistudios_export.waiting.next_wait`, fed only what the execution state keeps (the real
`keep_samples`); next to it, fixed 60 s and 10 s loops. Lag is the time from the render reaching
100 to the poll that sees it.

Renders come in families, each reported on its own line, most of them shapes the planner does not
model (polling_bench/families.py): smooth curves of four kinds, steps (3-8 jumps at irregular
times, flat between), a long plateau then a burst, a queue of 30 s to 5 minutes before any
progress, stalls (up to 99%), re-renders (progress drops), noisy readings (sd 1-3 points), very
short (30-120 s) and very long (10-20 min) renders; and the family the planner was first measured
on (polling_bench/renders.py: progress ~ work^0.5..2.2 with a wobbling pace, stalls and steps back).
Seeds are fixed: runs are reproducible.

Webhooks: AI Studios posts one at 25, 50, 75 and 100%, each confirmed 0.5-3 s (uniform) after the
render reaches it and costing one receiver invocation; a confirmed 100 ends an armed wait at once.
After each poll the real arming decision (`aistudios_export.workflow.arming.arm`) sees the events
confirmed by then and decides the wait and whether it is armed. Measured with all of them
delivered, and with each lost with a 20% chance.

    make bench-polling   # or: PYTHONPATH=shared:. .venv/bin/python benchmarks/polling.py
"""

from __future__ import annotations

import argparse
import sys

# polling_bench/ sits next to this script, whose directory Python puts first on sys.path.
from polling_bench.costs import transitions_from_asl
from polling_bench.families import FAMILIES, make_family
from polling_bench.frontier import print_frontier
from polling_bench.renders import make_renders
from polling_bench.report import (
    MODES,
    Row,
    measure,
    print_families,
    print_header,
    print_summary,
    print_table,
    runs,
)
from polling_bench.schedules import Render, Run, fixed, planned

from aistudios_export.waiting import DEFAULT_MAX_WAIT, DEFAULT_MIN_WAIT

POWER = "work^k (first measured)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--per-family", type=int, default=120, help="renders per family")
    parser.add_argument("--seed", type=int, default=20240610)
    parser.add_argument("--family", action="append", help="only these families (repeatable)")
    parser.add_argument(
        "--frontier",
        action="store_true",
        help="the planner and the arming next to variants (polling_bench/frontier.py)",
    )
    args = parser.parse_args()
    families: dict[str, list[Render]] = {POWER: list(make_renders(args.per_family, args.seed))}
    families |= {name: list(make_family(name, args.per_family, args.seed)) for name in FAMILIES}
    if args.family:
        families = {k: v for k, v in families.items() if k in args.family}
    if args.frontier:
        print_frontier(families, args.seed)
        return 0
    steps = transitions_from_asl()
    print_header(families, args.seed, steps)
    schedules = (planned(DEFAULT_MIN_WAIT, DEFAULT_MAX_WAIT), fixed(60), fixed(10))
    every: list[list[list[Run]]] = [[[], [], []] for _ in schedules]  # schedule -> mode -> runs
    by_family: dict[str, list[list[Row]]] = {}
    for name, renders in families.items():
        per_schedule = [runs(renders, s, args.seed) for s in schedules]
        by_family[name] = [
            [measure(s.name + MODES[m], per_schedule[i][m], steps) for i, s in enumerate(schedules)]
            for m in range(3)
        ]
        for i in range(len(schedules)):
            for m in range(3):
                every[i][m] += per_schedule[i][m]
        print(f"  ... {name}", file=sys.stderr, flush=True)
    print()
    print_families(list(families), by_family)
    print()
    overall = [
        [measure(s.name + MODES[m], every[i][m], steps) for m in range(3)] for i, s in enumerate(schedules)
    ]
    print_table([overall[i][m] for m in range(3) for i in range(len(schedules))])
    print()
    planned_by_family = {name: rows[0][0] for name, rows in by_family.items()}
    met = print_summary(overall[0], overall[1][0], planned_by_family, DEFAULT_MIN_WAIT)
    del met  # the targets are printed; the run itself succeeds either way
    return 0


if __name__ == "__main__":
    sys.exit(main())
