"""A newcomer's first `callcenter asterisk start`: per-install secrets, rendered and private."""

from __future__ import annotations

import shutil
import socket
import stat
from pathlib import Path

import pytest

from callcenter.config import DEV_AMI_SECRET, DEV_SIP_PASSWORD, read_secrets
from tests.support.asterisk_fixtures import SLOT, TestAsterisk
from tests.support.cli import cli_env, run_cli
from tests.support.raw_ami import RawAmi

pytestmark = pytest.mark.asterisk

# Beside the session's test instance (its ports + 40), never on the dev instance's.
AMI_PORT = 15078 + 100 * SLOT
SIP_PORT = 15100 + 100 * SLOT


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_first_start_makes_secrets_and_asterisk_accepts_only_them(
    asterisk: TestAsterisk, tmp_path: Path
) -> None:
    where = asterisk.config.asterisk
    env = cli_env(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'cc.db'}",
        CALLCENTER_ASTERISK_MODE=where.mode,
        CALLCENTER_ASTERISK_CHROOT=str(where.chroot_dir),  # the installed one: no rebuild
        CALLCENTER_ASTERISK_INSTANCE=str(tmp_path / "instance"),
        CALLCENTER_ASTERISK_INSTANCE_NAME=f"first-start{SLOT}",
        CALLCENTER_AMI_PORT=str(AMI_PORT),
        CALLCENTER_SIP_PORT=str(SIP_PORT),
        CALLCENTER_RTP_START=str(where.rtp_start),
        CALLCENTER_RTP_END=str(where.rtp_end),
    )
    for name in ("CALLCENTER_AMI_SECRET", "CALLCENTER_SIP_PASSWORD", "CALLCENTER_AGI_KEY"):
        env.pop(name, None)
    started = run_cli("asterisk", "start", env=env)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        state = tmp_path / "state"
        secrets = read_secrets(state / "secrets.env")
        assert (_mode(state), _mode(state / "secrets.env")) == (0o700, 0o600)
        etc = tmp_path / "instance" / "etc"
        manager, pjsip = (etc / "manager.conf").read_text(), (etc / "pjsip.conf").read_text()
        assert f"secret = {secrets['CALLCENTER_AMI_SECRET']}\n" in manager
        assert f"password = {secrets['CALLCENTER_SIP_PASSWORD']}\n" in pjsip
        assert f"?key={secrets['CALLCENTER_AGI_KEY']}," in (etc / "extensions.conf").read_text()
        for text in (manager, pjsip):
            assert DEV_AMI_SECRET not in text and DEV_SIP_PASSWORD not in text
        assert _mode(etc) == 0o700
        assert {p.name: _mode(p) for p in etc.iterdir()} == {p.name: 0o600 for p in etc.iterdir()}

        user = asterisk.ami_user
        async with RawAmi("127.0.0.1", AMI_PORT, user, secrets["CALLCENTER_AMI_SECRET"]) as ami:
            assert (await ami.action("Ping"))["Response"] == "Success"
        with socket.create_connection(("127.0.0.1", AMI_PORT), timeout=3) as raw:
            raw.recv(100)
            raw.sendall(
                f"Action: Login\r\nUsername: {user}\r\nSecret: {DEV_AMI_SECRET}\r\n\r\n".encode()
            )
            assert b"Authentication failed" in raw.recv(1000)

        # A second start (scripts/run again) keeps the secrets.
        assert run_cli("asterisk", "restart", env=env).returncode == 0
        assert read_secrets(state / "secrets.env") == secrets
    finally:
        stopped = run_cli("asterisk", "stop", env=env)
        shutil.rmtree((tmp_path / "instance").resolve(), ignore_errors=True)  # in the chroot
        assert stopped.returncode == 0, stopped.stderr


async def test_a_start_on_a_taken_port_says_so_in_one_line(
    asterisk: TestAsterisk, tmp_path: Path
) -> None:
    """Another program on the AMI port is a newcomer's likely first failure: one clear
    line and exit 1, not a traceback."""
    where = asterisk.config.asterisk
    env = cli_env(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'cc.db'}",
        CALLCENTER_ASTERISK_MODE=where.mode,
        CALLCENTER_ASTERISK_CHROOT=str(where.chroot_dir),
        CALLCENTER_ASTERISK_INSTANCE=str(tmp_path / "instance"),
        CALLCENTER_ASTERISK_INSTANCE_NAME=f"taken-port{SLOT}",
        CALLCENTER_AMI_PORT=str(AMI_PORT),
        CALLCENTER_SIP_PORT=str(SIP_PORT),
        CALLCENTER_RTP_START=str(where.rtp_start),
        CALLCENTER_RTP_END=str(where.rtp_end),
    )
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", AMI_PORT))
        squatter.listen()
        try:
            started = run_cli("asterisk", "start", env=env)
        finally:
            run_cli("asterisk", "stop", env=env)
            shutil.rmtree((tmp_path / "instance").resolve(), ignore_errors=True)
    assert started.returncode == 1, started.stdout + started.stderr
    assert "Traceback" not in started.stderr
    assert f"AMI port {AMI_PORT} is already taken" in started.stderr
