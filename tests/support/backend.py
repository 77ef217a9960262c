"""`callcenter serve` as a real child process, for the tests that kill or outlive it."""

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
from pathlib import Path

from callcenter.calls.record import CallRecord
from tests.support.asterisk_fixtures import AUTH_HEADERS, TEST_API_TOKEN, TestAsterisk


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Backend:
    """`callcenter serve` as a child process that can be killed and started again."""

    def __init__(self, asterisk: TestAsterisk, db_url: str, workdir: Path) -> None:
        self.port = free_port()
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
            "CALLCENTER_AGI_PORT": str(free_port()),
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
