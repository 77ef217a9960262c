"""`kill -9` the backend mid-traffic: every call still ends up in the log exactly once.

The backend runs as `callcenter serve` (a real process); Asterisk keeps taking
calls while it is dead and writes its own trail (CEL); on restart the backend
rebuilds what it missed from that trail.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from callcenter.calls.record import CallRecord, Outcome, Party
from tests.integration.calls.test_pipeline import in_queue
from tests.support.asterisk_fixtures import AUTH_HEADERS, TEST_API_TOKEN, PhonePool, TestAsterisk

pytestmark = pytest.mark.asterisk


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Backend:
    """`callcenter serve` as a child process that can be killed and started again."""

    def __init__(self, asterisk: TestAsterisk, db_url: str, workdir: Path) -> None:
        self.port = _free_port()
        self.log = workdir / "serve.log"
        self.env = {
            **os.environ,
            "CALLCENTER_STATE_DIR": str(workdir / "state"),
            "CALLCENTER_DB_URL": db_url,
            "CALLCENTER_AMI_PORT": str(asterisk.ami_port),
            "CALLCENTER_AMI_SECRET": asterisk.ami_secret,
            "CALLCENTER_ASTERISK_INSTANCE": str(asterisk.config.asterisk.instance_dir),
            "CALLCENTER_WEB_PORT": str(self.port),
            "CALLCENTER_API_TOKEN": TEST_API_TOKEN,
            # Not the port the test Asterisk's dialplan asks: these tests are about the
            # call log, so calls go through the dialplan's app_queue fallback (the
            # agents are queue members), which must keep working without the router.
            "CALLCENTER_AGI_PORT": str(_free_port()),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.born = time.time()

    def start(self) -> None:
        # The test Asterisk's trail also holds the calls of earlier tests: look back
        # only as far as this test's beginning.
        hours = (time.time() - self.born + 1) / 3600
        self.env["CALLCENTER_TRAIL_LOOKBACK_HOURS"] = f"{hours:.6f}"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "callcenter", "serve"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def get(self, path: str) -> dict[str, object]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers=AUTH_HEADERS
        )
        with urllib.request.urlopen(request, timeout=3) as r:
            body: dict[str, object] = json.loads(r.read())
            return body

    def get_any(self, path: str) -> dict[str, object]:
        """Like get(), but a 503 body (not ready) is an answer too."""
        try:
            return self.get(path)
        except urllib.error.HTTPError as exc:
            body: dict[str, object] = json.loads(exc.read())
            return body

    async def wait_ready(self, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                if (await asyncio.to_thread(self.get, "/readyz")).get("ready"):
                    return
            except OSError:
                pass
            await asyncio.sleep(0.2)
        raise AssertionError(f"backend not ready; log:\n{self.log.read_text()[-3000:]}")

    async def calls(self) -> list[CallRecord]:
        body = await asyncio.to_thread(self.get, "/api/calls?limit=500")
        calls = body["calls"]
        assert isinstance(calls, list)
        return [CallRecord.from_json(c) for c in calls]

    async def wait_calls(self, count: int, within: float = 30) -> list[CallRecord]:
        deadline = time.monotonic() + within
        calls: list[CallRecord] = []
        while time.monotonic() < deadline:
            calls = await self.calls()
            if len(calls) >= count:
                await asyncio.sleep(1.5)  # a duplicate would show up now
                return await self.calls()
            await asyncio.sleep(0.3)
        raise AssertionError(
            f"{len(calls)} calls, expected {count}; log:\n{self.log.read_text()[-3000:]}"
        )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def backend(asterisk: TestAsterisk, migrated_db_url: str, tmp_path: Path) -> Iterator[Backend]:
    proc = Backend(asterisk, migrated_db_url, tmp_path)
    try:
        yield proc
    finally:
        proc.stop()


async def test_given_backend_killed_mid_traffic_then_every_call_is_logged_once(
    asterisk: TestAsterisk, softphones: PhonePool, backend: Backend
) -> None:
    number = asterisk.config.asterisk.inbound_number
    await softphones("1001")
    await softphones("1002")
    ringing_agent = await softphones("1003", auto_answer=False)
    a, b, c, d = [await softphones(user) for user in ("2001", "2002", "2003", "2004")]
    backend.start()
    await backend.wait_ready()

    async with in_queue(asterisk, "1001"):
        # A: seen live from start to end.
        await a.dial(number)
        await a.wait_event("CALL_ESTABLISHED", 15)
        await asyncio.sleep(1.5)
        await a.hangup()
        (seen_live,) = await backend.wait_calls(1)
        # B talking to 1001, C ringing 1003 when the backend dies.
        await b.dial(number)
        await b.wait_event("CALL_ESTABLISHED", 15)
    async with in_queue(asterisk, "1003"):
        await c.dial(number)
        await ringing_agent.wait_event("CALL_INCOMING", 10)
        await asyncio.sleep(1)
        backend.kill()
        # While it is dead: B and C end, D comes and goes, E (A's phone again) starts.
        await asyncio.sleep(1)
        await b.hangup()
        await c.hangup()
    async with in_queue(asterisk, "1002"):
        await d.dial(number)
        await d.wait_event("CALL_ESTABLISHED", 15)
        await asyncio.sleep(1.5)
        await d.hangup()
    async with in_queue(asterisk, "1001"):
        await a.dial(number)
        await a.wait_event("CALL_ESTABLISHED", 15)
        backend.start()
        await backend.wait_ready()
        await asyncio.sleep(1)
        await a.hangup()
        calls = await backend.wait_calls(5)

    assert len(calls) == 5
    assert len({c.linkedid for c in calls}) == 5
    by_caller: dict[str, list[CallRecord]] = {}
    for call in sorted(calls, key=lambda r: r.arrived_at or 0):
        by_caller.setdefault(call.caller_number or "", []).append(call)
    first_a, last_a = by_caller["2001"]
    (call_b,) = by_caller["2002"]
    (call_c,) = by_caller["2003"]
    (call_d,) = by_caller["2004"]

    assert first_a == seen_live and not first_a.reconstructed
    assert (call_b.outcome, call_b.agent, call_b.hangup_first) == (
        Outcome.ANSWERED,
        "1001",
        Party.CALLER,
    )
    assert (call_c.outcome, call_c.agent) == (Outcome.ABANDONED, None)
    assert (call_d.outcome, call_d.agent, call_d.hangup_first) == (
        Outcome.ANSWERED,
        "1002",
        Party.CALLER,
    )
    assert (last_a.outcome, last_a.agent, last_a.hangup_first) == (
        Outcome.ANSWERED,
        "1001",
        Party.CALLER,
    )
    for rebuilt in (call_b, call_c, call_d, last_a):
        assert rebuilt.reconstructed, rebuilt
        assert rebuilt.arrived_at is not None and rebuilt.ended_at is not None
    for answered in (call_b, call_d, last_a):
        assert answered.answered_at is not None
        assert sorted(r.leg for r in answered.recordings) == [
            "agent",
            "agent-voice",
            "caller",
            "customer-voice",
        ]
    # E was picked up from its real start, not from when the backend came back.
    assert last_a.answer_seconds is not None and last_a.answer_seconds < 5
