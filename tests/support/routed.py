"""The whole app (router included) against the test Asterisk, driven over its HTTP API."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcenter.app import create_app
from callcenter.calls.keys import REPOSITORY, WRITER
from callcenter.calls.record import CallRecord
from callcenter.config import Config, DatabaseConfig, RouterConfig
from tests.support.asterisk_fixtures import AUTH_HEADERS, TestAsterisk


class RoutedApp:
    def __init__(self, client: TestClient, config: Config) -> None:
        self.client = client
        self.config = config
        self.app = client.server.app
        # Calls from earlier tests come back from Asterisk's trail: not ours.
        self.started_at = time.time()

    async def api(self, method: str, path: str, status: int = 200, **body: Any) -> Any:
        kwargs: dict[str, Any] = {"json": body} if body else {}
        response = await self.client.request(method, path, **kwargs)
        data = await response.json()
        assert response.status == status, (method, path, response.status, data)
        return data

    async def agent(self, staff_no: str, endpoint: str | None = None, login: bool = True) -> None:
        await self.api(
            "POST",
            "/api/agents",
            201,
            staff_no=staff_no,
            name=f"Agent {staff_no}",
            endpoint=endpoint or staff_no,
        )
        if login:
            await self.api("POST", f"/api/agents/{staff_no}/login")

    async def state(self, staff_no: str) -> dict[str, Any]:
        agents = (await self.api("GET", "/api/agents"))["agents"]
        return next(a for a in agents if a["staff_no"] == staff_no)

    async def wait_state(self, staff_no: str, state: str, within: float = 20.0) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            current = await self.state(staff_no)
            if current["state"] == state:
                return current
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"agent {staff_no} never reached {state}: {current}")
            await asyncio.sleep(0.1)

    async def calls(self, count: int, within: float = 40.0) -> list[CallRecord]:
        """Wait until `count` calls are in the database; return them oldest first."""
        repository = self.app[REPOSITORY]
        writer = self.app[WRITER]
        deadline = asyncio.get_running_loop().time() + within
        while True:
            await writer.flush()
            records = [
                r
                for r in await repository.list_calls(limit=500, offset=0)
                if (r.arrived_at or 0.0) >= self.started_at
            ]
            if len(records) >= count:
                return sorted(records, key=lambda r: r.arrived_at or 0.0)
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(records)} of {count} calls recorded: {records}")
            await asyncio.sleep(0.2)


def app_config(asterisk: TestAsterisk, db_url: str, tmp_path: Path, **ami: Any) -> Config:
    """The test Asterisk's config with the database at `db_url`, the spool in `tmp_path`."""
    return dataclasses.replace(
        asterisk.config,
        ami=dataclasses.replace(asterisk.config.ami, **ami),
        database=DatabaseConfig(url=db_url, spool_path=tmp_path / "spool.jsonl"),
    )


def routed_config(
    asterisk: TestAsterisk,
    db_url: str,
    tmp_path: Path,
    callbacks: dict[str, Any] | None = None,
    trail_since: float | None = None,
    **router: Any,
) -> Config:
    """The test Asterisk's config for a whole app. The session's Asterisk keeps every
    earlier test's calls in its CEL trail: the app rebuilds only calls since
    `trail_since` (this test's own, from before a restart, say), or none."""
    base = asterisk.config
    since = time.time() if trail_since is None else trail_since
    return dataclasses.replace(
        app_config(asterisk, db_url, tmp_path),
        router=dataclasses.replace(base.router, **router) if router else base.router,
        callbacks=dataclasses.replace(base.callbacks, **(callbacks or {})),
        tracker=dataclasses.replace(base.tracker, trail_lookback=max(0.1, time.time() - since)),
    )


async def wait_connected(client: TestClient) -> None:
    """Wait until the app is ready: it logged in to the test Asterisk."""
    for _ in range(100):
        if (await client.get("/readyz")).status == 200:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the app never connected to the test Asterisk")


async def start_routed(config: Config) -> RoutedApp:
    started_at = time.time()
    client = TestClient(TestServer(create_app(config)), headers=AUTH_HEADERS)
    await client.start_server()
    try:
        await wait_connected(client)
    except AssertionError:
        await client.close()
        raise
    app = RoutedApp(client, config)
    app.started_at = started_at
    return app


RoutedFactory = Callable[..., "asyncio.Future[RoutedApp]"]


@pytest.fixture
async def routed(
    asterisk: TestAsterisk, migrated_db_url: str, tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    """`await routed(**router_settings)` starts the app; all are closed at the end."""
    started: list[RoutedApp] = []
    born = time.time()  # see routed_config: the trail is rebuilt from here on

    async def start(
        callbacks: dict[str, Any] | None = None,
        overrides: dict[str, Any] | None = None,  # other Config fields, e.g. asr_model_path
        **router: Any,
    ) -> RoutedApp:
        unknown = set(router) - {f.name for f in dataclasses.fields(RouterConfig)}
        assert not unknown, unknown
        config = routed_config(
            asterisk, migrated_db_url, tmp_path, callbacks, trail_since=born, **router
        )
        if overrides:
            config = dataclasses.replace(config, **overrides)
        app = await start_routed(config)
        started.append(app)
        return app

    try:
        yield start
    finally:
        for app in started:
            await app.client.close()
        await _clear_queue_members(asterisk)


async def _clear_queue_members(asterisk: TestAsterisk) -> None:
    """The router mirrors its agents into app_queue (the dialplan's fallback), and
    members persist in Asterisk: later tests that use the fallback must not find them."""
    async with asterisk.ami() as ami:
        for event in await ami.list_action("QueueStatus"):
            if event.get("Event") == "QueueMember" and event.get("Queue"):
                await ami.action(
                    "QueueRemove",
                    Queue=event.get("Queue", ""),
                    Interface=event.get("StateInterface") or event.get("Location") or "",
                )
