"""Request reading: hostile bodies, ids, numbers and times are 400s with an error_id.

Each case here was a 500 once (issue 19): RecursionError, LookupError, OverflowError, a
malformed multipart body, `nan` taken for a time.
"""

from __future__ import annotations

import math

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from callcenter.kernel.web.errors import ApiError, middlewares
from callcenter.kernel.web.request import (
    MAX_ID,
    MAX_JSON_DEPTH,
    form_data,
    id_param,
    int_param,
    json_object,
    parse_float,
    parse_int,
    parse_json,
    timestamp_param,
    timestamp_value,
)

Client = TestClient[web.Request, web.Application]


def _refused(call: object, *args: object, **kwargs: object) -> tuple[int, str]:
    assert callable(call)
    with pytest.raises(ApiError) as caught:
        call(*args, **kwargs)
    return caught.value.status, caught.value.error_id


@pytest.mark.parametrize("raw", ["1", "42", str(MAX_ID), " 7 "])
def test_an_id_within_bigint_is_read(raw: str) -> None:
    assert parse_int(raw, "id", 1, MAX_ID) == int(raw)


@pytest.mark.parametrize(
    "raw", [str(MAX_ID + 1), "9" * 30, "9" * 5000, "0", "-1", "1_000", "١٢", "1e3", "", "abc"]
)
def test_an_id_beyond_bigint_or_not_a_decimal_is_a_bad_parameter(raw: str) -> None:
    assert _refused(parse_int, raw, "id", 1, MAX_ID) == (400, "bad-parameter")


def test_the_bounds_are_clamped_to_64_bits() -> None:
    assert _refused(parse_int, str(2**64), "n", 0, 10**30) == (400, "bad-parameter")
    assert parse_int(str(-(2**63)), "n", -(10**30), 0) == -(2**63)


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf", "1e400", "infinity", "0x10", ""])
def test_a_float_must_be_a_finite_decimal(raw: str) -> None:
    assert _refused(parse_float, raw, "since", 0.0, 1e10) == (400, "bad-parameter")


def test_a_float_in_range_is_read() -> None:
    assert parse_float("1733240000.5", "since", 0.0, 1e10) == 1733240000.5
    assert parse_float("2e3", "x", 0.0, 1e10) == 2000.0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1733240000, 1733240000.0),
        (1733240000.25, 1733240000.25),
        ("1733240000", 1733240000.0),
        ("2024-12-03T15:33:20+00:00", 1733240000.0),
        ("2024-12-03T23:33:20+08:00", 1733240000.0),
    ],
)
def test_a_time_is_an_epoch_or_an_iso_time_with_its_offset(raw: object, expected: float) -> None:
    assert timestamp_value(raw, "due_at") == expected


@pytest.mark.parametrize(
    "raw",
    [1e30, -1.0, math.nan, math.inf, 10**400, "nan", "1e30", "2024-12-03T15:33:20", True, None, []],
)
def test_an_absurd_time_is_a_bad_field(raw: object) -> None:
    assert _refused(timestamp_value, raw, "due_at") == (400, "bad-field")


@pytest.mark.parametrize(
    ("body", "error_id"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "json-too-deep"),
        (b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1), "json-too-deep"),
        (b'{"a": 1e400}', "bad-number"),
        (b'{"a": NaN}', "bad-number"),
        (b'{"a": -Infinity}', "bad-number"),
        (b'{"a": 9223372036854775808}', "bad-number"),
        (b'{"a": "x\\u0000y"}', "bad-text"),
        (b'{"a\\u0000": 1}', "bad-text"),
        (b"\xff\xfe", "bad-json"),
        (b"", "bad-json"),
        (b"{", "bad-json"),
    ],
)
def test_a_hostile_json_body_is_a_400_that_says_why(body: bytes, error_id: str) -> None:
    assert _refused(parse_json, body) == (400, error_id)


def test_a_plain_json_body_is_read_with_its_numbers() -> None:
    body = b'{"a": [1, 2.5, {"b": null}], "n": 9223372036854775807, "s": "\\u4e8c"}'
    assert parse_json(body) == {"a": [1, 2.5, {"b": None}], "n": MAX_ID, "s": "二"}


async def _echo(request: web.Request) -> web.Response:
    if request.path == "/form":
        return web.json_response({k: str(v) for k, v in (await form_data(request)).items()})
    if request.path == "/json":
        return web.json_response(await json_object(request))
    return web.json_response(
        {
            "id": id_param(request, "thing_id"),
            "limit": int_param(request, "limit", 10, 1, 100),
            "since": timestamp_param(request, "since"),
        }
    )


@pytest.fixture
async def client(aiohttp_client: AiohttpClient) -> Client:
    app = web.Application(middlewares=middlewares())
    app.router.add_post("/form", _echo)
    app.router.add_post("/json", _echo)
    app.router.add_get("/things/{thing_id}", _echo)
    return await aiohttp_client(app)


BROKEN = b"--x\r\nbroken header\r\n\r\nv\r\n--x--\r\n"


@pytest.mark.parametrize(
    ("data", "content_type", "error_id"),
    [
        (BROKEN, "multipart/form-data; boundary=x", "bad-form"),
        (b"garbage", "multipart/form-data; boundary=x", "bad-form"),
        (b"garbage", "multipart/form-data", "bad-form"),
        (b"a=1", "application/x-www-form-urlencoded; charset=bogus", "bad-charset"),
        (b"a=%00", "application/x-www-form-urlencoded", "bad-text"),
    ],
)
async def test_a_form_that_does_not_parse_is_a_bad_form(
    client: Client, data: bytes, content_type: str, error_id: str
) -> None:
    response = await client.post("/form", data=data, headers={"Content-Type": content_type})
    assert response.status == 400
    assert (await response.json())["error_id"] == error_id


async def test_a_good_form_and_a_good_json_body_are_read(client: Client) -> None:
    form = await client.post("/form", data={"username": "ana"})
    assert await form.json() == {"username": "ana"}
    body = await client.post("/json", json={"a": 1})
    assert await body.json() == {"a": 1}


async def test_an_unknown_json_charset_is_a_bad_charset(client: Client) -> None:
    response = await client.post(
        "/json", data=b"{}", headers={"Content-Type": "application/json; charset=bogus"}
    )
    assert response.status == 400
    assert await response.json() == {
        "error_id": "bad-charset",
        "message": "unknown charset 'bogus'",
        "details": {"charset": "bogus"},
    }


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/things/5", (200, None)),
        (f"/things/{2**63}", (400, "bad-parameter")),
        ("/things/5?limit=0", (400, "bad-parameter")),
        (f"/things/5?limit={10**25}", (400, "bad-parameter")),
        ("/things/5?since=nan", (400, "bad-parameter")),
        ("/things/5?since=1e30", (400, "bad-parameter")),
        ("/things/5?since=2024-12-03T15:33:20%2B00:00", (200, None)),
    ],
)
async def test_path_ids_and_query_numbers_are_bounded(
    client: Client, path: str, expected: tuple[int, str | None]
) -> None:
    response = await client.get(path)
    body = await response.json()
    assert (response.status, body.get("error_id")) == expected, body
