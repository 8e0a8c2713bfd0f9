"""Following an export until it ends: polls GET /exports/{id} and shows each change, as a live rich
progress bar on a terminal or as plain lines anywhere else (a pipe, a file, CI logs)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
from rich.text import Text

from .exits import FINAL_STATUSES, CliError
from .output import STATUS_STYLES, age, hms, progress_of, title

# How long the API may stay unreachable (connection errors, 429, 5xx) before watching gives up.
PATIENCE_SECONDS = 60.0


class Getter(Protocol):
    def get(self, export_id: str) -> dict[str, Any]: ...


class Display(Protocol):
    def show(self, view: dict[str, Any]) -> None: ...

    def warn(self, text: str) -> None: ...


def follow(
    api: Getter,
    export_id: str,
    interval: float,
    display: Display,
    *,
    patience: float = PATIENCE_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """The export's final view. A transient error is retried until `patience` has passed since the last
    answer; any other error (404, 403, ...) ends the watch at once."""
    last_answer = clock()
    while True:
        try:
            view = api.get(export_id)
        except CliError as exc:
            if not exc.transient or clock() - last_answer > patience:
                raise
            display.warn(f"{exc.message}; asking again")
        else:
            last_answer = clock()
            display.show(view)
            if view.get("status") in FINAL_STATUSES:
                return view
        sleep(interval)


class PlainLines:
    """One line per change of status or progress, with the export's elapsed time."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._last: tuple[str, float] | None = None

    def show(self, view: dict[str, Any]) -> None:
        status, progress = str(view.get("status")), round(progress_of(view), 1)
        if (status, progress) == self._last:
            return
        if self._last is None:
            self._console.print(title(view), soft_wrap=True, markup=False)
        self._last = (status, progress)
        upstream = f"  {view['upstreamState']}" if view.get("upstreamState") else ""
        self._console.print(f"{hms(age(view))}  {status:<10} {progress:5.1f}%{upstream}", soft_wrap=True)

    def warn(self, text: str) -> None:
        self._console.print(f"warning: {text}", soft_wrap=True)


class _MarkColumn(SpinnerColumn):
    """A spinner while the export goes on (at 100 % too: it still has to be delivered), then a mark
    saying how it ended."""

    def render(self, task: Task) -> Text:
        status = task.fields.get("status", "")
        if status in FINAL_STATUSES:
            return Text("✔" if status == "SUCCEEDED" else "✘", style=STATUS_STYLES[status])
        frame = self.spinner.render(task.get_time())
        return frame if isinstance(frame, Text) else Text(str(frame))


class _StatusColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        status = str(task.fields.get("status", ""))
        return Text(f"{status:<10}", style=STATUS_STYLES.get(status, "bold cyan"))


class _ElapsedColumn(ProgressColumn):
    """The export's elapsed time (from its creation), ticking between polls, frozen once it ends."""

    def render(self, task: Task) -> Text:
        seconds = task.fields.get("age", 0.0)
        if task.fields.get("status") not in FINAL_STATUSES:
            seconds += time.monotonic() - task.fields.get("seen", time.monotonic())
        return Text(hms(seconds), style="progress.elapsed")


class LiveBar:
    """A rich progress bar: mark, status, bar, percentage, elapsed time. Use as a context manager; the bar
    appears, under the export's title, with the first answer."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            _MarkColumn(),
            _StatusColumn(),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%", markup=False),
            _ElapsedColumn(),
            console=console,
            refresh_per_second=8,
            expand=False,
        )
        self._task = self._progress.add_task("export", total=100, status="", age=0.0, seen=time.monotonic())
        self._started = False

    def __enter__(self) -> LiveBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started:
            self._progress.stop()

    def show(self, view: dict[str, Any]) -> None:
        if not self._started:
            self._progress.console.print(title(view), soft_wrap=True, markup=False)
            self._progress.start()
            self._started = True
        self._progress.update(
            self._task,
            completed=progress_of(view),
            status=str(view.get("status")),
            age=age(view),
            seen=time.monotonic(),
            refresh=True,
        )

    def warn(self, text: str) -> None:
        self._progress.console.print(f"warning: {text}", soft_wrap=True, markup=False)
