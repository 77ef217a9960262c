"""Issue 19: what the stack writes is private: Asterisk's config, logs, CEL trail and
recordings, the state directory and the SQLite database (files 0600, directories 0700)."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.support.asterisk_fixtures import PhonePool, TestAsterisk

pytestmark = pytest.mark.asterisk


def _open_to_others(root: Path, *, skip: Path | None = None) -> list[str]:
    """Every path under `root` (itself included) with a group or other permission bit."""
    loose = []
    for path in [root, *root.rglob("*")]:
        if skip is not None and path.is_relative_to(skip) and path != skip:
            continue
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & 0o077:
            loose.append(f"{path} {stat.S_IMODE(mode):04o}")
    return loose


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_after_a_call_every_state_file_is_private(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any, migrated_db_url: str
) -> None:
    app = await routed()
    await app.agent("1002", login=False)
    await softphones("1002")
    await app.api("POST", "/api/agents/1002/login")
    caller = await softphones("2002")
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await caller.wait_event("CALL_ESTABLISHED", 15)
    await app.wait_state("1002", "on_call", 5)
    await asyncio.sleep(1)
    await caller.hangup()
    (record,) = await app.calls(1)
    call_dir = next(asterisk.recordings_dir.glob(f"*/*/*/{record.linkedid}"))
    wavs = sorted(call_dir.glob("*.wav"))
    assert len(wavs) >= 2, wavs  # the caller's leg and the agent's

    instance = asterisk.instance
    # Config, logs, cel.jsonl, recordings, astdb. The prompts (sounds/) are no secret: the
    # agents' staff-number prompts are written by whatever process adds the agent (the
    # service runs with umask 077; this test process does not), inside a 0700 directory.
    assert _open_to_others(instance.root, skip=instance.sounds_host_dir) == []
    for path in (
        instance.config_dir / "manager.conf",
        instance.config_dir / "pjsip.conf",
        instance.config_dir / "extensions.conf",
        asterisk.config.trail_path,
        instance.messages_log,
        *wavs,
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in (instance.root, call_dir, call_dir.parent, asterisk.recordings_dir):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    assert stat.S_IMODE(asterisk.config.state_dir.stat().st_mode) == 0o700

    database = Path(str(make_url(migrated_db_url).database))
    journal = [database.with_name(database.name + s) for s in ("-wal", "-shm")]
    assert all(p.exists() for p in journal), os.listdir(database.parent)
    for path in (database, *journal):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_restart_tightens_an_instance_from_before_file_modes(asterisk: TestAsterisk) -> None:
    instance = asterisk.instance
    old_log = instance.log_dir / "old.log"
    old_log.write_text("written 0644 by an older release\n")
    old_log.chmod(0o644)
    instance.recordings_host_dir.chmod(0o755)
    old_call = instance.recordings_host_dir / "2020" / "01" / "01" / "1577836800.1"
    old_call.mkdir(parents=True, exist_ok=True)
    (old_call / "1577836800.1-caller.wav").write_bytes(b"RIFF")
    for path in (old_call / "1577836800.1-caller.wav", old_call, old_call.parent):
        path.chmod(0o644 if path.is_file() else 0o755)
    try:
        asterisk.restart()
        assert _open_to_others(instance.root) == []
    finally:
        old_log.unlink(missing_ok=True)
        shutil.rmtree(instance.recordings_host_dir / "2020", ignore_errors=True)
