"""Pytest fixtures: a real Asterisk test instance and real softphones registered to it.

The test instance shares the installed chroot with the dev instance but has
its own name, ports (AMI 15038, SIP 15060, RTP 12000-12999) and directory.
If Asterisk cannot be installed or started the tests FAIL: an integration
suite that silently skips is worse than none.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import shutil
import signal
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from callcenter import config as config_mod
from callcenter.asterisk import runtime
from callcenter.asterisk.instance import Instance
from callcenter.config import Config, RingConfig, generate_secret
from tests.support.raw_ami import RawAmi
from tests.support.softphone import Softphone, make_wav, stop_all

# Two pytest sessions on one machine (a developer's and a helper's, say) each
# set their own CALLCENTER_TEST_SLOT so their instances and ports never meet.
SLOT = int(os.environ.get("CALLCENTER_TEST_SLOT", "0") or 0)
TEST_AMI_PORT = 15038 + 100 * SLOT
TEST_SIP_PORT = 15060 + 100 * SLOT
TEST_AGI_PORT = 15073 + 100 * SLOT
TEST_RTP = (
    (12000 + 1000 * SLOT, 12999 + 1000 * SLOT)
    if SLOT < 2
    else (30000 + 1000 * SLOT, 30999 + 1000 * SLOT)
)
# baresip instances take ports from here, 4 apart (see softphone.py).
PHONE_PORT_BASE = 16000 + 1000 * SLOT
PHONE_SLOTS = 200
# The service token test clients send (acts as admin; see web/access.py).
TEST_API_TOKEN = "test-service-token"
AUTH_HEADERS = {"Authorization": f"Bearer {TEST_API_TOKEN}"}
# The test instance's own secrets, random per session as an install's are: the render
# and the service refuse the development defaults.
TEST_AMI_SECRET = generate_secret()
TEST_SIP_PASSWORD = generate_secret()
TEST_AGI_KEY = generate_secret()
AGENTS = ("1001", "1002", "1003", "1004")
CALLERS = ("2001", "2002", "2003", "2004")


def make_test_config(
    link_dir: Path,
    *,
    name: str = f"test{SLOT}" if SLOT else "test",
    ami_port: int = TEST_AMI_PORT,
    sip_port: int = TEST_SIP_PORT,
    rtp: tuple[int, int] = TEST_RTP,
    ring: RingConfig | None = None,
) -> Config:
    """The dev config from the environment, moved to the test ports and instance."""
    base = config_mod.load(os.environ)
    return dataclasses.replace(
        base,
        ami=dataclasses.replace(base.ami, port=ami_port, secret=TEST_AMI_SECRET),
        asterisk=dataclasses.replace(
            base.asterisk,
            sip_password=TEST_SIP_PASSWORD,
            instance_name=name,
            instance_dir=link_dir,
            sip_port=sip_port,
            rtp_start=rtp[0],
            rtp_end=rtp[1],
        ),
        ring=ring or base.ring,
        web=dataclasses.replace(base.web, api_token=TEST_API_TOKEN),
        router=dataclasses.replace(base.router, agi_port=TEST_AGI_PORT, agi_key=TEST_AGI_KEY),
        # Short rings keep the callback tests quick; no quiet hours (tests run any time).
        callbacks=dataclasses.replace(
            base.callbacks,
            ring_seconds=8,
            agent_ring_seconds=8,
            quiet_hours="none",
            poll_seconds=0.5,
        ),
    )


@dataclass
class TestAsterisk:
    """A running test instance, as tests see it."""

    __test__ = False  # not a test class, whatever pytest's name matching thinks

    config: Config
    instance: Instance

    @property
    def ami_host(self) -> str:
        return "127.0.0.1"

    @property
    def ami_port(self) -> int:
        return self.config.ami.port

    @property
    def ami_user(self) -> str:
        return self.config.ami.username

    @property
    def ami_secret(self) -> str:
        return self.config.ami.secret

    @property
    def sip_port(self) -> int:
        return self.config.asterisk.sip_port

    @property
    def sip_password(self) -> str:
        return self.config.asterisk.sip_password

    @property
    def recordings_dir(self) -> Path:
        return self.instance.recordings_host_dir

    def ami(self) -> RawAmi:
        """A raw AMI client (not connected: `async with asterisk.ami() as ami`)."""
        return RawAmi(self.ami_host, self.ami_port, self.ami_user, self.ami_secret)

    def restart(self) -> None:
        runtime.restart(self.config)

    def stop(self) -> None:
        runtime.stop(self.config.asterisk)

    def start(self) -> None:
        runtime.start(self.config)

    def kill(self) -> None:
        """SIGKILL: Asterisk dies without hanging up calls or telling AMI anything."""
        pid = runtime.status(self.config.asterisk).pid
        if pid is None:
            raise AssertionError("Asterisk is not running, nothing to kill")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while runtime.status(self.config.asterisk).running:
            if time.monotonic() > deadline:
                raise AssertionError(f"Asterisk pid {pid} survived SIGKILL")
            time.sleep(0.05)

    def log_since_start(self) -> list[str]:
        """messages.log lines written since the last boot."""
        lines = self.instance.messages_log.read_text(errors="replace").splitlines()
        starts = [i for i, line in enumerate(lines) if "] Asterisk " in line]
        return lines[starts[-1] :] if starts else lines


def start_test_asterisk(config: Config) -> TestAsterisk:
    """Install if needed, wipe the previous run's instance, start. Raises on failure."""
    runtime.install(config)
    runtime.stop(config.asterisk)  # a crashed earlier session may have left it running
    instance = runtime.instance_for(config.asterisk)
    shutil.rmtree(instance.root, ignore_errors=True)
    return TestAsterisk(config=config, instance=runtime.start(config))


def stop_test_asterisk(asterisk: TestAsterisk) -> None:
    runtime.stop(asterisk.config.asterisk)
    shutil.rmtree(asterisk.instance.root, ignore_errors=True)
    asterisk.instance.link.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def asterisk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestAsterisk]:
    config = make_test_config(tmp_path_factory.mktemp("asterisk") / "instance")
    try:
        running = start_test_asterisk(config)
    except Exception as exc:  # pragma: no cover - the message is the point
        pytest.fail(
            f"the real Asterisk could not be installed/started for the integration tests: {exc}",
            pytrace=False,
        )
    yield running
    stop_test_asterisk(running)


_slots = itertools.count()


class PhonePool:
    """Starts registered softphones against an instance; stops them all at the end."""

    def __init__(self, asterisk: TestAsterisk, workdir: Path) -> None:
        self.asterisk = asterisk
        self.workdir = workdir
        self.phones: list[Softphone] = []

    async def __call__(
        self,
        user: str,
        *,
        auto_answer: bool = True,
        record: bool = False,
        wav: Path | None = None,
        wav_seconds: float = 60.0,
        presented_as: str | None = None,
    ) -> Softphone:
        """A started, registered softphone for endpoint `user` (1001-1004, 2001-2004).

        The default 60 s microphone keeps the phone from hanging up on its own;
        pass a short `wav_seconds` to make it hang up when the file ends.
        `presented_as` (a caller endpoint only) calls with that From instead, e.g.
        `'"Anonymous" <sip:anonymous@anonymous.invalid>'`, and does not register.
        """
        slot = next(_slots) % PHONE_SLOTS
        port = PHONE_PORT_BASE + 4 * slot
        home = self.workdir / f"{user}-{slot}"
        if wav is None:
            text = f"This is {user} speaking on the test line."
            wav = make_wav(home / "mic.wav", wav_seconds, text=text)
        phone = Softphone(
            f"{user}@{slot}",
            user,
            self.asterisk.sip_password,
            port,
            self.asterisk.sip_port,
            wav,
            workdir=home,
            auto_answer=auto_answer,
            record_dir=home / "heard" if record else None,
            presented_as=presented_as,
        )
        self.phones.append(phone)
        await phone.start()
        return phone

    async def close(self) -> None:
        await stop_all(self.phones)
        self.phones.clear()


@pytest.fixture
async def softphones(asterisk: TestAsterisk, tmp_path: Path) -> AsyncIterator[PhonePool]:
    pool = PhonePool(asterisk, tmp_path / "phones")
    try:
        yield pool
    finally:
        await asyncio.shield(pool.close())
