"""The `aistudios-export` command group (its help and version) and `main`, the console script: the
exit-code boundary where every outcome becomes an exit code and every error one line on stderr.

The commands are in commands/ (by what they do), the options they share in options.py, what they
print in output.py."""

from __future__ import annotations

import click

from .commands import COMMANDS
from .exits import Exit
from .options import CONTEXT


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


for _command in COMMANDS:
    cli.add_command(_command)


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
