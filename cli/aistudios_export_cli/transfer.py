"""Downloading a video through its presigned link: streamed to a temporary file next to the target
(never held in memory), checked against the size and SHA-256 the API recorded, then renamed into place,
so a file at the target name is always the whole, verified video."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import requests
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from .api import CONNECT_TIMEOUT
from .exits import CliError, Exit
from .output import safe_url

CHUNK_BYTES = 1 << 20
READ_TIMEOUT = 60.0


def download(
    url: str, target: Path, size: int | None, sha256: str | None, bar_console: Console | None
) -> tuple[int, str]:
    """Bytes written and their SHA-256. `bar_console`: where to draw a progress bar (None: no bar)."""
    try:
        response = requests.get(url, stream=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
    except requests.RequestException as exc:
        raise CliError(
            f"cannot download {safe_url(url)}: {type(exc).__name__}", Exit.API, transient=True
        ) from None
    with response:
        if response.status_code != 200:
            raise CliError(
                f"the video's link answered HTTP {response.status_code} ({safe_url(url)})", Exit.API
            )
        total = int(response.headers.get("Content-Length") or size or 0) or None
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            digest, written = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out, _bar(bar_console, target.name, total) as advance:
                try:
                    for chunk in response.iter_content(CHUNK_BYTES):
                        out.write(chunk)
                        digest.update(chunk)
                        written += len(chunk)
                        advance(len(chunk))
                except requests.RequestException as exc:
                    raise CliError(
                        f"the download was cut short after {written} bytes ({type(exc).__name__})",
                        Exit.API,
                        transient=True,
                    ) from None
            _verify(written, digest.hexdigest(), size, sha256)
            os.chmod(temporary, 0o666 & ~_umask())
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
    return written, digest.hexdigest()


def _verify(written: int, digest: str, size: int | None, sha256: str | None) -> None:
    if size is not None and written != size:
        raise CliError(
            f"downloaded {written} bytes, the export's video has {size}", Exit.API, code="SizeMismatch"
        )
    if sha256 and digest != sha256.lower():
        raise CliError(
            f"the downloaded bytes' SHA-256 is {digest}, the export's video's is {sha256}",
            Exit.API,
            code="ChecksumMismatch",
        )


@contextlib.contextmanager
def _bar(console: Console | None, name: str, total: int | None) -> Iterator[Callable[[int], None]]:
    if console is None:
        yield lambda _n: None
        return
    progress = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    task = progress.add_task(name, total=total)
    with progress:
        yield lambda n: progress.advance(task, n)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
