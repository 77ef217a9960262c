"""The HTTP app as `callcenter serve` builds it, against the real test Asterisk."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from callcenter.app import create_app
from tests.support.ami_events import CALLER, agent_answers, arrival, hangups, run
from tests.support.asterisk_fixtures import AUTH_HEADERS, TestAsterisk
from tests.support.routed import app_config

AiohttpClient = object  # the pytest-aiohttp fixture's type is internal


async def _ready(client: TestClient, want: bool) -> dict[str, object]:
    for _ in range(100):
        response = await client.get("/readyz")
        body: dict[str, object] = await response.json()
        if body["ready"] is want:
            assert response.status == (200 if want else 503)
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"/readyz never became ready={want}: {body}")


@pytest.mark.asterisk
async def test_health_readiness_and_call_api(
    asterisk: TestAsterisk, migrated_db_url: str, tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    app = create_app(app_config(asterisk, migrated_db_url, tmp_path))
    client: TestClient = await aiohttp_client(app, headers=AUTH_HEADERS)  # type: ignore[operator]
    assert (await client.get("/healthz")).status == 200
    body = await _ready(client, True)
    # Calls of earlier tests may come back from Asterisk's trail and be written now:
    # the backlog drains to 0 rather than starting there.
    for _ in range(100):
        if body["checks"] == {
            "ami": {"ok": True, "state": "connected"},
            "database": {"ok": True, "backlog": 0},
        }:
            break
        await asyncio.sleep(0.1)
        body = await _ready(client, True)
    else:
        raise AssertionError(f"the write backlog never drained: {body}")

    (record,) = run([*arrival(), *agent_answers(4.0), *hangups(20.0, CALLER, "caller")])
    from callcenter.calls.keys import WRITER

    writer = app[WRITER]
    writer.submit(record)
    await writer.flush()
    listing = await (await client.get("/api/calls?limit=500")).json()
    assert [c["linkedid"] for c in listing["calls"] if c["linkedid"] == CALLER] == [CALLER]
    one = await client.get(f"/api/calls/{CALLER}")
    assert (await one.json())["agent"] == "1001"


async def test_bad_requests_get_clear_errors(
    migrated_db_url: str, tmp_path: Path, aiohttp_client: AiohttpClient, asterisk: TestAsterisk
) -> None:
    app = create_app(app_config(asterisk, migrated_db_url, tmp_path))
    client: TestClient = await aiohttp_client(app, headers=AUTH_HEADERS)  # type: ignore[operator]
    bad = await client.get("/api/calls?limit=lots")
    assert bad.status == 400
    assert (await bad.json())["error_id"] == "bad-parameter"
    too_many = await client.get("/api/calls?limit=100000")
    assert (await too_many.json())["details"] == {"got": 100000}
    missing = await client.get("/api/calls/1.2")
    assert missing.status == 404
    assert (await missing.json())["error_id"] == "call-not-found"
    nowhere = await client.get("/nope")
    assert (await nowhere.json())["error_id"] == "http-404"


async def test_not_ready_while_asterisk_is_unreachable(
    migrated_db_url: str, tmp_path: Path, aiohttp_client: AiohttpClient, asterisk: TestAsterisk
) -> None:
    app = create_app(app_config(asterisk, migrated_db_url, tmp_path, port=1))
    client: TestClient = await aiohttp_client(app, headers=AUTH_HEADERS)  # type: ignore[operator]
    body = await _ready(client, False)
    assert body["checks"]["ami"]["ok"] is False  # type: ignore[index]
    assert (await client.get("/healthz")).status == 200
