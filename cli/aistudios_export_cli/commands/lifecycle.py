"""Commands that drive an export: start it (--wait: follow it), watch it to its end, cancel it, retry
it; and following an export, which start --wait, retry --wait and watch share."""

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
@click.option("--name", metavar="NAME", help="Your name for the export (object key, file name).")
@click.option(
    "--meta", "meta", metavar="KEY=VALUE", multiple=True, help="A metadata pair of your own (repeatable)."
)
@click.option("--wait", is_flag=True, help="Follow the export until it ends; the exit code says how.")
@interval_option
@command
def start(
    options: Options,
    project_id: str,
    resolution: str | None,
    workspace_id: str | None,
    name: str | None,
    meta: tuple[str, ...],
    wait: bool,
    interval: float,
) -> int:
    """Start an export of PROJECT_ID (an AI Studios project id, 24 hex digits)."""
    api = options.api()
    created = api.start(project_id, resolution, workspace_id, name, _pairs(meta))
    return _started(options, api, created, wait, interval)


@click.command(
    context_settings=CONTEXT,
    short_help="Retry an export that ended FAILED, TIMED_OUT or CANCELLED (--wait: follow the retry).",
)
@click.argument("export_id")
@click.option(
    "--idempotency-key",
    metavar="KEY",
    help="Make the call safe to repeat: the same key gives the same retry.",
)
@click.option("--wait", is_flag=True, help="Follow the retry until it ends; the exit code says how.")
@interval_option
@command
def retry(options: Options, export_id: str, idempotency_key: str | None, wait: bool, interval: float) -> int:
    """Start a new export of EXPORT_ID's request (exit 7 while it is going on, once it SUCCEEDED, or
    while its project is busy)."""
    api = options.api()
    return _started(options, api, api.retry(export_id, idempotency_key), wait, interval)


def _pairs(meta: tuple[str, ...]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in meta:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--meta")
        pairs[key] = value
    return pairs


def _started(options: Options, api: ExportsApi, created: dict[str, Any], wait: bool, interval: float) -> int:
    export_id = str(created["exportId"])
    if not wait:
        if options.as_json:
            output.emit_json(created)
        else:
            output.stdout_console().print(
                f"Started export {export_id} ({created.get('status')})"
                + (f", retrying {created['retryOf']}" if created.get("retryOf") else "")
                + f"; follow it with: "
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
