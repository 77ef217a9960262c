"""The `callcenter` console command as a child process, the way an administrator runs it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path


def cli_env(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    """This process's environment, with the state directory under `tmp_path` and `db_url`."""
    return {
        **os.environ,
        "CALLCENTER_STATE_DIR": str(tmp_path / "state"),
        "CALLCENTER_DB_URL": db_url,
        **extra,
    }


def run_cli(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callcenter", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


async def run_cli_async(
    *args: str, env: dict[str, str], timeout: float = 120, cwd: Path | None = None
) -> tuple[int, str, str]:
    """`run_cli` without blocking the test's loop: (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "callcenter",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
