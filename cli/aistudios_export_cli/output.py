"""What a person reads: an export's details, a table of exports, the one-line endings; and the JSON
scripts read (one document on stdout). Text from the API is never parsed as rich markup."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

STATUS_STYLES = {
    "SUCCEEDED": "bold green",
    "FAILED": "bold red",
    "TIMED_OUT": "bold red",
    "CANCELLED": "bold yellow",
}


def stdout_console() -> Console:
    """The console of what a command prints on stdout."""
    console = Console(highlight=False)
    # Not a terminal: no wrapping at 80 columns, so every line and table row stays one line.
    return console if console.is_terminal else Console(highlight=False, width=400)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def print_block(console: Console, renderable: RenderableType) -> None:
    """Prints a table; off a terminal without the padding rich puts at the end of each line."""
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
    sys.stdout.flush()


def title(view: dict[str, Any]) -> str:
    return (
        f"Export {view.get('exportId')}: project {view.get('projectId')}, resolution {view.get('resolution')}"
    )


def styled_status(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, "bold cyan"))


def hms(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def human_size(size: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def safe_url(url: str) -> str:
    """A link without its query string: a presigned link's signature and session token stay out of output."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def age(view: dict[str, Any], now: datetime | None = None) -> float:
    """Seconds from the export's creation to its end, or to now while it goes on."""
    created = parse_time(view.get("createdAt"))
    if created is None:
        return 0.0
    end = parse_time(view.get("finishedAt")) or now or datetime.now(UTC)
    return max(0.0, (end - created).total_seconds())


def progress_of(view: dict[str, Any]) -> float:
    try:
        return min(100.0, max(0.0, float(view.get("progress") or 0)))
    except (TypeError, ValueError):
        return 0.0


def ending(view: dict[str, Any]) -> str:
    """One line saying how a final export ended."""
    export_id, status, took = view.get("exportId"), view.get("status"), hms(age(view))
    if status == "SUCCEEDED":
        video = view.get("video") or {}
        where = f": {video['uri']} ({human_size(int(video.get('size') or 0))})" if video.get("uri") else ""
        return f"Export {export_id} SUCCEEDED in {took}{where}"
    error = view.get("error") or {}
    why = f": [{error.get('code')}] {error.get('message')}" if error else ""
    return f"Export {export_id} {status} after {took}{why}"


def print_view(console: Console, view: dict[str, Any]) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    status = styled_status(str(view.get("status")))
    status.append(f"  {progress_of(view):.1f}%", style="")
    if view.get("upstreamState"):
        status.append(f"  (AI Studios: {view['upstreamState']})", style="dim")
    rows: list[tuple[str, str | Text]] = [
        ("Export", str(view.get("exportId"))),
        ("Project", str(view.get("projectId"))),
        ("Status", status),
        ("Resolution", str(view.get("resolution"))),
    ]
    if view.get("workspaceId"):
        rows.append(("Workspace", str(view["workspaceId"])))
    rows += [("Trigger", str(view.get("trigger"))), ("Created", str(view.get("createdAt")))]
    rows.append(
        ("Finished", str(view["finishedAt"]))
        if view.get("finishedAt")
        else ("Deadline", str(view.get("deadlineAt")))
    )
    rows.append(("Elapsed", hms(age(view))))
    video = view.get("video")
    if video:
        rows.append(("Video", f"{video.get('uri')} ({human_size(int(video.get('size') or 0))})"))
        rows.append(("SHA-256", str(video.get("sha256"))))
        rows.append(("Download", f"aistudios-export download {view.get('exportId')}"))
    error = view.get("error")
    if error:
        rows.append(("Error", f"[{error.get('code')}] {error.get('message')}"))
    for label, value in rows:
        grid.add_row(label, value)
    print_block(console, grid)


def print_table(console: Console, exports: list[dict[str, Any]]) -> None:
    # On a terminal a table with a rule under its header; in a pipe plain aligned columns, never wrapped.
    table = Table(box=box.SIMPLE_HEAD if console.is_terminal else None, pad_edge=False, show_edge=False)
    for name in ("EXPORT", "PROJECT", "STATUS", "PROGRESS", "RES", "CREATED"):
        table.add_column(name, no_wrap=True, justify="right" if name == "PROGRESS" else "left")
    for view in exports:
        table.add_row(
            str(view.get("exportId")),
            str(view.get("projectId")),
            styled_status(str(view.get("status"))),
            f"{progress_of(view):.1f}%",
            str(view.get("resolution")),
            str(view.get("createdAt")),
        )
    print_block(console, table)
