"""PostgreSQL goes down mid-traffic: calls keep coming and none is lost or doubled."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from callcenter.calls.record import Outcome
from callcenter.kernel.migrate import upgrade_to_head
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.backend import Backend
from tests.support.db_fixtures import reset_postgres, run_in_thread
from tests.support.traffic import in_queue, talk

pytestmark = [pytest.mark.asterisk, pytest.mark.postgres]


def _cluster() -> list[str]:
    """The local cluster's pg_ctlcluster command prefix (these machines run one)."""
    tool = shutil.which("pg_ctlcluster")
    versions = sorted(Path("/etc/postgresql").glob("*/main")) if tool else []
    if not tool or not versions:
        pytest.fail(
            "this test restarts the local PostgreSQL cluster and needs pg_ctlcluster and "
            "/etc/postgresql/<version>/main; none found",
            pytrace=False,
        )
    return [tool, "--skip-systemctl-redirect", versions[-1].parent.name, "main"]


def _pg(action: str) -> None:
    subprocess.run([*_cluster(), action], check=True, timeout=60, capture_output=True)


def _ensure_running() -> None:
    status = subprocess.run([*_cluster(), "status"], timeout=30, capture_output=True)
    if status.returncode != 0:  # 3: not running
        _pg("start")


@pytest.fixture
def pg_url(postgres_database_url: str) -> Iterator[str]:
    reset_postgres(postgres_database_url)
    run_in_thread(upgrade_to_head(postgres_database_url))
    try:
        yield postgres_database_url
    finally:
        _ensure_running()  # whatever happened, leave PostgreSQL running for the next tests


async def test_given_postgres_restarts_mid_traffic_then_calls_are_written_once(
    asterisk: TestAsterisk, softphones: PhonePool, pg_url: str, tmp_path: Path
) -> None:
    backend = Backend(asterisk, pg_url, tmp_path)
    number = asterisk.config.asterisk.inbound_number
    await softphones("1001")
    first, second, third = [await softphones(u) for u in ("2001", "2002", "2003")]
    backend.start()
    try:
        await backend.wait_ready()
        async with in_queue(asterisk, "1001"):
            await talk(first, number, 1.5)
            await backend.wait_calls(1)
            await asyncio.to_thread(_pg, "stop")
            await talk(second, number, 1.5)  # finishes while the database is down
            for _ in range(100):
                ready = await asyncio.to_thread(backend.get_any, "/readyz")
                if ready["checks"]["database"]["ok"] is False:  # type: ignore[index]
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError(f"backend never noticed the outage: {ready}")
            assert ready["checks"]["database"]["backlog"] >= 1  # type: ignore[index]
            assert ready["checks"]["ami"]["ok"] is True  # type: ignore[index]
            await asyncio.to_thread(_pg, "start")
            await talk(third, number, 1.5)
            calls = await backend.wait_calls(3, within=60)
    finally:
        backend.stop()

    assert len(calls) == 3
    assert len({c.linkedid for c in calls}) == 3
    assert sorted(c.caller_number or "" for c in calls) == ["2001", "2002", "2003"]
    assert all(c.outcome is Outcome.ANSWERED and c.agent == "1001" for c in calls), calls
    log = backend.log.read_text()
    assert log.count("call log writes recovered") == 1


async def test_given_postgres_restarts_mid_callback_then_its_outcome_is_saved_once(
    asterisk: TestAsterisk, softphones: PhonePool, pg_url: str, tmp_path: Path
) -> None:
    """The dial is under way when the database goes; the outcome waits for it, no re-dial."""
    from tests.support.routed import _clear_queue_members, routed_config, start_routed

    app = await start_routed(routed_config(asterisk, pg_url, tmp_path))
    try:
        await app.api(
            "POST",
            "/api/agents",
            201,
            staff_no="1001",
            name="A",
            endpoint="1001",
            skills=["outbound"],
        )
        agent = await softphones("1001", wav_seconds=6.0)  # the agent ends the call
        await app.api("POST", "/api/agents/1001/login")
        customer = await softphones("2001")
        created = await app.api("POST", "/api/callbacks", 201, number="2001", purpose="press-1")
        await customer.wait_event("CALL_ESTABLISHED", 20)
        await asyncio.to_thread(_pg, "stop")
        try:
            await agent.wait_event("CALL_CLOSED", 20)  # hang-up handler: the DB is down
            await asyncio.sleep(2)
        finally:
            await asyncio.to_thread(_pg, "start")
        for _ in range(100):
            response = await app.client.get("/api/callbacks")
            if response.status == 200:
                (cb,) = (await response.json())["callbacks"]
                if cb["status"] == "done":
                    break
            await asyncio.sleep(0.3)
        assert (cb["id"], cb["status"], cb["attempts"], cb["last_outcome"]) == (
            created["id"],
            "done",
            1,
            "answered",
        )
        await asyncio.sleep(3)  # a re-dial would show up now
        established = [e for e in customer.events if e.get("type") == "CALL_ESTABLISHED"]
        assert len(established) == 1
    finally:
        await app.client.close()
        await _clear_queue_members(asterisk)
