"""Listing exports newest first, a page at a time, on the indexes template.yaml declares (moto)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from aistudios_export import ExportRecord, ExportStatus, RequestValidationError, TransientUpstreamError
from aistudios_export.store import listing
from aistudios_export.store.listing import decode_token, encode_token
from tests.unit.aws_resources import PROJECT_ID, Resources

pytestmark = pytest.mark.unit
OTHER_PROJECT = "0" * 24
S = ExportStatus


@pytest.fixture
def table() -> Iterator[Resources]:
    with mock_aws():
        yield Resources()


def _add(
    env: Resources, n: int, status: ExportStatus, project: str = PROJECT_ID, minute: int | None = None
) -> str:
    export_id = f"{n:032x}"
    stamp = f"2026-11-27T20:{minute if minute is not None else n:02d}:00.000Z"
    env.adapters.store.create(ExportRecord(export_id, project, "1080", status=status, created_at=stamp))
    return export_id


def _pages(env: Resources, limit: int, **filters: Any) -> list[list[str]]:
    """Every page of a listing, following its tokens through their text form as a caller would."""
    pages: list[list[str]] = []
    token: str | None = None
    for _ in range(100):
        after = decode_token(token, filters.get("project_id"), filters.get("status")) if token else None
        records, resume = env.adapters.store.list_page(limit=limit, after=after, **filters)
        pages.append([r.export_id for r in records])
        token = encode_token(resume) if resume else None
        if token is None:
            return pages
    raise AssertionError("the listing never ended")


def _flat(pages: list[list[str]]) -> list[str]:
    return [export_id for page in pages for export_id in page]


def test_a_project_lists_its_exports_newest_first_a_page_at_a_time(table: Resources) -> None:
    ids = [_add(table, n, S.SUCCEEDED) for n in range(7)]
    _add(table, 20, S.SUCCEEDED, project=OTHER_PROJECT)
    table.adapters.store.create_with_lease(
        ExportRecord("e" * 32, PROJECT_ID, "1080", created_at="2026-11-27T21:00:00.000Z"), 2**40
    )  # a lease item lives in the same table: it must stay out of every listing
    ids.append("e" * 32)
    assert _pages(table, 3, project_id=PROJECT_ID) == [ids[::-1][:3], ids[::-1][3:6], ids[::-1][6:]]
    assert _pages(table, 8, project_id=PROJECT_ID) == [ids[::-1]]  # exactly full: no empty last page


def test_a_project_and_a_status_filter_the_project_s_exports(table: Resources) -> None:
    statuses = [S.FAILED, S.SUCCEEDED, S.FAILED, S.CANCELLED, S.FAILED, S.SUCCEEDED, S.FAILED]
    ids = [_add(table, n, status) for n, status in enumerate(statuses)]
    _add(table, 30, S.FAILED, project=OTHER_PROJECT)
    failed = [i for i, s in zip(ids, statuses, strict=True) if s is S.FAILED][::-1]
    assert _pages(table, 3, project_id=PROJECT_ID, status=S.FAILED) == [failed[:3], failed[3:]]
    assert _flat(_pages(table, 1, project_id=PROJECT_ID, status=S.RENDERING)) == []


def test_a_sparse_filter_gives_short_pages_that_still_go_on(
    table: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "FILTERED_READ", 2)
    monkeypatch.setattr(listing, "MAX_LISTING_READS", 2)
    wanted = _add(table, 0, S.FAILED)
    for n in range(1, 10):
        _add(table, n, S.SUCCEEDED)
    pages = _pages(table, 1, project_id=PROJECT_ID, status=S.FAILED)
    assert pages[0] == []  # four exports read, none of them FAILED: an empty page, and a token
    assert _flat(pages) == [wanted]


def test_one_status_lists_from_its_own_partition(table: Resources) -> None:
    rendering = [_add(table, n, S.RENDERING, project=f"{n:024x}") for n in range(5)]
    _add(table, 10, S.SUCCEEDED)
    assert _pages(table, 2, status=S.RENDERING) == [rendering[:2:-1], rendering[2:0:-1], rendering[:1]]


def test_all_exports_merge_every_status_newest_first(table: Resources) -> None:
    statuses = [S.SUCCEEDED, S.FAILED, S.RENDERING, S.SUCCEEDED, S.REQUESTED, S.TIMED_OUT, S.SUCCEEDED]
    ids = [_add(table, n, s, project=f"{n % 3:024x}") for n, s in enumerate(statuses)]
    for limit in (1, 2, 3, 7, 100):
        pages = _pages(table, limit)
        assert _flat(pages) == ids[::-1], limit
        assert all(len(page) == limit for page in pages[:-1])


def test_exports_created_in_the_same_millisecond_are_each_listed_once(table: Resources) -> None:
    ids = [_add(table, n, [S.SUCCEEDED, S.FAILED][n % 2], minute=0) for n in range(6)]
    assert sorted(_flat(_pages(table, 4))) == sorted(ids)
    assert sorted(_flat(_pages(table, 1))) == sorted(ids)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    exports=st.lists(
        st.tuples(st.sampled_from(list(S)), st.sampled_from([PROJECT_ID, OTHER_PROJECT])), max_size=14
    ),
    limit=st.integers(1, 5),
    by_project=st.booleans(),
    status=st.none() | st.sampled_from(list(S)),
)
def test_pages_together_are_the_listing_exactly_once(
    table: Resources,
    exports: list[tuple[ExportStatus, str]],
    limit: int,
    by_project: bool,
    status: ExportStatus | None,
) -> None:
    for item in table.items():
        table.table.delete_item(Key={"exportId": item["exportId"]})
    for n, (export_status, project) in enumerate(exports):
        _add(table, n, export_status, project=project)
    project_id = PROJECT_ID if by_project else None
    expected = [
        f"{n:032x}"
        for n, (s, p) in reversed(list(enumerate(exports)))
        if (project_id is None or p == project_id) and (status is None or s is status)
    ]
    pages = _pages(table, limit, project_id=project_id, status=status)
    assert _flat(pages) == expected
    assert all(len(page) <= limit for page in pages)


def _token(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


KEY = {"exportId": "a" * 32, "projectId": PROJECT_ID, "createdAt": "2026-11-27T20:00:00.000Z"}


@pytest.mark.parametrize(
    "token",
    [
        "not base64 at all!",
        "e30",  # {}
        _token([1, 2]),
        _token("text"),
        _token({PROJECT_ID: KEY | {"extra": "1"}}),
        _token({PROJECT_ID: {k: v for k, v in KEY.items() if k != "createdAt"}}),
        _token({PROJECT_ID: KEY | {"exportId": "A" * 32}}),
        _token({PROJECT_ID: KEY | {"exportId": 7}}),
        _token({PROJECT_ID: KEY | {"createdAt": "yesterday"}}),
        _token({PROJECT_ID: KEY | {"projectId": OTHER_PROJECT}}),
        _token({OTHER_PROJECT: KEY | {"projectId": OTHER_PROJECT}}),  # another project's listing
        _token({"FAILED": {"exportId": "a" * 32, "status": "FAILED", "createdAt": KEY["createdAt"]}}),
        _token({PROJECT_ID: "later"}),
        base64.urlsafe_b64encode(b"[" * 5000).decode(),
    ],
)
def test_a_token_this_listing_did_not_issue_is_refused_naming_next_token(token: str) -> None:
    with pytest.raises(RequestValidationError) as caught:
        decode_token(token, PROJECT_ID, None)
    assert [e["field"] for e in caught.value.errors] == ["nextToken"]


def test_a_token_is_checked_against_the_filters_it_comes_with() -> None:
    token = encode_token({PROJECT_ID: KEY})
    assert decode_token(token, PROJECT_ID, ExportStatus.FAILED) == {PROJECT_ID: KEY}  # same index
    with pytest.raises(RequestValidationError):
        decode_token(token, None, None)  # all exports: another index
    status_key = {"exportId": "b" * 32, "status": "FAILED", "createdAt": KEY["createdAt"]}
    with pytest.raises(RequestValidationError):
        decode_token(encode_token({"FAILED": status_key}), None, ExportStatus.SUCCEEDED)
    merged = {"FAILED": status_key, "SUCCEEDED": "end"}
    assert decode_token(encode_token(merged), None, None) == merged


def test_a_status_page_reads_the_records_its_keys_name_and_leaves_out_those_gone_or_moved(
    table: Resources,
) -> None:
    ids = [_add(table, n, S.RENDERING) for n in range(4)]
    table.table.delete_item(Key={"exportId": ids[1]})  # withdrawn after the index named it
    table.table.update_item(
        Key={"exportId": ids[2]},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "DELIVERING"},
    )
    keys = [
        {"exportId": i, "status": "RENDERING", "createdAt": "x"}
        for i in (ids[3], ids[2], ids[1], ids[0], ids[3])
    ]
    records = listing._records_named(table.table, keys, S.RENDERING)
    assert [r["exportId"] for r in records] == [ids[3], ids[0]]
    assert records[0]["projectId"] == PROJECT_ID  # the whole record, not the index's keys
    assert [r["exportId"] for r in listing._records_named(table.table, keys, None)] == [
        ids[3],
        ids[2],
        ids[0],
    ]


class _Busy:
    """The table, whose BatchGetItem leaves its first key unprocessed `times` times."""

    def __init__(self, table: Any, times: int) -> None:
        self.name, self._table, self.times, self.calls = table.name, table, times, 0
        self.meta = self

    @property
    def client(self) -> Any:
        return self

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        keys = RequestItems[self.name]["Keys"]
        if self.times:
            self.times -= 1
            answer: dict[str, Any] = {"Responses": {self.name: []}}
            if keys[1:]:
                answer = self._table.meta.client.batch_get_item(RequestItems={self.name: {"Keys": keys[1:]}})
            answer["UnprocessedKeys"] = {self.name: {"Keys": keys[:1]}}
            return answer
        return self._table.meta.client.batch_get_item(RequestItems=RequestItems)  # type: ignore[no-any-return]


def test_unprocessed_keys_are_read_again_and_a_table_that_stays_busy_is_a_503(
    table: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing.time, "sleep", lambda _: None)
    ids = [_add(table, n, S.SUCCEEDED) for n in range(3)]
    keys = [{"exportId": i} for i in reversed(ids)]
    busy = _Busy(table.table, times=2)
    assert [r["exportId"] for r in listing._records_named(busy, keys, None)] == ids[::-1]
    assert busy.calls == 3
    with pytest.raises(TransientUpstreamError) as raised:
        listing._records_named(_Busy(table.table, times=listing.BATCH_ATTEMPTS), keys, None)
    assert raised.value.code == "ListingThrottled"


def test_an_index_still_being_filled_after_a_stack_update_is_a_503_not_a_500(table: Resources) -> None:
    class Backfilling:
        name = "exports"

        def query(self, **_: Any) -> None:
            raise ClientError(
                {
                    "Error": {
                        "Code": "ValidationException",
                        "Message": "Cannot read from backfilling global secondary index: byStatusKeys",
                    }
                },
                "Query",
            )

    with pytest.raises(TransientUpstreamError) as raised:
        listing.list_page(Backfilling(), project_id=None, status=S.RENDERING, limit=5, after=None)
    assert raised.value.code == "IndexNotReady"
