"""The `callcenter` console command, as an administrator runs it."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from callcenter.calls.store import CallRepository
from callcenter.kernel.db import create_engine, create_session_factory
from tests.support.asterisk_fixtures import TestAsterisk
from tests.support.backend import free_port
from tests.support.cli import cli_env, run_cli
from tests.support.paths import AMI_FIXTURES


def test_migrate_then_replay_into_the_database(db_url: str, tmp_path: Path) -> None:
    env = cli_env(tmp_path, db_url)
    migrated = run_cli("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "at revision" in migrated.stdout
    replayed = run_cli(
        "ami", "replay", "--db", db_url, str(AMI_FIXTURES / "two_calls_two_agents.ami"), env=env
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
        run_cli(
            "ami", "replay", "--db", db_url, str(AMI_FIXTURES / "two_calls_two_agents.ami"), env=env
        ).returncode
        == 0
    )
    assert asyncio.run(count()) == 2


def test_a_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    env = cli_env(tmp_path, "sqlite+aiosqlite:///x.db", CALLCENTER_AMI_PORT="five")
    result = run_cli("migrate", env=env)
    assert result.returncode == 2
    assert "CALLCENTER_AMI_PORT must be an integer" in result.stderr


@pytest.mark.asterisk
def test_serve_becomes_ready_and_stops_cleanly_on_sigterm(
    asterisk: TestAsterisk, tmp_path: Path
) -> None:
    port = free_port()
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}"
    env = cli_env(
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
