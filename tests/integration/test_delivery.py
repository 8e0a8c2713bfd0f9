"""Delivery from the simulator's CDN over real HTTP (ranges, pinned connections) into S3 (moto)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from aistudios_export.delivery.engine import VideoDelivery
from local.simulator import Fault, Simulator, SimulatorConfig
from tests.helpers import new_project_id

pytestmark = pytest.mark.integration
SIZE = 23 * 1024 * 1024 + 777  # five parts of 5 MiB, the last one short


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(render_seconds=0, video_size=SIZE)) as simulator:
        yield simulator


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="videos")
        yield client


def download_url(sim: Simulator, project_id: str) -> str:
    base = sim.base_url
    token = requests.post(
        f"{base}/api/odin/v3/auth/token",
        json={"appId": sim.config.app_id, "userKey": sim.config.user_key},
        timeout=5,
    ).json()["data"]["token"]
    headers = {"Authorization": token}
    requests.post(
        f"{base}/api/odin/v3/editor/project/export",
        json={"projectId": project_id},
        headers=headers,
        timeout=5,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        data = requests.get(
            f"{base}/api/odin/v3/editor/progress/{project_id}", headers=headers, timeout=5
        ).json()["data"]
        if data.get("downloadUrl"):
            return str(data["downloadUrl"])
        time.sleep(0.1)
    raise AssertionError("the render never finished")


def test_parallel_ranges_through_pinned_connections_arrive_byte_for_byte(sim: Simulator, s3: Any) -> None:
    project_id = new_project_id()
    url = download_url(sim, project_id)
    delivery = VideoDelivery(s3, part_size=5 * 1024 * 1024, workers=4, local_origin=sim.base_url)

    result = delivery.deliver(url, bucket="videos", key="v.mp4", metadata={})

    stored = s3.get_object(Bucket="videos", Key="v.mp4")["Body"].read()
    assert len(stored) == SIZE == result.size
    assert hashlib.sha256(stored).hexdigest() == result.sha256 == sim.video_sha256(project_id)
    assert result.parts == 5
    assert sim.stats()["requests"]["download"] >= 5  # one GET and four ranges


def test_a_connection_dropped_mid_range_costs_only_the_missing_bytes(sim: Simulator, s3: Any) -> None:
    project_id = new_project_id()
    url = download_url(sim, project_id)
    sim.inject(Fault("download_truncate", route="download", after_bytes=100_000, times=1))
    delivery = VideoDelivery(s3, part_size=5 * 1024 * 1024, workers=4, local_origin=sim.base_url)

    result = delivery.deliver(url, bucket="videos", key="v.mp4", metadata={})

    assert (
        hashlib.sha256(s3.get_object(Bucket="videos", Key="v.mp4")["Body"].read()).hexdigest()
        == result.sha256
    )
    assert result.sha256 == sim.video_sha256(project_id)
    assert result.fetched == SIZE  # nothing was fetched twice
