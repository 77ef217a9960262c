"""`callcenter asr transcribe|check` as a user runs them: a subprocess, the real Korean
vosk model, a real database; resumable runs and the progress bar on stderr."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.asr_calls import make_call, store
from tests.support.asr_engines import korean_model
from tests.support.cli import run_cli_async
from tests.support.paths import ROOT
from tests.support.softphone import make_wav

KOREAN = "안녕하세요 고객센터입니다 무엇을 도와드릴까요"


async def cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    return await run_cli_async(*args, env={**os.environ, **env}, timeout=100, cwd=ROOT)


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
