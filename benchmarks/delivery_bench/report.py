"""What the delivery benchmark prints: the opening line, a row per size and variant, then the ratios,
the issue's targets, the failures and the one last line at 1 GiB; and the exit status they make."""

from __future__ import annotations

import argparse
import itertools

from .config import REFERENCE_SIZE_MIB, RSS_TARGET_MIB, SPEEDUP_TARGET, VARIANTS
from .runner import Outcome


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


def print_intro(args: argparse.Namespace) -> None:
    cap = "unlimited" if args.rate is None else f"{args.rate / 1e6:g} MB/s"
    part = f"{args.part_mib} MiB" if args.part_mib else "VideoDelivery's default"
    print(
        f"delivery benchmark: simulator (synthetic MP4, Range, {cap} per connection) -> local S3 (moto), both on "
        f"127.0.0.1; each variant in its own process; ours: workers={args.workers}; part size: {part}",
        flush=True,
    )


def print_columns() -> None:
    print(
        f"{'size':>9} {'variant':<7} {'wall s':>8} {'MiB/s':>8} {'peak RSS MiB':>13} "
        f"{'(at start)':>10} {'parts':>6} {'S3 complete s':>13} {'CPU s':>6} {'moto CPU s':>10}  verified",
        flush=True,
    )


def print_row(outcome: Outcome) -> None:
    print(
        f"{outcome.size_mib:>5} MiB {outcome.variant:<7} {fmt(outcome.seconds, '8.2f')} "
        f"{fmt(outcome.mib_per_s, '8.1f')} {fmt(outcome.peak_rss_mib, '13.1f')} "
        f"{fmt(outcome.baseline_rss_mib, '10.1f')} {fmt(outcome.parts, '6d')} "
        f"{fmt(outcome.complete_seconds, '13.2f')} {fmt(outcome.cpu_seconds, '6.1f')} "
        f"{fmt(outcome.moto_cpu_seconds, '10.1f')}  "
        f"{outcome.verified}{'  ' + outcome.note if outcome.note else ''}",
        flush=True,
    )


def _speed(o: Outcome | None) -> float | None:
    return o.mib_per_s if o else None


def _rss(o: Outcome | None) -> float | None:
    return o.peak_rss_mib if o else None


def _print_ratios(size_mib: int, by: dict[tuple[int, str], Outcome]) -> None:
    naive, single, ours = (by.get((size_mib, v)) for v in VARIANTS)
    print(
        f"ratios at {size_mib} MiB: throughput ours/single {times(ratio(_speed(ours), _speed(single)))}, "
        f"ours/naive {times(ratio(_speed(ours), _speed(naive)))}, "
        f"single/naive {times(ratio(_speed(single), _speed(naive)))}; "
        f"peak RSS naive/ours {times(ratio(_rss(naive), _rss(ours)))}, "
        f"naive/single {times(ratio(_rss(naive), _rss(single)))}"
    )
    if ours and single and ours.complete_seconds is not None and single.complete_seconds is not None:
        transfer = {o.variant: (o.seconds or 0.0) - (o.complete_seconds or 0.0) for o in (ours, single)}
        print(
            f"  S3 completing the upload (moto, the same work for both) took {ours.complete_seconds:.1f} s "
            f"of ours' {ours.seconds:.1f} s and {single.complete_seconds:.1f} s of single's "
            f"{single.seconds:.1f} s; without it ours/single "
            f"{times(ratio(transfer['single'], transfer['ours']))}"
        )


def _print_targets(outcomes: list[Outcome], by: dict[tuple[int, str], Outcome]) -> bool:
    """The issue's targets for every size 'ours' ran at; whether all were met."""
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
    return met


def _print_last_line(by: dict[tuple[int, str], Outcome]) -> None:
    """The one line at 1 GiB (``n/a`` for what this run did not measure)."""
    ref = {v: by.get((REFERENCE_SIZE_MIB, v)) for v in VARIANTS}
    ours_ref, single_ref, naive_ref = ref["ours"], ref["single"], ref["naive"]
    speedup = ratio(ours_ref.mib_per_s if ours_ref else None, single_ref.mib_per_s if single_ref else None)
    print(
        f"delivery: ours_peak_rss_mib={fmt(ours_ref.peak_rss_mib if ours_ref else None, '.0f')} "
        f"ours_vs_single_stream={times(speedup)} "
        f"naive_peak_rss_mib={fmt(naive_ref.peak_rss_mib if naive_ref else None, '.0f')}",
        flush=True,
    )


def summarize(args: argparse.Namespace, outcomes: list[Outcome]) -> int:
    """Prints the ratios, targets, failures and the last line; returns the exit status."""
    by = {(o.size_mib, o.variant): o for o in outcomes if o.ok}
    print()
    for size_mib in args.sizes:
        _print_ratios(size_mib, by)
    met = _print_targets(outcomes, by)
    failed = [o for o in outcomes if o.verified not in ("ok", "skipped")]
    for o in failed:
        print(f"FAILED: {o.size_mib} MiB {o.variant}: {o.verified} {o.note}".rstrip())
    _print_last_line(by)
    if failed:
        return 1
    return 1 if args.check_targets and not met else 0
