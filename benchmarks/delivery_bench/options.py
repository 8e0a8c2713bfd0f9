"""The delivery benchmark's command line: sizes, variants, workers, the bandwidth cap, the part size,
--check-targets, and the hidden --child that runs one variant."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .config import DEFAULT_SIZES_MIB, VARIANTS


def _sizes(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"sizes are MiB, comma-separated: {text!r}") from exc
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("sizes must be positive MiB")
    return values


def _variants(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(chosen) - set(VARIANTS))
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"variants are {', '.join(VARIANTS)}; got {text!r}")
    return [v for v in VARIANTS if v in chosen]


def _rate(text: str) -> float | None:
    from local.simulator.throttle import parse_rate

    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Delivery benchmark: naive vs single stream vs parallel ranged delivery into S3 "
        "under a per-connection bandwidth cap (simulator + moto on 127.0.0.1).",
    )
    parser.add_argument(
        "--sizes",
        "--size",
        type=_sizes,
        default=list(DEFAULT_SIZES_MIB),
        metavar="MIB[,MIB...]",
        help="video sizes in MiB (default 256,1024)",
    )
    parser.add_argument("--with-2gib", action="store_true", help="also run 2 GiB (2048 MiB)")
    parser.add_argument(
        "--variants",
        type=_variants,
        default=list(VARIANTS),
        metavar="V[,V...]",
        help="which of naive,single,ours to run (default all three)",
    )
    parser.add_argument("--workers", type=int, default=8, help="parallel connections of 'ours' (default 8)")
    parser.add_argument(
        "--rate",
        type=_rate,
        default=_rate("25MB"),
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
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.with_2gib and 2048 not in args.sizes:
        args.sizes.append(2048)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return args
