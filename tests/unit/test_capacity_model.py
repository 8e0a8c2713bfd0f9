"""The capacity model (make bench-capacity): its per-export figures come from the sources the other
benchmarks and the template hold, raising a quota moves the first limit reached, the queue behaves
as a queue, and cost follows volume."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from benchmarks.capacity_bench.costs import FIXED_A_MONTH, monthly
from benchmarks.capacity_bench.figures import PerExport, parts_for, per_export, template_settings
from benchmarks.capacity_bench.limits import assess, first_reached, limit_values
from benchmarks.capacity_bench.queue import erlang_c, servers_for, start_queue
from benchmarks.polling_bench.costs import transitions_from_asl
from local.stack.template import load_template


@pytest.fixture(scope="module")
def one() -> PerExport:
    return per_export(video_gib=1.0, renders=40)


def _values(one: PerExport, **overrides: float) -> dict[str, float | None]:
    return limit_values(template_settings() | {"start_seconds": one.start_seconds}, overrides)


def test_figures_come_from_the_asl_and_the_template(one: PerExport) -> None:
    steps = transitions_from_asl()
    template = load_template()
    assert one.transitions == pytest.approx(steps.plain * one.polls + steps.done)
    assert one.poll_memory_gb * 1024 == template["Globals"]["Function"]["MemorySize"]
    assert (
        one.delivery_memory_gb * 1024
        == template["Resources"]["DeliverExportFunction"]["Properties"]["MemorySize"]
    )
    part_mib = template["Parameters"]["DeliveryPartSizeMB"]["Default"]
    assert one.s3_puts - parts_for(1.0, part_mib) == 5
    assert parts_for(1.0, part_mib) == math.ceil(1024 / part_mib)
    assert 1 < one.polls < 30  # the planner's replay, not a constant
    assert one.render_seconds > 60


def test_the_part_size_grows_past_ten_thousand_parts() -> None:
    assert parts_for(100.0, 8) == 10_000  # 100 GiB at 8 MiB would be 12,800
    assert parts_for(0.001, 8) == 1


def test_the_queue_and_api_limits_are_the_template_s(one: PerExport) -> None:
    values = _values(one)
    settings = template_settings()
    assert values["queue"] == settings["max_concurrent_starts"] / one.start_seconds
    assert values["api"] == settings["api_rate"]


def test_raising_a_quota_moves_the_first_limit(one: PerExport) -> None:
    rows = assess(100_000, one, _values(one))
    assert first_reached(rows).limit.key == "queue"
    raised = assess(100_000, one, _values(one, queue=1000.0))
    after = first_reached(raised)
    assert after.limit.key != "queue"
    further = assess(100_000, one, _values(one, queue=1000.0, **{after.limit.key: 1e12}))
    assert first_reached(further).limit.key not in {"queue", after.limit.key}


def test_the_way_in_decides_which_intake_limit_counts(one: PerExport) -> None:
    rows = assess(100_000, one, _values(one, queue=1000.0, api=5.0))
    assert first_reached(rows, frozenset({"api"})).limit.key == "api"
    assert first_reached(rows, frozenset({"queue"})).limit.key != "api"


def test_an_unknown_limit_is_never_the_first_until_given(one: PerExport) -> None:
    rows = assess(100_000, one, _values(one))
    aistudios = next(row for row in rows if row.limit.key == "aistudios")
    assert aistudios.use is None
    assert aistudios.need == pytest.approx(100_000 / 3600 * one.aistudios_requests)
    given = assess(100_000, one, _values(one, aistudios=1.0))
    assert first_reached(given).limit.key == "aistudios"


def test_needs_grow_with_volume(one: PerExport) -> None:
    low, high = assess(1000, one, _values(one)), assess(10_000, one, _values(one))
    for a, b in zip(low, high, strict=True):
        assert b.need == pytest.approx(10 * a.need)


def test_erlang_c_known_value() -> None:
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)  # M/M/2 at half load
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: the chance to wait is the load


def test_the_queue_within_and_over_capacity() -> None:
    calm = start_queue(1.0, servers=5, service=1.0)
    assert not calm.overloaded
    assert 1.0 <= calm.start_latency < 1.1
    over = start_queue(10.0, servers=5, service=1.0)
    assert over.overloaded
    assert over.depth == pytest.approx(5 * 3600)
    assert over.start_latency == pytest.approx(3600 + 1.0)
    assert servers_for(27.8, 1.0, 5.0) >= 28
    assert start_queue(27.8, servers_for(27.8, 1.0, 5.0), 1.0).start_latency <= 5.0


def test_cost_grows_with_volume(one: PerExport) -> None:
    small, large = monthly(1000, one), monthly(10_000, one)
    assert large.total > small.total > FIXED_A_MONTH
    per_export = sum(small.per_export.values())
    assert large.variable - large.xray == pytest.approx(10 * (small.variable - small.xray))
    assert small.variable - small.xray == pytest.approx(per_export * 1000 * 730)


def test_a_larger_video_costs_more_and_needs_more_lambda(one: PerExport) -> None:
    big = replace(one, video_gib=4.0, delivery_seconds=one.delivery_seconds * 4)
    assert monthly(1000, big).total > monthly(1000, one).total
    lam = {row.limit.key: row for row in assess(1000, big, _values(big))}["lambda"]
    assert lam.need > {row.limit.key: row for row in assess(1000, one, _values(one))}["lambda"].need
