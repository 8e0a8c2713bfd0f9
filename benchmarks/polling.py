"""Polling benchmark: how soon each wait schedule sees a finished render, and what it costs.

Replays simulated AI Studios renders on a virtual clock (no sleeping, no network) the way the state
machine runs them: the execution starts with a Wait of the shortest wait, then each round is
wait -> 'Check progress' -> 'Is the render done?'. The planned schedule is the real
`aistudios_export.waiting.next_wait`, fed only what the execution state keeps (the real
`keep_samples`); next to it, fixed 60 s and 10 s loops. Lag is the time from the render reaching
100 to the poll that sees it.

Renders (not tuned to the planner): 1-12 minutes of work, a 0-10 s queue before progress moves; a
third each linear, slow-start (progress ~ work^1.4..2.2) and fast-start (~ work^0.5..0.75). Noise
is of two kinds: the render's speed wobbles (up to +/-20%, changing every 10-40 s) and each
reading jitters (sd up to 0.5 point); progress reads 100 only once done. 25% stall once for
20-120 s; 10% go backwards once (a re-render of 30-100% of the work done so far). The seed is
fixed: runs are reproducible.

Webhooks (the design of issue 10): AI Studios posts one at 25, 50, 75 and 100%; each that arrives
costs one receiver invocation, which confirms it with the progress API. A confirmed 100 ends the
wait in progress at once if that wait was armed (a wait of at least `ARM_FACTOR` times the
shortest, as the poll decides), and the poll runs then; delivery plus confirmation takes 0.5-3 s
(uniform). A lost webhook changes nothing: polling carries on as planned.

    make bench-polling   # or: PYTHONPATH=shared:. .venv/bin/python benchmarks/polling.py
"""

from __future__ import annotations

import argparse

# polling_bench/ sits next to this script, whose directory Python puts first on sys.path.
from polling_bench.costs import transitions_from_asl
from polling_bench.renders import NOISE_MAX, WOBBLE_MAX, make_renders
from polling_bench.report import evaluate, print_header, print_summary, print_table
from polling_bench.schedules import fixed, planned

from aistudios_export.waiting import DEFAULT_MAX_WAIT, DEFAULT_MIN_WAIT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--exports", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20240610)
    parser.add_argument("--sweep", action="store_true", help="also try allowed min/max pairs (no webhooks)")
    parser.add_argument("--jitter", type=float, default=NOISE_MAX, help="max sd of a reading, points")
    parser.add_argument("--wobble", type=float, default=WOBBLE_MAX, help="max speed wobble, fraction")
    args = parser.parse_args()
    renders = make_renders(args.exports, args.seed, args.jitter, args.wobble)
    steps = transitions_from_asl()
    print_header(renders, args.seed, steps)
    if args.sweep:
        mins, maxes = [10, 15, 20], [60, 90, 120, 180, 300]
        sweep = [planned(lo, hi) for lo in mins for hi in maxes if lo <= hi]
        print_table([evaluate(renders, s, args.seed, steps)[0] for s in sweep])
        print()
    by_schedule = [
        evaluate(renders, s, args.seed, steps)
        for s in (planned(DEFAULT_MIN_WAIT, DEFAULT_MAX_WAIT), fixed(60), fixed(10))
    ]
    print_table([rows[mode] for mode in range(3) for rows in by_schedule])
    print_summary(by_schedule[0][0], by_schedule[1][0])


if __name__ == "__main__":
    main()
