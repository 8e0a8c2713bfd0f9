"""The project's thumbnail is fetched under the same URL policy as the video: a host outside
DownloadAllowedHosts is never asked, and nothing is stored (the simulator's CDN on 127.0.0.1, S3 on
in-process moto, the adapters built from settings as a function builds them)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from aistudios_export import Adapters, Settings
from local.simulator import Simulator, SimulatorConfig
from tests.helpers import new_project_id

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(render_seconds=1)) as sim:
        yield sim


def _bucket(simulator: Simulator, allowed: str) -> tuple[Adapters, object]:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="videos")
    settings = Settings.from_env(
        {
            "VIDEO_BUCKET": "videos",
            "LOCAL_HTTP_ORIGIN": simulator.base_url,
            "DOWNLOAD_ALLOWED_HOSTS": allowed,
        }
    )
    return Adapters(settings), s3


@pytest.mark.parametrize(
    ("allowed", "copied"),
    [("cdn.example.com", False), ("127.0.0.1", True), ("", True)],
    ids=["outside the list", "in the list", "no list"],
)
def test_a_thumbnail_from_a_host_outside_the_allowed_list_is_not_copied(
    simulator: Simulator, allowed: str, copied: bool
) -> None:
    project_id = new_project_id()
    url = f"{simulator.base_url}/cdn/thumbnails/{project_id}.png"
    with mock_aws():
        adapters, s3 = _bucket(simulator, allowed)
        before = simulator.stats()["requests"].get("thumbnail", 0)

        key = adapters.bucket.copy_thumbnail(url, f"exports/{project_id}/e.mp4")

        stored = [o["Key"] for o in s3.list_objects_v2(Bucket="videos").get("Contents", [])]  # type: ignore[attr-defined]
        asked = simulator.stats()["requests"].get("thumbnail", 0) - before
    if copied:
        assert key == f"exports/{project_id}/e.png"
        assert (stored, asked) == ([key], 1)
    else:
        assert key is None
        assert (stored, asked) == ([], 0)  # refused before any connection
