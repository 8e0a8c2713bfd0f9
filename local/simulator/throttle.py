"""Per-connection bandwidth cap of the simulated CDN, and the parser of rates such as ``25MB``.

Each download response is paced on its own (``paced``): every chunk is written no earlier than the
moment the bytes sent so far are allowed at the configured rate, so a response of N bytes takes about
N / rate seconds to arrive, whatever other connections do. It is a token bucket with a small burst
(``BURST_SECONDS`` worth of bytes) so that sleep overshoot and slow writes do not lower the rate, while a
client that stalls cannot catch up faster than the cap afterwards. Chunks stay small (64 KiB from the
video readers, 256 KiB sent from a synthetic video's file by ``spool``), so the rate is smooth and
nothing is buffered.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from typing import TypeVar

SizedT = TypeVar("SizedT", bound=Sized)

#: How far behind schedule a response may fall and still catch up at full speed (seconds of data).
BURST_SECONDS = 0.05

_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}
_RATE_RE = re.compile(r"(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>[a-z]*)(?:/s|ps)?")


def parse_rate(text: str) -> float | None:
    """Bytes per second from ``text``: a number of bytes, or with a unit (``25MB``, ``25M``, ``1.5GiB``,
    ``800KiB/s``; K/M/G and KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024; case-insensitive).

    ``""``, ``0``, ``none``, ``off`` and ``unlimited`` mean no cap (``None``). Raises ``ValueError``.
    """
    value = text.strip().lower().replace("_", "")
    if value in ("", "none", "off", "unlimited"):
        return None
    match = _RATE_RE.fullmatch(value)
    if match is None or match.group("unit") not in _UNITS:
        raise ValueError(f"not a rate: {text!r} (expected e.g. 25MB, 25MiB, 800KB or a number of bytes/s)")
    rate = float(match.group("number")) * _UNITS[match.group("unit")]
    return None if rate == 0 else rate


def check_rate(rate: float | None) -> None:
    """Raise ``ValueError`` unless ``rate`` is ``None`` (no cap) or a finite positive number."""
    if rate is not None and (isinstance(rate, bool) or not math.isfinite(rate) or rate <= 0):
        raise ValueError("download_bytes_per_second must be a positive number of bytes/s or None (no cap)")


def paced(
    chunks: Iterable[SizedT],
    bytes_per_second: float | None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[SizedT]:
    """Yield ``chunks`` (bytes, or anything whose ``len`` is a number of bytes, such as a ``range`` of
    a file to send) no faster than ``bytes_per_second`` (``None``: as they come).

    Each chunk is released once the bytes up to and including it are due at that rate, counted from the
    first chunk; a response more than ``BURST_SECONDS`` behind schedule is re-anchored to now.
    """
    if bytes_per_second is None:
        yield from chunks
        return
    check_rate(bytes_per_second)
    due: float | None = None
    for chunk in chunks:
        now = clock()
        due = now if due is None else max(due, now - BURST_SECONDS)
        due += len(chunk) / bytes_per_second
        if due > now:
            sleep(due - now)
        yield chunk
