"""JSON from outside (API and webhook bodies, request files, queued events), read strictly and alike
on every way in, and JSON written out strictly.

Python's json module takes more than JSON: NaN and Infinity (which json.dumps writes back out, so a
forwarded body is no longer JSON), numbers of any length (a 400-digit integer overflows float(),
5,000 digits raise), nesting down to the interpreter's recursion limit (a RecursionError at a depth
that depends on the caller's stack) and escaped lone surrogates (text no AWS API can encode). Here
each is a RequestValidationError naming the field, as callers see every other mistake."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from .errors import RequestValidationError, field_name, invalid

MAX_DEPTH = 32  # a request or a webhook is two levels deep at most; 32 leaves room for any real body
MAX_NUMBER_CHARS = 40  # a double written out takes at most 24; a 40-digit integer still fits a float
UTF8_BOM = b"\xef\xbb\xbf"
BODY = "body"  # the field of a problem with the text as a whole
_TOO_LARGE = 10**MAX_NUMBER_CHARS  # `check` may be given a value that `read` did not make


class _Oversized:
    """What a number literal longer than MAX_NUMBER_CHARS reads as, until `check` names its field."""

    __slots__ = ()

    def __repr__(self) -> str:  # the same in every process: an envelope's id may be one
        return "<number too long>"


_OVERSIZED = _Oversized()


def _bounded(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    return lambda text: _OVERSIZED if len(text) > MAX_NUMBER_CHARS else convert(text)


# NaN and Infinity are read as floats and refused by `check`, which knows which field holds them.
_DECODER = json.JSONDecoder(parse_int=_bounded(int), parse_float=_bounded(float))


def read(raw: bytes | str, *, bom: bool = False) -> Any:
    """The JSON text `raw` (UTF-8; after a byte order mark when `bom`), its values not yet checked:
    only for a caller that checks the part it uses (an envelope's detail); `loads` otherwise."""
    if isinstance(raw, bytes):
        try:
            raw = (raw.removeprefix(UTF8_BOM) if bom else raw).decode("utf-8")
        except UnicodeDecodeError:
            raise invalid(BODY, "must be UTF-8 encoded JSON") from None
    try:
        return _DECODER.decode(raw)
    except RecursionError:
        raise invalid(BODY, f"must not nest deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise invalid(BODY, "must be valid JSON") from None


def loads(raw: bytes | str, *, bom: bool = False) -> Any:
    """`raw` as JSON, every value checked (RequestValidationError naming the field otherwise)."""
    value = read(raw, bom=bom)
    check(value)
    return value


def check(value: Any) -> None:
    """Refuse what JSON read by Python may hold and a strict reader would not: non-finite or
    oversized numbers, nesting deeper than MAX_DEPTH, strings that are not valid Unicode.

    The field is named as errors.describe names one: its keys joined by dots, list positions left
    out; "body" when the value as a whole is at fault."""
    pending: list[tuple[Any, tuple[str, ...], int]] = [(value, (), 1)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, dict | list) and depth > MAX_DEPTH:
            raise _refused(path, f"must not nest deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                if not _unicode(key):
                    raise _refused((*path, key), "must be a name in valid Unicode")
                pending.append((child, (*path, key), depth + 1))
        elif isinstance(item, list):
            pending.extend((child, path, depth + 1) for child in item)
        elif item is _OVERSIZED or (isinstance(item, int) and abs(item) >= _TOO_LARGE):
            raise _refused(path, f"must be a number of at most {MAX_NUMBER_CHARS} characters")
        elif isinstance(item, float) and not math.isfinite(item):
            raise _refused(path, "must be a finite number (NaN and Infinity are not JSON)")
        elif isinstance(item, str) and not _unicode(item):
            raise _refused(path, "must be valid Unicode (no lone surrogate)")


def dumps(value: Any, **options: Any) -> str:
    """JSON text that any reader takes: a NaN or Infinity is a ValueError, never written out."""
    return json.dumps(value, allow_nan=False, **options)


def _refused(path: tuple[str, ...], message: str) -> RequestValidationError:
    return invalid(field_name(path) if path else BODY, message)


def _unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
