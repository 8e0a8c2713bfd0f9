"""URL validation with the machine's real resolver: the spellings of loopback a parser would miss."""

from __future__ import annotations

import pytest

from aistudios_export import UnsafeUrlError
from aistudios_export.net.urls import resolve_target

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/v.mp4",  # decimal 127.0.0.1
        "https://0177.0.0.1/v.mp4",  # octal
        "https://0x7f.0.0.1/v.mp4",  # hexadecimal
        "https://017700000001/v.mp4",  # octal, one number
        "https://127.1/v.mp4",  # short form
        "https://localhost./v.mp4",
    ],
)
def test_numeric_spellings_of_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrlError, match=r"not a public address|non-public|does not resolve"):
        resolve_target(url)
