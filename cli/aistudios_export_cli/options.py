"""What every command shares: the common options (--api-url, --stack-name, --region, --profile,
--json) stored on an `Options`, the `command` decorator that adds them and turns a `CliError` into
its one line (or JSON) and exit code, the --interval option and the help's layout."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec

import click

from . import output
from .api import ExportsApi
from .endpoint import resolve
from .exits import CliError, Exit

P = ParamSpec("P")
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


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


def interval_option(f: Any) -> Any:
    return click.option(
        "--interval",
        type=click.FloatRange(min=0.2),
        default=1.5,
        show_default=True,
        metavar="SECONDS",
        help="Time between two status requests.",
    )(f)
