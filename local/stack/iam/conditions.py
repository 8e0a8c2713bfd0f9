"""IAM condition operators, as the IAM policy reference defines them: the String, Arn, Bool, Null,
Numeric and Date families, their `...IfExists` forms, and the `ForAllValues:` / `ForAnyValue:` set
operators for multi-valued keys.

A condition block holds when every operator in it holds, an operator when every key in it holds,
and a key when its context value matches any of the policy's values. A key absent from the request
makes a positive operator false and a negated one (StringNotEquals, ArnNotLike, ...) true; `IfExists`
makes any operator true on an absent key; `ForAllValues` is true on an absent or empty key and
`ForAnyValue` false (IAM User Guide, "Condition operators" and "Multivalued context keys")."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

# What a request offers a condition: each key's value(s), strings (multi-valued keys as lists).
Context = Mapping[str, "str | Sequence[str]"]
Compare = Callable[[str, str], bool]


class UnsupportedCondition(ValueError):
    """A policy uses an operator the local evaluator does not know: refused rather than guessed."""


@lru_cache(maxsize=4096)
def wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM's `*` (any run of characters) and `?` (any one character) as a regular expression."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(value: str, pattern: str) -> bool:
    return wildcard(pattern).fullmatch(value) is not None


def _arn_like(value: str, pattern: str) -> bool:
    """ARNs match part by part (partition, service, region, account, resource), each with wildcards."""
    parts, wanted = value.split(":", 5), pattern.split(":", 5)
    if len(parts) != 6 or len(wanted) != 6 or parts[0] != "arn" or wanted[0] != "arn":
        return False
    return all(_like(p, w) for p, w in zip(parts[1:], wanted[1:], strict=True))


def _number(value: str) -> float:
    return float(value)


def _date(value: str) -> datetime:
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return datetime.fromtimestamp(float(value), UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _bool(value: str, wanted: str) -> bool:
    return value.lower() == str(wanted).lower()


def _numeric(test: Callable[[float, float], bool]) -> Compare:
    return lambda value, wanted: test(_number(value), _number(wanted))


def _dated(test: Callable[[datetime, datetime], bool]) -> Compare:
    return lambda value, wanted: test(_date(value), _date(wanted))


# operator -> (how a context value compares with one policy value, whether the operator is negated)
OPERATORS: dict[str, tuple[Compare, bool]] = {
    "StringEquals": (lambda v, w: v == w, False),
    "StringNotEquals": (lambda v, w: v == w, True),
    "StringEqualsIgnoreCase": (lambda v, w: v.lower() == w.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda v, w: v.lower() == w.lower(), True),
    "StringLike": (_like, False),
    "StringNotLike": (_like, True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
    "Bool": (_bool, False),
    "NumericEquals": (_numeric(lambda a, b: a == b), False),
    "NumericNotEquals": (_numeric(lambda a, b: a == b), True),
    "NumericLessThan": (_numeric(lambda a, b: a < b), False),
    "NumericLessThanEquals": (_numeric(lambda a, b: a <= b), False),
    "NumericGreaterThan": (_numeric(lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (_numeric(lambda a, b: a >= b), False),
    "DateEquals": (_dated(lambda a, b: a == b), False),
    "DateNotEquals": (_dated(lambda a, b: a == b), True),
    "DateLessThan": (_dated(lambda a, b: a < b), False),
    "DateLessThanEquals": (_dated(lambda a, b: a <= b), False),
    "DateGreaterThan": (_dated(lambda a, b: a > b), False),
    "DateGreaterThanEquals": (_dated(lambda a, b: a >= b), False),
}


def _values(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    return [str(item).lower() if isinstance(item, bool) else str(item) for item in items]


def _present(context: Context, key: str) -> list[str] | None:
    """The key's values in the request (None when absent). Keys are case-insensitive in IAM."""
    value = context.get(key)
    if value is None:
        lowered = key.lower()
        value = next((v for k, v in context.items() if k.lower() == lowered), None)
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def holds(block: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    """Whether a statement's whole Condition block holds for this request."""
    return all(_operator_holds(op, keys, context) for op, keys in block.items())


def _operator_holds(name: str, keys: Mapping[str, Any], context: Context) -> bool:
    qualifier, _, operator = name.rpartition(":")
    if qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise UnsupportedCondition(f"unknown set operator {qualifier!r} in {name!r}")
    if_exists = operator.endswith("IfExists") and operator != "IfExists"
    operator = operator.removesuffix("IfExists") if if_exists else operator
    for key, wanted in keys.items():
        present = _present(context, key)
        if operator == "Null":
            # "true": the key must be absent (or, for a set, empty); "false": present
            absent = present is None or present == []
            if _bool("true" if absent else "false", _values(wanted)[0]) is False:
                return False
            continue
        if operator not in OPERATORS:
            raise UnsupportedCondition(f"condition operator {name!r} is not supported locally")
        compare, negated = OPERATORS[operator]
        if not _key_holds(compare, negated, qualifier, if_exists, present, _values(wanted)):
            return False
    return True


def _key_holds(
    compare: Compare,
    negated: bool,
    qualifier: str,
    if_exists: bool,
    present: list[str] | None,
    wanted: list[str],
) -> bool:
    if present is None or (qualifier and not present):
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return if_exists or negated

    def one(value: str) -> bool:
        matched = any(compare(value, w) for w in wanted)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(one(v) for v in present)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in present)
    # a single-valued key (a list here would be a multi-valued key used without a set operator)
    return one(present[0]) if len(present) == 1 else any(one(v) for v in present)
