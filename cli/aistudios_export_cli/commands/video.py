"""The command that downloads the video of a SUCCEEDED export, checked against its size and SHA-256."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from .. import output
from ..exits import FINAL_STATUSES, CliError, Exit
from ..options import CONTEXT, Options, command


@click.command(context_settings=CONTEXT, short_help="Download the video of a SUCCEEDED export.")
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
    from ..transfer import download as download_video  # rich.progress: imported by the commands using it

    # The bar goes where following's progress goes (lifecycle._follow): with --json, to stderr.
    bar = Console(stderr=True, highlight=False) if options.as_json else output.stdout_console()
    size, sha256 = download_video(
        video["downloadUrl"], target, video.get("size"), video.get("sha256"), bar if bar.is_terminal else None
    )
    if options.as_json:
        output.emit_json({"exportId": export_id, "file": str(target), "size": size, "sha256": sha256})
    else:
        output.stdout_console().print(
            f"Saved {target} ({output.human_size(size)}, SHA-256 verified: {sha256})", soft_wrap=True
        )
    return Exit.OK
