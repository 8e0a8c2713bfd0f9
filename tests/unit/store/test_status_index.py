"""What each index of the exports table costs in writes over one export's life, measured on moto by
replaying DynamoDB's documented rules for index writes (developerguide/GSI.html#GSI.Writes) on the
record before and after every write our code and the state machine make, and what that means for
one status partition at 10,000 concurrent exports (issue: the old byStatus index, projection ALL,
took every progress write into the single RENDERING partition)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from aistudios_export import ExportRequest, VideoLocation
from aistudios_export.workflow.start import start_export
from local.stack.template import Resolver, resources_of_type
from tests.unit.aws_resources import PROJECT_ID, TEMPLATE, Resources

pytestmark = pytest.mark.unit

PARTITION_WCU = 1000  # what one partition of a table or index takes a second (developerguide/bp-partition-key-design.html)
CONCURRENT = 10_000
SHORTEST_WAIT = 10  # seconds: PollMinWaitSeconds' smallest value, the fastest an export polls
SHORTEST_LIFE = 60  # seconds: a render takes minutes; one that ends in a minute is the busiest case


def _indexes(**parameters: str) -> list[dict[str, Any]]:
    table = resources_of_type(TEMPLATE, "AWS::DynamoDB::Table")["ExportsTable"]["Properties"]
    return list(Resolver(TEMPLATE, parameters, {}).resolve(table["GlobalSecondaryIndexes"]))


def _entry(item: dict[str, Any] | None, index: dict[str, Any]) -> dict[str, Any] | None:
    """The item as the index holds it; None when it is not in the (sparse) index."""
    keys = [k["AttributeName"] for k in index["KeySchema"]]
    if item is None or any(k not in item for k in keys):
        return None
    projection = index["Projection"]
    kept = {"exportId", *keys}
    if projection["ProjectionType"] == "ALL":
        return dict(item)
    if projection["ProjectionType"] == "INCLUDE":
        kept |= set(projection["NonKeyAttributes"])
    return {k: v for k, v in item.items() if k in kept}


def _size(entry: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it, near enough: names plus values."""
    return sum(len(name) + len(json.dumps(value, default=str)) for name, value in entry.items())


def _index_wcu(before: dict[str, Any] | None, after: dict[str, Any] | None, index: dict[str, Any]) -> int:
    """Write units one table write costs the index (GSI.html#GSI.Writes): none when the entry is
    unchanged or absent on both sides, two when an index key changed (delete, then put)."""
    old, new = _entry(before, index), _entry(after, index)
    if old == new:
        return 0
    keys = [k["AttributeName"] for k in index["KeySchema"]]
    units = [math.ceil(_size(e) / 1024) for e in (old, new) if e is not None]
    if old is not None and new is not None and any(old[k] != new[k] for k in keys):
        return sum(units)
    return units[-1]


@pytest.fixture
def env() -> Iterator[Resources]:
    with mock_aws():
        yield Resources()


class Recorder:
    """Every write of one export's life, with the record before and after it."""

    def __init__(self, env: Resources, export_id: str) -> None:
        self.env, self.export_id = env, export_id
        self.before: dict[str, Any] | None = None
        self.writes: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = []

    def __call__(self, step: str) -> None:
        after = self.env.table.get_item(Key={"exportId": self.export_id}, ConsistentRead=True).get("Item")
        self.writes.append((step, self.before, after))
        self.before = after


def _life(env: Resources, polls: int) -> Recorder:
    """One export from request to notification, as start, poll, webhook, deliver and endings write it."""
    record = start_export(env.adapters, ExportRequest(projectId=PROJECT_ID), webhook_receiver=None)
    write = Recorder(env, record.export_id)
    write("create")
    store = env.adapters.store
    for n in range(polls):
        store.record_progress(record.export_id, 100 * n / polls, "rendering", created_at=record.created_at)
        write("progress")
        # "Wait for render or webhook" stores its task token (statemachine/export.asl.json)
        env.table.update_item(
            Key={"exportId": record.export_id},
            UpdateExpression="SET waitToken = :token",
            ExpressionAttributeValues={":token": f"token-{n}" * 40},
        )
        write("armed wait")
    store.claim_webhook_event(record.export_id, "completed-1", completed=True)
    write("webhook")
    store.mark_delivering(record.export_id)
    write("delivering")
    store.mark_upload(record.export_id, "upload-1")
    write("upload")
    store.mark_succeeded(record.export_id, VideoLocation("bucket", "exports/key.mp4", 10**9, "a" * 64))
    write("succeeded")
    assert store.claim_notification(record.export_id)
    write("notification claimed")
    store.mark_notified(record.export_id)
    write("notified")
    store.release_lease(PROJECT_ID, record.export_id)
    return write


def _wcu(life: Recorder, index: dict[str, Any], steps: set[str] | None = None) -> int:
    return sum(_index_wcu(b, a, index) for step, b, a in life.writes if steps is None or step in steps)


def test_the_status_index_is_written_only_when_an_export_changes_status(env: Resources) -> None:
    (status_index,) = [i for i in _indexes() if i["IndexName"] == "byStatusKeys"]
    short, long = _life(env, polls=3), _life(env, polls=60)
    # one put (REQUESTED) and three moves of two writes each, however long the export polls
    assert _wcu(short, status_index) == _wcu(long, status_index) == 7
    same_status = [(b, a) for _, b, a in long.writes if b and a and b["status"] == a["status"]]
    assert len(same_status) > 120  # progress, armed waits, webhook, upload, notification
    assert sum(_index_wcu(b, a, status_index) for b, a in same_status) == 0


def test_no_status_partition_nears_its_limit_at_10000_concurrent_exports(env: Resources) -> None:
    """Per partition a second: the writes each poll costs it, at every export polling at the
    shortest wait, plus the status moves of exports living the shortest life (a status partition
    takes at most two writes per export: it arrives, it leaves)."""
    life = _life(env, polls=10)
    polls = sum(1 for step, _, _ in life.writes if step == "progress")
    for index in _indexes(KeepOldStatusIndex="true"):
        if index["KeySchema"][0]["AttributeName"] != "status":
            continue
        per_poll = (
            sum(
                _index_wcu(b, a, index)
                for step, b, a in life.writes
                if step in {"progress", "armed wait"} and b and a and b["status"] == a["status"]
            )
            / polls
        )
        per_move = max(
            _index_wcu(b, a, index) for _, b, a in life.writes if b and a and b["status"] != a["status"]
        )
        rate = per_poll * CONCURRENT / SHORTEST_WAIT + per_move * CONCURRENT / SHORTEST_LIFE
        if index["IndexName"] == "byStatus":  # kept only while a stack is upgraded; what it cost
            assert rate > PARTITION_WCU, rate
            continue
        assert per_poll == 0
        assert rate < PARTITION_WCU / 2, f"{index['IndexName']}: {rate:.0f} WCU/s in one partition"


def test_the_old_status_index_is_only_there_while_a_stack_is_upgraded() -> None:
    assert [i["IndexName"] for i in _indexes()] == ["byProject", "byStatusKeys"]
    assert [i["IndexName"] for i in _indexes(KeepOldStatusIndex="true")] == [
        "byProject",
        "byStatus",
        "byStatusKeys",
    ]
