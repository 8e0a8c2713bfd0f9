"""A Deliver attempt killed half way (as Lambda kills a function that times out), then retried by
the state machine: the copy resumes from the parts already uploaded, byte for byte."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from local.stack import LocalDeployment
from tests.helpers import new_project_id
from tests.integration.conftest import Api, deployment

pytestmark = pytest.mark.integration
MIB = 1024 * 1024
SIZE = 24 * MIB
PART = 5 * MIB


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployment]:
    yield from deployment(
        tmp_path_factory,
        render_seconds=1.0,
        video_size=SIZE,
        download_bytes_per_second=2_000_000,  # a slow CDN: the copy takes a few seconds
        export_deadline_seconds=120,
        function_env={"DELIVERY_WORKERS": "2", "PART_SIZE_MB": "5"},
    )


def _delivering(api: Api) -> tuple[str, str]:
    """A new export of a new project, once its copy has begun: (projectId, exportId)."""
    project_id = new_project_id()
    export_id = api.post_export({"projectId": project_id}).json()["exportId"]
    deadline = time.monotonic() + 30
    while api.get_export(export_id).json()["status"] != "DELIVERING":
        assert time.monotonic() < deadline, "the export never started delivering"
        time.sleep(0.2)
    return project_id, export_id


def test_a_killed_delivery_resumes_and_fetches_only_what_is_missing(stack: LocalDeployment) -> None:
    api = Api(stack)
    project_id, export_id = _delivering(api)
    time.sleep(3.5)  # two ranges at 2 MB/s: a part or two are uploaded by now
    [deliver] = [p for p in stack.supervisor.pools.values() if p.spec.logical_id == "DeliverExportFunction"]
    served_before_kill = stack.simulator.stats()["download_bytes"]
    assert deliver.crash_busy() == 1
    assert served_before_kill < SIZE, "the first attempt should have been killed half way"

    view = api.wait_final(export_id, timeout=90)

    assert view["status"] == "SUCCEEDED", view
    video = view["video"]
    stored = stack.client("s3").get_object(Bucket=video["bucket"], Key=video["key"])["Body"].read()
    assert stored == stack.simulator.render_video(project_id).read()
    log = (stack.options.log_dir / f"{deliver.spec.name}.log").read_text()  # type: ignore[operator]
    assert "video delivered, resumed" in log
    # Everything served: the first attempt's bytes, then only the parts it had not uploaded. At most
    # the two parts in flight when it was killed (and the first GET's read-ahead) are fetched twice.
    served = stack.simulator.stats()["download_bytes"]
    print(f"served before the kill {served_before_kill}, in all {served}, video {SIZE}")
    assert served < SIZE + 2 * PART + MIB, f"{served} bytes served for a {SIZE}-byte video"
    uploads = stack.client("s3").list_multipart_uploads(Bucket=video["bucket"]).get("Uploads", [])
    assert not uploads, "no incomplete upload is left behind"


def test_a_cancel_during_the_copy_leaves_no_object_and_no_upload(stack: LocalDeployment) -> None:
    import requests

    api = Api(stack)
    project_id, export_id = _delivering(api)
    time.sleep(2)

    cancelled = requests.delete(f"{api.url}/exports/{export_id}", timeout=30)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    bucket = stack.endpoints["bucket"]
    s3 = stack.client("s3")
    deadline = time.monotonic() + 30
    while s3.list_multipart_uploads(Bucket=bucket).get("Uploads"):  # the copy notices at its next part
        assert time.monotonic() < deadline, "the upload was never aborted"
        time.sleep(0.5)
    time.sleep(1)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"exports/{project_id}/").get("Contents", [])
    assert listed == []
    assert api.get_export(export_id).json()["status"] == "CANCELLED"
