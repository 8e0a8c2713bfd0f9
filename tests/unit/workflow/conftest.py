"""What every workflow test shares: the video's Last-Modified, which the poll may ask the CDN for,
answered here (unit tests use no network): unknown unless a test sets `modified.at`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from aistudios_export.net import modified as modified_module


class Modified:
    def __init__(self) -> None:
        self.at: datetime | None = None
        self.asked: list[str] = []

    def __call__(self, url: str, **_: Any) -> datetime | None:
        self.asked.append(url)
        return self.at


@pytest.fixture(autouse=True)
def modified(monkeypatch: pytest.MonkeyPatch) -> Modified:
    fake = Modified()
    monkeypatch.setattr(modified_module, "last_modified", fake)
    return fake
