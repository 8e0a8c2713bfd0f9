"""Commands that drive an export: start it (--wait: follow it), watch it to its end, cancel it; and
following an export, which start --wait and watch share."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console

from .. import output
from ..api import ExportsApi
from ..exits import RESOLUTIONS, Exit, exit_for_status
from ..options import CONTEXT, Options, command, interval_option


@click.command(
    context_settings=CONTEXT, short_help="Start an export of a project (--wait: follow it to its end)."
)
@click.argument("project_id")
@click.option(
    "--resolution", type=click.Choice(RESOLUTIONS), help="Resolution of the video (default: the stack's)."
)
@click.option("--workspace", "workspace_id", metavar="W", help="AI Studios workspace of the project.")
@click.option("--wait", is_flag=True, help="Follow the export until it ends; the exit code says how.")
@interval_option
@command
def start(
    options: Options,
    project_id: str,
    resolution: str | None,
    workspace_id: str | None,
    wait: bool,
    interval: float,
) -> int:
    """Start an export of PROJECT_ID (an AI Studios project id, 24 hex digits)."""
    api = options.api()
    created = api.start(project_id, resolution, workspace_id)
    export_id = str(created["exportId"])
    if not wait:
        if options.as_json:
            output.emit_json(created)
        else:
            output.stdout_console().print(
                f"Started export {export_id} ({created.get('status')}); follow it with: "
                f"aistudios-export watch {export_id}",
                soft_wrap=True,
            )
        return Exit.OK
    return _follow(options, api, export_id, interval)


@click.command(context_settings=CONTEXT, short_help="Follow an export to its end with a live progress bar.")
@click.argument("export_id")
@interval_option
@command
def watch(options: Options, export_id: str, interval: float) -> int:
    """Follow EXPORT_ID until it ends: a live progress bar on a terminal, a line per change otherwise.

    The exit code says how the export ended (0 SUCCEEDED, 1 FAILED, 3 TIMED_OUT, 4 CANCELLED)."""
    return _follow(options, options.api(), export_id, interval)


@click.command(context_settings=CONTEXT, short_help="Cancel an export.")
@click.argument("export_id")
@command
def cancel(options: Options, export_id: str) -> int:
    """Cancel EXPORT_ID: it ends CANCELLED, with a notification (exit 7 once it has ended)."""
    view = options.api().cancel(export_id)
    if options.as_json:
        output.emit_json(view)
    else:
        output.stdout_console().print(f"Export {export_id} {view.get('status')}", soft_wrap=True)
    return Exit.OK


def _follow(options: Options, api: ExportsApi, export_id: str, interval: float) -> int:
    """Follow an export to its end; shows progress on stdout, or with --json on stderr when that is a terminal."""
    from ..follow import LiveBar, PlainLines, follow

    if options.as_json:
        console = Console(stderr=True, highlight=False)
        display: Any = LiveBar(console) if console.is_terminal else _Silent()
    else:
        console = output.stdout_console()
        display = LiveBar(console) if console.is_terminal else PlainLines(console)
    try:
        if isinstance(display, LiveBar):
            with display:
                view = follow(api, export_id, interval, display)
        else:
            view = follow(api, export_id, interval, display)
    except KeyboardInterrupt:
        click.echo(
            f"stopped watching; export {export_id} goes on (aistudios-export watch {export_id})", err=True
        )
        return Exit.INTERRUPTED
    if options.as_json:
        output.emit_json(view)
    else:
        console.print(output.ending(view), soft_wrap=True, markup=False)
    return exit_for_status(str(view.get("status")))


class _Silent:
    def show(self, view: dict[str, Any]) -> None:
        pass

    def warn(self, text: str) -> None:
        click.echo(f"warning: {text}", err=True)
