"""Reading requests: every body, id, number and time a client sends, refused with a 400 and
an `error_id` when it is not what the handler can use.

Python parses more than we can store or compute with: `int("9" * 30)` does not fit the
database's BIGINT, `float("nan")` and `1e400` are not times, `json.loads` recurses on
`[[[[...]]]]` until RecursionError, and an unknown charset is a LookupError. The helpers
here bound all of that before a handler sees it, so a hostile input is a client error,
not a 500.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from datetime import datetime
from typing import Any, Final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDictProxy

from callcenter.kernel.web.errors import ApiError

# The database's BIGINT: every id and count we store fits it.
MAX_ID: Final = 2**63 - 1
MIN_INT: Final = -(2**63)
# Epoch seconds we accept as a time: 1970-01-01 to 2100-01-01 (UTC).
MIN_EPOCH: Final = 0.0
MAX_EPOCH: Final = 4_102_444_800.0
# JSON nesting deeper than this is no body any handler reads (theirs are 2 or 3 deep).
MAX_JSON_DEPTH: Final = 32
MAX_LIMIT = 500

_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")  # ASCII only: int() also takes "١٢" and "1_0"
_NUMBER = re.compile(r"[+-]?(?:[0-9]{1,20}(?:\.[0-9]{0,9})?|\.[0-9]{1,9})(?:[eE][+-]?[0-9]{1,3})?")


class _OutOfRange(ValueError):
    """A JSON number that no handler could store (not finite, or beyond 64 bits)."""


def _json_int(text: str) -> int:
    value = int(text)
    if not MIN_INT <= value <= MAX_ID:
        raise _OutOfRange(f"integer {text[:30]} is beyond 64 bits")
    return value


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _OutOfRange(f"number {text[:30]} is not finite")
    return value


def _json_constant(text: str) -> float:
    raise _OutOfRange(f"{text} is not a JSON number")


def _depth_and_text(value: object) -> int:
    """How deeply lists and objects nest (iterative: a deep value must not recurse here);
    a NUL in any string, key or value, is a 400 `bad-text` (no text we store may hold one)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ApiError(400, "bad-text", "the request body holds a NUL character")
            continue
        if isinstance(item, dict):
            stack.extend((key, level + 1) for key in item)
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def _charset(request: web.Request) -> str:
    name = request.charset or "utf-8"
    try:
        codecs.lookup(name)
    except LookupError:
        raise ApiError(400, "bad-charset", f"unknown charset {name[:40]!r}", charset=name) from None
    return name


def parse_json(raw: bytes, charset: str = "utf-8") -> object:
    """A JSON document from a body, with numbers bounded and nesting limited (400s)."""
    try:
        text = raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise ApiError(400, "bad-json", f"the request body is not valid {charset}") from None
    try:
        value = json.loads(
            text,
            parse_int=_json_int,
            parse_float=_json_float,
            parse_constant=_json_constant,
        )
    except _OutOfRange as exc:
        raise ApiError(400, "bad-number", f"the request body holds a bad number: {exc}") from None
    except RecursionError:
        raise ApiError(
            400, "json-too-deep", f"JSON may nest at most {MAX_JSON_DEPTH} levels"
        ) from None
    except ValueError:
        raise ApiError(400, "bad-json", "the request body must be a JSON object") from None
    if _depth_and_text(value) > MAX_JSON_DEPTH:
        raise ApiError(400, "json-too-deep", f"JSON may nest at most {MAX_JSON_DEPTH} levels")
    return value


async def json_object(request: web.Request, *, empty_ok: bool = False) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 (`bad-json`, `bad-charset`, ...) that says
    what is wrong with it."""
    if empty_ok and not request.can_read_body:
        return {}
    charset = _charset(request)
    body = parse_json(await request.read(), charset)
    if not isinstance(body, dict):
        raise ApiError(400, "bad-json", "the request body must be a JSON object")
    return body


async def form_data(
    request: web.Request,
) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """The form fields of an urlencoded or multipart body (cached by aiohttp), or a 400
    `bad-form` for a body that does not parse (a broken multipart boundary, say)."""
    _charset(request)
    try:
        form = await request.post()
    except web.HTTPException:
        raise  # 413: too large, with its own status
    except (
        ValueError,
        LookupError,
        AssertionError,
        RuntimeError,
        TypeError,
        HttpProcessingError,
    ) as exc:
        # aiohttp's multipart reader says "malformed" with any of these.
        raise ApiError(400, "bad-form", f"the form body does not parse: {exc}"[:200]) from None
    if any(isinstance(v, str) and "\x00" in v for v in form.values()):
        raise ApiError(400, "bad-text", "a form field holds a NUL character")
    return form


# -- numbers and ids ------------------------------------------------------------------------


def parse_int(raw: str, name: str, low: int = MIN_INT, high: int = MAX_ID) -> int:
    """A decimal integer within [low, high] (both within 64 bits), or a 400 `bad-parameter`."""
    low, high = max(low, MIN_INT), min(high, MAX_ID)
    text = raw.strip()
    if not _INTEGER.fullmatch(text):
        raise ApiError(400, "bad-parameter", f"{name} must be an integer", got=raw[:40])
    value = int(text)
    if not low <= value <= high:
        # The number as read where it is one a client can hold; else the text, cut.
        got: int | str = value if MIN_INT <= value <= MAX_ID else raw[:40]
        raise ApiError(400, "bad-parameter", f"{name} must be between {low} and {high}", got=got)
    return value


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high], `default` when absent."""
    raw = request.query.get(name)
    if raw is None:
        return default
    return parse_int(raw, name, low, high)


def id_param(request: web.Request, name: str) -> int:
    """A row id from the path (`/api/things/{thing_id}`): 1 to the BIGINT maximum."""
    return parse_int(request.match_info[name], name, 1, MAX_ID)


def parse_float(raw: str, name: str, low: float, high: float) -> float:
    """A finite decimal number within [low, high] (no `nan`, `inf` or `1e400`)."""
    text = raw.strip()
    if not _NUMBER.fullmatch(text):
        raise ApiError(400, "bad-parameter", f"{name} must be a number", got=raw[:40])
    value = float(text)
    if not (math.isfinite(value) and low <= value <= high):
        shown: float | str = value if math.isfinite(value) else raw[:40]
        raise ApiError(
            400, "bad-parameter", f"{name} must be between {low:g} and {high:g}", got=shown
        )
    return value


def float_param(
    request: web.Request, name: str, default: float | None, low: float, high: float
) -> float | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    return parse_float(raw, name, low, high)


# -- times ------------------------------------------------------------------------------------


def timestamp_value(raw: object, name: str, *, error_id: str = "bad-field") -> float:
    """An epoch number (JSON number or decimal text) or an ISO 8601 time with its offset,
    between 1970 and 2100: a 400 `bad-field` for anything else (1e30, nan, a naive time)."""
    value: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw) if abs(raw) < 1e300 else math.inf
    elif isinstance(raw, str) and raw.strip():
        text = raw.strip()
        if _NUMBER.fullmatch(text):
            value = float(text)
        else:
            value = _iso_time(text)
    if value is None or not math.isfinite(value) or not MIN_EPOCH <= value <= MAX_EPOCH:
        raise ApiError(
            400,
            error_id,
            f"{name} must be an epoch or an ISO time with its offset, between 1970 and 2100",
            field=name,
            got=str(raw)[:40],
        )
    return value


def _iso_time(text: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    try:
        return parsed.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def optional_timestamp(raw: object, name: str) -> float | None:
    """`timestamp_value`, with None or "" meaning "not given"."""
    if raw is None or raw == "":
        return None
    return timestamp_value(raw, name)


def timestamp_param(request: web.Request, name: str) -> float | None:
    """A time query parameter (`since=1733240000` or `since=2026-12-03T10:00:00+08:00`)."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    return timestamp_value(raw, name, error_id="bad-parameter")
