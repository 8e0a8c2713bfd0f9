"""strict_json: what every way in reads JSON with. Strict, but never stricter than JSON itself
within its bounds, and what it takes can always be written back out as JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aistudios_export import RequestValidationError
from aistudios_export.strict_json import MAX_DEPTH, dumps, loads

pytestmark = pytest.mark.unit

_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**38), 10**38)  # 40 characters at most
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=_VALUES, ensure_ascii=st.booleans())
def test_any_json_within_the_bounds_reads_back_as_written(value: Any, ensure_ascii: bool) -> None:
    text = json.dumps(value, ensure_ascii=ensure_ascii)
    assert loads(text) == value
    assert loads(text.encode()) == value


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet='[]{}":,0123456789.eE+-NaInfityrulsf\\ud8ca ', max_size=60))
def test_what_is_taken_can_be_written_back_strictly(text: str) -> None:
    try:
        value = loads(text)
    except RequestValidationError:
        return
    json.loads(dumps(value))


def test_the_bounds() -> None:
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(RequestValidationError, match="nest deeper"):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert loads("9" * 40) == int("9" * 40)
    with pytest.raises(RequestValidationError, match="at most 40 characters"):
        loads("9" * 41)
    with pytest.raises(ValueError, match="Out of range float values"):
        dumps({"credit": float("nan")})
