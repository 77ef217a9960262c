"""The real Asterisk, started by the project's code from `dialplans/`, with real softphones."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from callcenter.asterisk import runtime
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.raw_ami import RawAmi

pytestmark = pytest.mark.asterisk

# Lines allowed in messages.log after boot, each with the reason.
ALLOWED_LOG: list[str] = [
    # None so far: every file Asterisk looked for is in dialplans/.
]

REQUIRED_MODULES = [
    "chan_pjsip.so",
    "res_pjsip.so",
    "res_pjsip_registrar.so",
    "res_pjsip_authenticator_digest.so",
    "res_rtp_asterisk.so",
    "codec_ulaw.so",
    "codec_alaw.so",
    "format_wav.so",
    "app_queue.so",
    "app_mixmonitor.so",
    "app_dial.so",
    "app_playback.so",
    "app_userevent.so",
    "app_stack.so",
    "pbx_config.so",
    "func_strings.so",
    "func_channel.so",
    "bridge_simple.so",
    "bridge_native_rtp.so",
    "res_musiconhold.so",
    "res_agi.so",
]


def test_rendered_config_boots_without_warnings(asterisk: TestAsterisk) -> None:
    problems = [
        line
        for line in asterisk.log_since_start()
        if re.search(r"\] (WARNING|ERROR)\[", line)
        and not any(allowed in line for allowed in ALLOWED_LOG)
    ]
    assert problems == []


def test_required_modules_are_running(asterisk: TestAsterisk) -> None:
    shown = runtime.cli(asterisk.instance, "module show")
    running = {line.split()[0] for line in shown.splitlines() if line.split() and "Running" in line}
    assert sorted(set(REQUIRED_MODULES) - running) == []


def test_dialplan_queue_and_endpoints_are_loaded(asterisk: TestAsterisk) -> None:
    inbound = asterisk.config.asterisk.inbound_number
    dialplan = runtime.cli(asterisk.instance, "dialplan show from-callers")
    assert f"'{inbound}' =>" in dialplan
    # The router decides over FastAGI; app_queue with the budget left is the fallback.
    agi_port, agi_key = asterisk.config.router.agi_port, asterisk.config.router.agi_key
    assert f"AGI(agi://127.0.0.1:{agi_port}/route?key={agi_key}," in dialplan
    fallback = "Queue(${CC_SKILL},r,,,${MAX(1,${CC_LEFT})},,callcenter-agent-connected-queue)"
    assert fallback in dialplan
    assert "Set(CC_LEFT=$[15.000 - (" in dialplan
    queue = runtime.cli(asterisk.instance, "queue show support")
    assert "'rrmemory' strategy" in queue
    endpoints = runtime.cli(asterisk.instance, "pjsip show endpoints")
    for user in ("1001", "1004", "2001", "2004"):
        assert f"Endpoint:  {user}" in endpoints


def _listening_sockets(pid: int) -> list[str]:
    out = subprocess.run(["ss", "-Hlntp"], capture_output=True, text=True, check=True).stdout
    return [line.split()[3] for line in out.splitlines() if f"pid={pid}," in line]


def test_ami_listens_on_loopback_only(asterisk: TestAsterisk) -> None:
    pid = runtime.status(asterisk.config.asterisk).pid
    assert pid is not None
    assert _listening_sockets(pid) == [f"127.0.0.1:{asterisk.ami_port}"]
    with socket.create_connection(("127.0.0.1", asterisk.ami_port), timeout=2) as conn:
        assert conn.recv(100).startswith(b"Asterisk Call Manager/")


def test_start_and_stop_are_idempotent(asterisk: TestAsterisk) -> None:
    pid = runtime.status(asterisk.config.asterisk).pid
    runtime.start(asterisk.config)
    assert runtime.status(asterisk.config.asterisk).pid == pid

    runtime.stop(asterisk.config.asterisk)
    assert not runtime.status(asterisk.config.asterisk).running
    runtime.stop(asterisk.config.asterisk)
    assert not runtime.status(asterisk.config.asterisk).running

    runtime.start(asterisk.config)
    assert runtime.status(asterisk.config.asterisk).running


async def test_ami_drops_varset_events(asterisk: TestAsterisk) -> None:
    # Set() on a real channel would emit VarSet without manager.conf's eventfilter.
    async with asterisk.ami() as ami:
        reply = await ami.action(
            "Originate",
            Channel="Local/echo@callcenter-internal",
            Application="Set",
            Data="CC_PROBE=1",
            Timeout="3000",
        )
        assert reply["Response"] == "Success"
        await ami.wait_event("Hangup", 5)
    assert [e for e in ami.events if e.get("Event") == "Newchannel"] != []
    assert [e for e in ami.events if e.get("Event") == "VarSet"] == []


async def test_softphones_register(asterisk: TestAsterisk, softphones: PhonePool) -> None:
    await softphones("1001")
    await softphones("2001")
    async with asterisk.ami() as ami:
        contacts = await ami.list_action("PJSIPShowContacts")
    registered = {c["Endpoint"] for c in contacts}
    assert {"1001", "2001"} <= registered


def _has_audio(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 44  # more than a WAV header


async def _wait_for_file(path: Path, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not _has_audio(path):
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} missing or empty")
        await asyncio.sleep(0.1)


async def test_queue_call_is_answered_by_agent_and_both_legs_recorded(
    asterisk: TestAsterisk, softphones: PhonePool
) -> None:
    agent = await softphones("1001")
    caller = await softphones("2002")
    async with asterisk.ami() as ami:
        await ami.action("QueueAdd", Queue="support", Interface="PJSIP/1001")
        try:
            await caller.dial(asterisk.config.asterisk.inbound_number)
            await agent.wait_event("CALL_ESTABLISHED", 10)
            await caller.wait_event("CALL_ESTABLISHED", 10)
            await asyncio.sleep(2)  # some audio to record
            await caller.hangup()
            complete = await ami.wait_event("AgentComplete", 10)
            await ami.wait_event("Hangup", 10, where=lambda e: "1001" in e.get("Channel", ""))
        finally:
            await ami.action("QueueRemove", Queue="support", Interface="PJSIP/1001")
        recordings = {e["Leg"]: e for e in ami.events if e.get("UserEvent") == "CallRecording"}

    assert complete["Reason"] == "caller"
    # The agent channel records the mix and each party's voice alone.
    assert set(recordings) == {"caller", "agent", "agent-voice", "customer-voice"}
    linkedid = recordings["caller"]["Linkedid"]
    assert recordings["agent"]["Linkedid"] == linkedid
    for leg, event in recordings.items():
        relpath = event["File"]
        assert re.fullmatch(
            rf"\d{{4}}/\d{{2}}/\d{{2}}/{re.escape(linkedid)}/"
            rf"{re.escape(event['Uniqueid'])}-{leg}\.wav",
            relpath,
        )
        await _wait_for_file(asterisk.recordings_dir / relpath)


async def test_restart_brings_ami_back(asterisk: TestAsterisk) -> None:
    asterisk.restart()
    async with RawAmi(
        asterisk.ami_host, asterisk.ami_port, asterisk.ami_user, asterisk.ami_secret
    ) as ami:
        pong = await ami.action("Ping")
    assert pong["Response"] == "Success"
