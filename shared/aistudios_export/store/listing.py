"""Listing exports newest first, a page at a time, and the opaque token that resumes a listing.

Which index (template.yaml, ExportsTable): a project's exports from byProject, filtered by status
when one is given too (a project runs one export at a time, so it has few and the filter reads
little); one status' exports from byStatusKeys; all exports by merging the byStatusKeys partitions,
one query each per page (an export that changes status between two pages may then show twice or
not). byStatusKeys holds keys only: the page's records are then read with BatchGetItem (one that
left the status it was listed under by then is left out of a status' page).

The token holds where each partition read resumes: {partition: key, or "end"}, as base64url JSON.
It is checked against the listing it is presented to, so an altered token, or one issued for other
filters, is refused naming nextToken and never reaches DynamoDB (a key it cannot use is a 500)."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ..aws.errors import error_code
from ..clock import iso, iso_seconds
from ..errors import TransientUpstreamError, invalid
from ..models import EXPORT_ID, OPEN_STATUSES, ExportRecord, ExportStatus

PROJECT_INDEX = "byProject"
STATUS_INDEX = "byStatusKeys"
BATCH_ATTEMPTS = 5  # BatchGetItem calls for one page, while DynamoDB leaves keys unprocessed
MAX_LISTING_READS = 10  # queries per page at most when filtering: a sparse filter gives a short page
FILTERED_READ = 100  # items read per query when a filter may discard some
END = "end"
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")

Cursors = dict[str, Any]  # partition value -> the key to resume after, or END


def partitions(project_id: str | None, status: ExportStatus | None) -> tuple[str, str, list[str]]:
    """The index a listing reads, its partition key attribute, and the partitions it reads."""
    if project_id is not None:
        return PROJECT_INDEX, "projectId", [project_id]
    return STATUS_INDEX, "status", [status.value] if status else [s.value for s in ExportStatus]


def list_page(
    table: Any, *, project_id: str | None, status: ExportStatus | None, limit: int, after: Cursors | None
) -> tuple[list[ExportRecord], Cursors | None]:
    """Up to `limit` exports newest first, and where the next page resumes (None after the last).

    A page may hold fewer than `limit` exports, even none, and still have a next one: a filtered
    read stops after MAX_LISTING_READS queries."""
    index, name, values = partitions(project_id, status)
    after = after or {}
    if len(values) == 1:
        only = values[0]
        if after.get(only) == END:
            return [], None
        filtered = status if project_id is not None else None
        items, cursors = _read_one(table, index, name, only, filtered, limit, after.get(only))
    else:
        items, cursors = _merge(table, index, name, values, limit, after)
    if index == STATUS_INDEX:
        items = _records_named(table, items, status)
    return [ExportRecord.from_item(item) for item in items], cursors


def _merge(
    table: Any, index: str, name: str, values: list[str], limit: int, after: Cursors
) -> tuple[list[dict[str, Any]], Cursors | None]:
    """The newest `limit` items of several partitions, read one query each, and where each resumes."""
    pages = {
        value: _query(table, index, name, value, None, limit, after.get(value))
        for value in values
        if after.get(value) != END
    }
    taken = dict.fromkeys(pages, 0)
    records: list[dict[str, Any]] = []
    while len(records) < limit:
        heads = [(pages[v][0][n], v) for v, n in taken.items() if n < len(pages[v][0])]
        if not heads:
            break
        item, value = max(heads, key=lambda head: (head[0]["createdAt"], head[0]["exportId"]))
        records.append(item)
        taken[value] += 1
    cursors: Cursors = {value: END for value in values if after.get(value) == END}
    more = False
    for value, (items, resume) in pages.items():
        n = taken[value]
        if n < len(items):  # resume inside what was read (a partition not yet taken from: as it was)
            more = True
            if n or value in after:
                cursors[value] = _key(items[n - 1], name) if n else after[value]
        elif resume:
            more = True
            cursors[value] = resume
        else:
            cursors[value] = END
    return records, cursors if more else None


def _read_one(
    table: Any,
    index: str,
    name: str,
    value: str,
    status: ExportStatus | None,
    limit: int,
    after: dict[str, str] | None,
) -> tuple[list[dict[str, Any]], Cursors | None]:
    records: list[dict[str, Any]] = []
    for _ in range(MAX_LISTING_READS):
        wanted = limit - len(records)
        items, after = _query(
            table, index, name, value, status, max(wanted, FILTERED_READ) if status else wanted, after
        )
        taken = items[:wanted]
        records += taken
        if len(records) == limit:
            # DynamoDB's own key may lie past exports read but not returned: resume after the last one
            more = after is not None or len(items) > len(taken)
            return records, {value: _key(taken[-1], name)} if more else None
        if after is None:
            return records, None
    return records, {value: after}


def _query(
    table: Any,
    index: str,
    name: str,
    value: str,
    status: ExportStatus | None,
    limit: int,
    after: dict[str, str] | None,
) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    query: dict[str, Any] = {
        "IndexName": index,
        "KeyConditionExpression": "#k = :k",
        "ExpressionAttributeNames": {"#k": name},
        "ExpressionAttributeValues": {":k": value},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if status is not None:
        query["FilterExpression"] = "#s = :s"
        query["ExpressionAttributeNames"]["#s"] = "status"
        query["ExpressionAttributeValues"][":s"] = status.value
    if after:
        query["ExclusiveStartKey"] = after
    response = _index_query(table, query)
    return list(response.get("Items", [])), response.get("LastEvaluatedKey")


def _index_query(table: Any, query: dict[str, Any]) -> dict[str, Any]:
    try:
        response: dict[str, Any] = table.query(**query)
    except ClientError as exc:
        # an index added by a stack update is read only once DynamoDB has filled it (docs/deploying.md)
        if error_code(exc) == "ValidationException" and "backfilling" in str(exc):
            raise TransientUpstreamError(
                f"the {query['IndexName']} index is still being built; try again later",
                code="IndexNotReady",
                retry_after=60,
            ) from None
        raise
    return response


def _records_named(
    table: Any, keys: list[dict[str, Any]], status: ExportStatus | None
) -> list[dict[str, Any]]:
    """The records the index's keys name, in their order: one withdrawn since is left out, and so is
    one that has left `status` (listed under it) since."""
    # an export that changed status between two partitions' queries may be named twice
    wanted = [{"exportId": export_id} for export_id in dict.fromkeys(key["exportId"] for key in keys)]
    found: dict[str, dict[str, Any]] = {}
    for attempt in range(BATCH_ATTEMPTS):
        if not wanted:
            break
        if attempt:
            time.sleep(0.05 * 2**attempt)
        response = table.meta.client.batch_get_item(RequestItems={table.name: {"Keys": wanted}})
        # the table resource's client takes and gives plain values, as the table's own calls do
        for item in response.get("Responses", {}).get(table.name, []):
            found[item["exportId"]] = item
        wanted = response.get("UnprocessedKeys", {}).get(table.name, {}).get("Keys", [])
    if wanted:
        raise TransientUpstreamError(
            "the exports table is busy; try the listing again", code="ListingThrottled", retry_after=1
        )
    records = [
        found[export_id] for export_id in dict.fromkeys(k["exportId"] for k in keys) if export_id in found
    ]
    return [r for r in records if status is None or r.get("status") == status.value]


def open_past_deadline(table: Any, cutoff: datetime, *, limit: int) -> list[str]:
    """Open exports created before `cutoff` whose deadline (deadlineAt, which the status index
    carries) had passed by then, oldest first, `limit` at most."""
    found: list[str] = []
    for status in sorted(s.value for s in OPEN_STATUSES):
        after: dict[str, str] | None = None
        while len(found) < limit:
            query: dict[str, Any] = {
                "IndexName": STATUS_INDEX,
                "KeyConditionExpression": "#s = :s AND createdAt < :created",
                "FilterExpression": "deadlineAt < :deadline",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {
                    ":s": status,
                    ":created": iso(cutoff),
                    ":deadline": iso_seconds(cutoff),
                },
                "ProjectionExpression": "exportId",
            }
            if after:
                query["ExclusiveStartKey"] = after
            response = _index_query(table, query)
            found += [item["exportId"] for item in response.get("Items", [])]
            after = response.get("LastEvaluatedKey")
            if after is None:
                break
    return found[:limit]


def _key(item: dict[str, Any], partition: str) -> dict[str, str]:
    """Where a read resumes after `item`: the table's key and the index's."""
    return {"exportId": item["exportId"], partition: item[partition], "createdAt": item["createdAt"]}


def encode_token(cursors: Cursors) -> str:
    raw = json.dumps(cursors, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, project_id: str | None, status: ExportStatus | None) -> Cursors:
    """The cursors in `token`, if a listing with these filters could have issued it."""
    _, name, values = partitions(project_id, status)
    try:
        cursors = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        cursors = None
    if (
        not isinstance(cursors, dict)
        or not cursors
        or not all(
            value in values and (cursor == END or _is_key(cursor, name, value))
            for value, cursor in cursors.items()
        )
    ):
        raise invalid("nextToken", "is not a token this listing issued (pass the filters it was issued with)")
    return cursors


def _is_key(cursor: Any, name: str, value: str) -> bool:
    return (
        isinstance(cursor, dict)
        and set(cursor) == {"exportId", name, "createdAt"}
        and cursor[name] == value
        and isinstance(cursor["exportId"], str)
        and bool(EXPORT_ID.match(cursor["exportId"]))
        and isinstance(cursor["createdAt"], str)
        and bool(_TIMESTAMP.match(cursor["createdAt"]))
    )
