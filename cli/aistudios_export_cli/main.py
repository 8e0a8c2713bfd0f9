"""The `aistudios-export` commands (click), their shared options, and the exit-code boundary."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec

import click
from rich.console import Console

from . import output
from .api import ExportsApi
from .endpoint import resolve
from .exits import FINAL_STATUSES, RESOLUTIONS, STATUSES, CliError, Exit, exit_for_status

P = ParamSpec("P")
PAGE_LIMIT = 100  # the API's largest page


@dataclass
class Options:
    """The options every command takes (`_COMMON`)."""

    api_url: str | None = None
    stack_name: str | None = None
    region: str | None = None
    profile: str | None = None
    as_json: bool = False

    def api(self) -> ExportsApi:
        return ExportsApi(resolve(self.api_url, self.stack_name, self.region, self.profile, Path.cwd()))


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    assert param.name is not None
    setattr(ctx.ensure_object(Options), param.name, value)
    return value


def _common(*names: str, **attrs: Any) -> Callable[[Any], Any]:
    """An option of every command, stored on the command's Options rather than passed as an argument."""
    return click.option(*names, expose_value=False, callback=_store, **attrs)


_COMMON = [
    _common(
        "--api-url",
        envvar="AISTUDIOS_EXPORT_API_URL",
        metavar="URL",
        help="The API's base URL (e.g. the stack's ApiUrl output). [env AISTUDIOS_EXPORT_API_URL]",
    ),
    _common(
        "--stack-name",
        envvar="AISTUDIOS_EXPORT_STACK_NAME",
        metavar="NAME",
        help="Read the API's URL from this deployed stack's ApiUrl output. [env AISTUDIOS_EXPORT_STACK_NAME]",
    ),
    _common("--region", metavar="REGION", help="AWS region of the stack (default: your AWS configuration)."),
    _common("--profile", metavar="NAME", help="AWS profile whose credentials sign the requests."),
    _common("--json", "as_json", is_flag=True, help="Print one JSON document on stdout, for scripts."),
]


def command(
    f: Callable[Concatenate[Options, P], int],
) -> Callable[Concatenate[click.Context, P], int]:
    """Adds the common options and turns a CliError into its one line (or JSON) and exit code."""

    @functools.wraps(f)
    def wrapper(ctx: click.Context, /, *args: P.args, **kwargs: P.kwargs) -> int:
        options = ctx.ensure_object(Options)
        try:
            return f(options, *args, **kwargs)
        except CliError as exc:
            if options.as_json:
                output.emit_json(exc.to_json())
            click.echo(f"error: {exc.message}", err=True)
            return int(exc.exit_code)
        except BrokenPipeError:  # the reader went away (`| head`): say nothing more, as a shell would
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return Exit.BROKEN_PIPE

    decorated: Any = click.pass_context(wrapper)
    for option in reversed(_COMMON):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


def _interval_option(f: Any) -> Any:
    return click.option(
        "--interval",
        type=click.FloatRange(min=0.2),
        default=1.5,
        show_default=True,
        metavar="SECONDS",
        help="Time between two status requests.",
    )(f)


def _stdout() -> Console:
    console = Console(highlight=False)
    # Not a terminal: no wrapping at 80 columns, so every line and table row stays one line.
    return console if console.is_terminal else Console(highlight=False, width=400)


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="aistudios-export", prog_name="aistudios-export")
def cli() -> None:
    """Start, follow, list, cancel and download AI Studios exports.

    Talks to the API given by --api-url, or to the ApiUrl output of --stack-name (requests signed
    with SigV4 from the standard AWS credential chain), or else to the local stack that `make up`
    runs (found from .local/endpoints.json in this directory or above).

    Exit codes: 0 ok / SUCCEEDED, 1 FAILED, 2 usage or invalid request, 3 TIMED_OUT, 4 CANCELLED,
    5 API or connection error, 6 not found, 7 conflict (project busy, export ended, no video yet),
    70 a bug in this CLI, 130 interrupted, 141 output pipe closed.
    """


@cli.command(
    context_settings=CONTEXT, short_help="Start an export of a project (--wait: follow it to its end)."
)
@click.argument("project_id")
@click.option(
    "--resolution", type=click.Choice(RESOLUTIONS), help="Resolution of the video (default: the stack's)."
)
@click.option("--workspace", "workspace_id", metavar="W", help="AI Studios workspace of the project.")
@click.option("--wait", is_flag=True, help="Follow the export until it ends; the exit code says how.")
@_interval_option
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
            _stdout().print(
                f"Started export {export_id} ({created.get('status')}); follow it with: "
                f"aistudios-export watch {export_id}",
                soft_wrap=True,
            )
        return Exit.OK
    return _follow(options, api, export_id, interval)


@cli.command(context_settings=CONTEXT, short_help="Follow an export to its end with a live progress bar.")
@click.argument("export_id")
@_interval_option
@command
def watch(options: Options, export_id: str, interval: float) -> int:
    """Follow EXPORT_ID until it ends: a live progress bar on a terminal, a line per change otherwise.

    The exit code says how the export ended (0 SUCCEEDED, 1 FAILED, 3 TIMED_OUT, 4 CANCELLED)."""
    return _follow(options, options.api(), export_id, interval)


@cli.command(context_settings=CONTEXT, short_help="Show one export.")
@click.argument("export_id")
@command
def status(options: Options, export_id: str) -> int:
    """Show EXPORT_ID; the exit code says how it ended (0 while it goes on)."""
    view = options.api().get(export_id)
    if options.as_json:
        output.emit_json(view)
    else:
        output.print_view(_stdout(), view)
    return exit_for_status(str(view.get("status")))


@cli.command("list", context_settings=CONTEXT, short_help="List exports, newest first.")
@click.option("--project", "project_id", metavar="P", help="Only the exports of this project.")
@click.option(
    "--status",
    "status_filter",
    type=click.Choice(STATUSES, case_sensitive=False),
    help="Only the exports with this status.",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=25, show_default=True, help="Show at most this many."
)
@click.option("--all", "everything", is_flag=True, help="Show every export (all pages).")
@command
def list_exports(
    options: Options, project_id: str | None, status_filter: str | None, limit: int, everything: bool
) -> int:
    """List exports, newest first."""
    api, token = options.api(), None
    exports: list[dict[str, Any]] = []
    while True:
        want = PAGE_LIMIT if everything else min(PAGE_LIMIT, limit - len(exports))
        page = api.list_page(project_id, status_filter.upper() if status_filter else None, want, token)
        exports += page.get("exports") or []
        token = page.get("nextToken")
        if not token or (not everything and len(exports) >= limit):
            break
    if options.as_json:
        output.emit_json({"exports": exports, "nextToken": token})
    elif exports:
        output.print_table(_stdout(), exports)
        if token:
            _stdout().print(
                f"(more exports than these {len(exports)}: raise --limit, or --all)", soft_wrap=True
            )
    else:
        _stdout().print("No exports.")
    return Exit.OK


@cli.command(context_settings=CONTEXT, short_help="Cancel an export.")
@click.argument("export_id")
@command
def cancel(options: Options, export_id: str) -> int:
    """Cancel EXPORT_ID: it ends CANCELLED, with a notification (exit 7 once it has ended)."""
    view = options.api().cancel(export_id)
    if options.as_json:
        output.emit_json(view)
    else:
        _stdout().print(f"Export {export_id} {view.get('status')}", soft_wrap=True)
    return Exit.OK


@cli.command(context_settings=CONTEXT, short_help="Download the video of a SUCCEEDED export.")
@click.argument("export_id")
@click.option(
    "-o",
    "--output",
    "target",
    type=click.Path(path_type=Path, dir_okay=True),
    help="File (or directory) to write. Default: EXPORT_ID.mp4 here.",
)
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
@command
def download(options: Options, export_id: str, target: Path | None, force: bool) -> int:
    """Download the video of EXPORT_ID, checked against its recorded size and SHA-256."""
    target = target or Path(f"{export_id}.mp4")
    if target.is_dir():
        target = target / f"{export_id}.mp4"
    if target.exists() and not force:
        raise CliError(f"{target} exists (--force replaces it)", Exit.USAGE)
    if not target.parent.is_dir():
        raise CliError(f"{target.parent} is not a directory", Exit.USAGE)
    view = options.api().get(export_id)
    state = str(view.get("status"))
    video = view.get("video") or {}
    if state != "SUCCEEDED" or not video.get("downloadUrl"):
        later = (
            "it has ended" if state in FINAL_STATUSES else f"wait for it: aistudios-export watch {export_id}"
        )
        raise CliError(
            f"export {export_id} is {state}, so it has no video ({later})", Exit.CONFLICT, "VideoNotReady"
        )
    from .transfer import download as download_video  # rich.progress: imported by the commands using it

    bar = Console(stderr=True, highlight=False) if options.as_json else _stdout()  # as _follow's
    size, sha256 = download_video(
        video["downloadUrl"], target, video.get("size"), video.get("sha256"), bar if bar.is_terminal else None
    )
    if options.as_json:
        output.emit_json({"exportId": export_id, "file": str(target), "size": size, "sha256": sha256})
    else:
        _stdout().print(
            f"Saved {target} ({output.human_size(size)}, SHA-256 verified: {sha256})", soft_wrap=True
        )
    return Exit.OK


def _follow(options: Options, api: ExportsApi, export_id: str, interval: float) -> int:
    """Follow an export to its end; shows progress on stdout, or with --json on stderr when that is a terminal."""
    from .follow import LiveBar, PlainLines, follow

    if options.as_json:
        console = Console(stderr=True, highlight=False)
        display: Any = LiveBar(console) if console.is_terminal else _Silent()
    else:
        console = _stdout()
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


def main(argv: list[str] | None = None) -> int:
    """The console script: every outcome is an exit code, every error one line on stderr."""
    try:
        result = cli.main(args=argv, prog_name="aistudios-export", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.format_message())
        return Exit.USAGE
    except click.UsageError as exc:
        hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
        click.echo(f"error: {' '.join(exc.format_message().split())}{hint}", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("error: interrupted", err=True)
        return Exit.INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug: still one line, never a traceback
        click.echo(f"error: internal error, please report it: {type(exc).__name__}: {exc}", err=True)
        return Exit.INTERNAL
    return int(result) if isinstance(result, int) else Exit.OK
