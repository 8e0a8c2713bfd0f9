"""Commands that read exports: the status of one, and the list of them (newest first, paged)."""

from __future__ import annotations

from typing import Any

import click

from .. import output
from ..exits import STATUSES, Exit, exit_for_status
from ..options import CONTEXT, Options, command

PAGE_LIMIT = 100  # the API's largest page


@click.command(context_settings=CONTEXT, short_help="Show one export.")
@click.argument("export_id")
@command
def status(options: Options, export_id: str) -> int:
    """Show EXPORT_ID; the exit code says how it ended (0 while it goes on)."""
    view = options.api().get(export_id)
    if options.as_json:
        output.emit_json(view)
    else:
        output.print_view(output.stdout_console(), view)
    return exit_for_status(str(view.get("status")))


@click.command("list", context_settings=CONTEXT, short_help="List exports, newest first.")
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
        output.print_table(output.stdout_console(), exports)
        if token:
            output.stdout_console().print(
                f"(more exports than these {len(exports)}: raise --limit, or --all)", soft_wrap=True
            )
    else:
        output.stdout_console().print("No exports.")
    return Exit.OK
