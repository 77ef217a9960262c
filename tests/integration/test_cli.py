"""The `callcenter` console command, as an administrator runs it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from callcenter.calls.store import CallRepository
from callcenter.kernel.db import create_engine, create_session_factory
from tests.support.asterisk_fixtures import TestAsterisk
from tests.support.paths import AMI_FIXTURES

FIXTURES = AMI_FIXTURES


def _env(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "CALLCENTER_STATE_DIR": str(tmp_path / "state"),
        "CALLCENTER_DB_URL": db_url,
        **extra,
    }


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callcenter", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_migrate_then_replay_into_the_database(db_url: str, tmp_path: Path) -> None:
    env = _env(tmp_path, db_url)
    migrated = _cli("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "at revision" in migrated.stdout
    replayed = _cli(
        "ami", "replay", "--db", db_url, str(FIXTURES / "two_calls_two_agents.ami"), env=env
    )
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == ""
    assert "wrote 2 call records" in replayed.stderr

    async def count() -> int:
        engine = create_engine(db_url)
        try:
            return await CallRepository(create_session_factory(engine)).count()
        finally:
            await engine.dispose()

    assert asyncio.run(count()) == 2
    # Re-importing the same transcript (after an outage, say) duplicates nothing.
    assert (
        _cli(
            "ami", "replay", "--db", db_url, str(FIXTURES / "two_calls_two_agents.ami"), env=env
        ).returncode
        == 0
    )
    assert asyncio.run(count()) == 2


def test_a_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    env = _env(tmp_path, "sqlite+aiosqlite:///x.db", CALLCENTER_AMI_PORT="five")
    result = _cli("migrate", env=env)
    assert result.returncode == 2
    assert "CALLCENTER_AMI_PORT must be an integer" in result.stderr


@pytest.mark.asterisk
def test_serve_becomes_ready_and_stops_cleanly_on_sigterm(
    asterisk: TestAsterisk, tmp_path: Path
) -> None:
    port = _free_port()
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}"
    env = _env(
        tmp_path,
        db_url,
        CALLCENTER_AMI_PORT=str(asterisk.ami_port),
        CALLCENTER_AMI_SECRET=asterisk.ami_secret,
        CALLCENTER_WEB_PORT=str(port),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "callcenter", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body: dict[str, object] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    body = json.loads(r.read())
                    if body.get("ready"):
                        break
            except OSError:
                pass
            time.sleep(0.2)
        assert body.get("ready") is True, body
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "AMI connected" in stderr
    assert "AMI connection closed" in stderr
    assert "Traceback" not in stderr
