"""A signed URL's fetch failing as urllib3 and requests really report it, without a socket: the
connection is refused the way the kernel refuses one to a closed port, and urllib3 retries once,
so both of its texts exist: the "Retrying ... : /path?query" warning it logs and the
"Max retries exceeded with url: /path?query" error requests raises. Both write the URL without
its scheme and host, which the redaction once missed."""

from __future__ import annotations

import logging

import requests
from urllib3 import HTTPSConnectionPool
from urllib3.connection import HTTPSConnection
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

SIGNATURE = "d3adb33fc0ffee5ecret"
SIGNED_PATH = (
    "/cdn/videos/65fa6b07dca2e367461a2925/t.png"
    f"?Expires=1767225600&X-Amz-Credential=AKIDEXAMPLE&X-Amz-Signature={SIGNATURE}&Signature={SIGNATURE}"
)
HOST = "93.184.216.34"


class _Refused(HTTPSConnection):
    def connect(self) -> None:
        raise ConnectionRefusedError(111, "Connection refused")


class _Capture(logging.Filter):
    """urllib3's warnings as it wrote them, before any other filter of its logger."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        self.lines.append(record.getMessage())
        return True


def refused_fetch(path: str = SIGNED_PATH) -> tuple[requests.ConnectionError, list[str]]:
    """The error requests raises for GET https://HOST`path` (as HTTPAdapter.send wraps urllib3's),
    and the warnings urllib3 logged on the way, unredacted."""
    pool = HTTPSConnectionPool(HOST, 443, retries=Retry(total=1, backoff_factor=0))
    pool.ConnectionCls = _Refused  # type: ignore[assignment]
    urllib3_log = logging.getLogger("urllib3.connectionpool")
    capture = _Capture()
    urllib3_log.filters.insert(0, capture)
    try:
        pool.urlopen("GET", path)
    except MaxRetryError as exc:
        return requests.ConnectionError(exc), capture.lines
    finally:
        urllib3_log.removeFilter(capture)
        pool.close()
    raise AssertionError("the connection was not refused")
