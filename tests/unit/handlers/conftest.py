"""What the handler modules share: moto resources shaped from the template, a bucket, and the
environment a handler reads at import (a module may define its own `env` instead)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.unit.aws_resources import Resources


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resources]:
    with mock_aws():
        resources = Resources()
        resources.adapters.s3.create_bucket(Bucket="videos")
        for key, value in resources.env.items():
            monkeypatch.setenv(key, value)
        yield resources
