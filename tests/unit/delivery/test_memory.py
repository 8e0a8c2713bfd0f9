"""A delivery never plans more memory than its function has (issue: 8 x 64 MiB parts need ~1.1 GiB,
and a function killed for memory ends a paid render FAILED as Lambda.Unknown)."""

from __future__ import annotations

import pytest

from aistudios_export import PermanentUpstreamError
from aistudios_export.delivery.memory import BASE_MEMORY, MIB, planned_memory, workers_within
from aistudios_export.delivery.ranges import part_size_for
from local.stack.template import load_template

pytestmark = pytest.mark.unit
TEMPLATE = load_template()


def _deliver_memory() -> int:
    props = TEMPLATE["Resources"]["DeliverExportFunction"]["Properties"]
    return int(props.get("MemorySize", TEMPLATE["Globals"]["Function"].get("MemorySize", 128))) * MIB


def test_the_largest_allowed_parameters_fit_the_deliver_function() -> None:
    parameters = TEMPLATE["Parameters"]
    most_workers = int(parameters["DeliveryWorkers"]["MaxValue"])
    largest_part = int(parameters["DeliveryPartSizeMB"]["MaxValue"]) * MIB
    memory = _deliver_memory()
    assert planned_memory(most_workers, largest_part) > memory  # as configured, it would not fit

    workers = workers_within(memory, largest_part, most_workers)

    assert workers >= 1
    assert planned_memory(workers, largest_part) <= memory
    assert planned_memory(workers + 1, largest_part) > memory  # and no fewer workers than fit


@pytest.mark.parametrize("length", [1 * MIB, 1024 * MIB, 50 * 1024 * MIB, 600 * 1024 * MIB])
def test_any_video_a_part_plan_allows_gets_workers_that_fit(length: int) -> None:
    memory = _deliver_memory()
    for preferred_part in (5 * MIB, 8 * MIB, 64 * MIB):
        part = part_size_for(length, preferred_part)
        for preferred_workers in (1, 8, 16):
            workers = workers_within(memory, part, preferred_workers)
            assert 1 <= workers <= preferred_workers
            assert planned_memory(workers, part) <= memory


def test_a_video_whose_parts_cannot_fit_is_refused_before_any_byte() -> None:
    part = part_size_for(5 * 1024 * 1024 * MIB, 8 * MIB)  # 5 TiB in 10,000 parts: 525 MiB each
    with pytest.raises(PermanentUpstreamError) as refused:
        workers_within(_deliver_memory(), part, 8)
    assert refused.value.code == "VideoTooLarge"


def test_without_a_known_memory_the_configured_workers_stand() -> None:
    assert workers_within(None, 64 * MIB, 16) == 16
    assert _deliver_memory() > BASE_MEMORY


def test_the_max_video_bytes_default_is_the_codes_and_any_allowed_limit_fits_the_deliver_function() -> None:
    """Up to the largest MaxVideoBytes, with the largest part size and most workers allowed, every
    video (and a stream of unknown length, cut into parts planned for the limit) gets a plan that
    fits the Deliver function and S3's 10,000 parts: a size refusal (VideoTooLarge) comes from the
    limit, never from memory, unless the function's memory is lowered."""
    from aistudios_export import Settings
    from aistudios_export.delivery.memory import DEFAULT_MAX_VIDEO_BYTES
    from aistudios_export.delivery.ranges import MAX_PARTS, plan_ranges

    parameter = TEMPLATE["Parameters"]["MaxVideoBytes"]
    assert int(parameter["Default"]) == DEFAULT_MAX_VIDEO_BYTES == Settings().max_video_bytes
    largest_limit = int(parameter["MaxValue"])
    largest_part = int(TEMPLATE["Parameters"]["DeliveryPartSizeMB"]["MaxValue"]) * MIB
    most_workers = int(TEMPLATE["Parameters"]["DeliveryWorkers"]["MaxValue"])
    memory = _deliver_memory()
    for length in (1, 1024 * MIB, DEFAULT_MAX_VIDEO_BYTES, largest_limit):
        part = part_size_for(length, largest_part)
        workers = workers_within(memory, part, most_workers)
        assert planned_memory(workers, part) <= memory
        assert len(plan_ranges(length, part)) <= MAX_PARTS
