"""`callcenter serve` beyond loopback: a loud warning, and /readyz and /metrics only for
loopback clients or the service token. Requests come from the machine's own non-loopback
address, as a client on the network would."""

from __future__ import annotations

import json
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from callcenter.config import read_secrets
from tests.support.asterisk_fixtures import TestAsterisk
from tests.support.backend import free_port
from tests.support.cli import cli_env, run_cli

pytestmark = pytest.mark.asterisk


def _outside_address() -> str:
    """This machine's address on its network (the one a remote client would use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.254", 9))  # no packet is sent: it only picks the route
        address: str = probe.getsockname()[0]
    assert not address.startswith("127."), address
    return address


def _get(url: str, token: str | None = None) -> tuple[int, dict[str, object] | str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=3) as r:
            status, raw = r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read().decode()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def test_a_web_host_beyond_loopback_warns_and_guards_readyz_and_metrics(
    asterisk: TestAsterisk, tmp_path: Path
) -> None:
    port = free_port()
    env = cli_env(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        CALLCENTER_AMI_PORT=str(asterisk.ami_port),
        CALLCENTER_AMI_SECRET=asterisk.ami_secret,
        CALLCENTER_WEB_HOST="0.0.0.0",
        CALLCENTER_WEB_PORT=str(port),
        CALLCENTER_AGI_PORT=str(free_port()),
    )
    for name in ("CALLCENTER_API_TOKEN", "CALLCENTER_SIP_PASSWORD", "CALLCENTER_AGI_KEY"):
        env.pop(name, None)  # the per-install file provides them
    proc = subprocess.Popen(
        [sys.executable, "-m", "callcenter", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    outside, local = f"http://{_outside_address()}:{port}", f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if _get(f"{local}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        secrets_file = tmp_path / "state" / "secrets.env"
        assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
        token = read_secrets(secrets_file)["CALLCENTER_API_TOKEN"]
        answers = {
            (where, path, with_token): _get(f"{base}{path}", token if with_token else None)[0]
            for where, base in (("outside", outside), ("local", local))
            for path in ("/readyz", "/metrics", "/healthz")
            for with_token in (False, True)
        }
        refused = _get(f"{outside}/metrics")[1]
        wrong_token = _get(f"{outside}/metrics", "not-the-token-0123456789")[0]
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert answers == {
        ("outside", "/readyz", False): 403,
        ("outside", "/readyz", True): 200,
        ("outside", "/metrics", False): 403,
        ("outside", "/metrics", True): 200,
        ("outside", "/healthz", False): 200,
        ("outside", "/healthz", True): 200,
        ("local", "/readyz", False): 200,
        ("local", "/readyz", True): 200,
        ("local", "/metrics", False): 200,
        ("local", "/metrics", True): 200,
        ("local", "/healthz", False): 200,
        ("local", "/healthz", True): 200,
    }
    assert isinstance(refused, dict) and refused["error_id"] == "loopback-or-token-only"
    assert wrong_token == 401
    assert "SECURITY: CALLCENTER_WEB_HOST=0.0.0.0 serves plain HTTP" in stderr
    assert "CALLCENTER_TLS_PROXY=1" in stderr
    assert token not in stderr
    assert proc.returncode == 0, stderr


def test_serve_refuses_the_development_secrets_with_exit_2(tmp_path: Path) -> None:
    env = cli_env(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        CALLCENTER_AMI_SECRET="callcenter-dev-secret",
    )
    env.pop("CALLCENTER_SIP_PASSWORD", None)
    env.pop("CALLCENTER_AGI_KEY", None)
    result = run_cli("serve", env=env)
    assert result.returncode == 2, result.stderr
    assert "configuration error: callcenter serve refuses" in result.stderr
    # Only the one the environment forces: the rest came from the new per-install file.
    assert "CALLCENTER_AMI_SECRET" in result.stderr
    assert "CALLCENTER_SIP_PASSWORD" not in result.stderr
    assert "CALLCENTER_AGI_KEY" not in result.stderr
    assert not (tmp_path / "serve.db").exists()  # refused before touching the database
    state = tmp_path / "state"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "secrets.env").stat().st_mode) == 0o600
