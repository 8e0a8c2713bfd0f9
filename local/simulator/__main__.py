"""Command line: ``python -m local.simulator [--port 8787] [--fault KIND:key=value,...]``.

Serves the AI Studios simulator on 127.0.0.1 in the foreground until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .config import Fault, SimulatorConfig
from .server import Simulator
from .throttle import parse_rate


def _env_int(name: str, default: int | None) -> int | None:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _rate(text: str) -> float | None:
    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _fault(spec: str) -> Fault:
    try:
        return Fault.from_spec(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


FAULT_HELP = """\
fault syntax: --fault KIND[:key=value,...]   (repeatable; same fields as POST /_sim/faults)
  request faults (act on single requests; route=token|export|progress|project|download|any):
    http_status:status=503[,retry_after=S,code=C,msg=M]   answer with that HTTP status
    reset   slow:delay=S   envelope_error[:code=C,msg=M]   expire_tokens
    download_truncate[:after_bytes=N]   download_403   download_redirect[:redirect_host=H]
    download_huge[:advertised_bytes=N]   the download announces N bytes (default 5 TiB), sends what it has
    download_endless[:after_bytes=N]   the download announces no length and never ends (or after N)
  state faults (act on renders):
    export_fail[:at_progress=P]   export_stall[:at_progress=P]
    stale_progress[:stale_seconds=S]   after a NEW export of a project whose render has completed,
        progress/project keep reporting that previous render (100, completed, a fresh signed
        downloadUrl of its video) for S seconds (default 3) after the export request, then the new
        render (started at the request, so already partly done)
  every fault: project_id=ID (one project only)
               times=N|forever  how many requests (renders, for state faults) it affects
               for_seconds=S    it expires S seconds after injection (default times then: forever)
examples:
  --fault http_status:route=progress,status=503,times=3
  --fault http_status:route=progress,status=503,for_seconds=10    a 10 s outage of the progress route
  --fault stale_progress:project_id=65fa6b07dca2e367461a2925,stale_seconds=5
"""


def build_parser() -> argparse.ArgumentParser:
    """Argument parser; every flag falls back to an environment variable, then to a default."""
    parser = argparse.ArgumentParser(
        prog="python -m local.simulator",
        description="DeepBrain AI Studios API simulator (binds 127.0.0.1 only).",
        epilog=FAULT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=_env_int("PORT", 8787), help="TCP port (env PORT, 8787)")
    parser.add_argument("--app-id", default=os.environ.get("APP_ID", "sim-app-id"), help="env APP_ID")
    parser.add_argument("--user-key", default=os.environ.get("USER_KEY", "sim-user-key"), help="env USER_KEY")
    parser.add_argument(
        "--render-seconds",
        type=float,
        default=_env_float("RENDER_SECONDS", 20.0),
        help="seconds from export to progress 100 (env RENDER_SECONDS, 20)",
    )
    parser.add_argument(
        "--video-size",
        type=int,
        default=_env_int("VIDEO_SIZE", None),
        help="serve a synthetic MP4 of this many bytes instead of the sample (env VIDEO_SIZE)",
    )
    parser.add_argument(
        "--distinct-videos",
        action="store_true",
        default=os.environ.get("DISTINCT_VIDEOS", "").lower() in ("1", "true", "yes"),
        help="give every render its own video (base video + a 'free' box naming the render; env DISTINCT_VIDEOS)",
    )
    parser.add_argument(
        "--download-rate",
        type=_rate,
        default=os.environ.get("DOWNLOAD_RATE") or "none",  # a string default goes through type=
        metavar="RATE",
        help="per-connection download bandwidth cap in bytes/s, with an optional unit: 25MB, 25MiB, 800KB"
        " (every GET, ranged or not, is capped on its own; 0/none = unlimited; env DOWNLOAD_RATE, unlimited)",
    )
    parser.add_argument(
        "--token-ttl",
        type=float,
        default=_env_float("TOKEN_TTL", 86400.0),
        help="token lifetime in seconds (env TOKEN_TTL, 86400)",
    )
    parser.add_argument(
        "--download-ttl",
        type=float,
        default=_env_float("DOWNLOAD_TTL", 3600.0),
        help="signed download URL lifetime in seconds (env DOWNLOAD_TTL, 3600)",
    )
    parser.add_argument(
        "--missing-project",
        action="append",
        default=[],
        metavar="OBJECTID",
        help="a project id that does not exist (repeatable)",
    )
    parser.add_argument(
        "--seed", type=int, default=_env_int("SEED", 0), help="progress jitter seed (env SEED)"
    )
    parser.add_argument(
        "--fault",
        action="append",
        type=_fault,
        default=[],
        metavar="KIND[:key=value,...]",
        help="inject a fault at start (repeatable); syntax below",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator in the foreground; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        config = SimulatorConfig(
            port=args.port,
            app_id=args.app_id,
            user_key=args.user_key,
            render_seconds=args.render_seconds,
            video_size=args.video_size,
            distinct_videos=args.distinct_videos,
            download_bytes_per_second=args.download_rate,
            token_ttl_seconds=args.token_ttl,
            download_ttl_seconds=args.download_ttl,
            missing_projects=frozenset(args.missing_project),
            seed=args.seed or 0,
            log_requests=not args.quiet,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sim = Simulator(config)
    for fault in args.fault:
        sim.inject(fault)
    try:
        sim.start()
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1

    stop_requested = threading.Event()

    def _request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _request_stop)
    cap = config.download_bytes_per_second
    capped = f", downloads capped at {cap / 1e6:g} MB/s per connection" if cap else ""
    print(
        f"AI Studios simulator listening on {sim.base_url} (appId={config.app_id}, userKey={config.user_key}"
        f"{capped})",
        flush=True,
    )
    print(
        f"  try: curl -s -X POST {sim.base_url}/api/odin/v3/auth/token -H 'Content-Type: application/json'"
        f' -d \'{{"appId":"{config.app_id}","userKey":"{config.user_key}"}}\'',
        flush=True,
    )
    try:
        while not stop_requested.wait(0.5):
            pass
    finally:
        sim.stop()
    print("AI Studios simulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
