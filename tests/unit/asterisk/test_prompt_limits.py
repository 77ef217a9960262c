"""The staff-number announcement's length limit: generated prompts made short, uploaded
recordings converted and refused when too long or not audio. Real espeak-ng and sox."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import pytest

from callcenter.asterisk.prompts import (
    MAX_STAFF_PROMPT_SECONDS,
    MAX_UPLOAD_BYTES,
    STAFF_RATE,
    PromptError,
    convert_recording,
    render_prompt,
    staff_number_text,
    wav_seconds,
)
from callcenter.kernel.errors import Kind

needs_tts = pytest.mark.usefixtures("tts_tools")
LIMIT = MAX_STAFF_PROMPT_SECONDS


def _staff(text: str, out: Path, name: str = "1001") -> Path:
    return render_prompt(text, out, name=name, rate=STAFF_RATE, max_seconds=LIMIT)


def _tone(path: Path, seconds: float, *, lead: float = 0.0, rate: int = 44100) -> Path:
    """A stereo tone WAV at `rate` with `lead` seconds of silence before it."""
    fmt = ["-r", str(rate), "-c", "2", "-b", "16"]
    subprocess.run(
        ["sox", "-n", *fmt, str(path), "synth", str(seconds), "sine", "440", "pad", str(lead)],
        check=True,
        capture_output=True,
    )
    return path


@needs_tts
def test_the_default_staff_prompt_lasts_well_under_the_limit(tmp_path: Path) -> None:
    plain = render_prompt(staff_number_text("1001"), tmp_path / "plain", name="1001")
    short = _staff(staff_number_text("1001"), tmp_path / "short")
    assert wav_seconds(short) <= LIMIT
    assert wav_seconds(short) < wav_seconds(plain)  # brisker and without its silences
    with wave.open(str(short)) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (8000, 1, 2)


@needs_tts
def test_a_longer_text_is_sped_up_to_fit_and_a_far_longer_one_refused(tmp_path: Path) -> None:
    longer = "工號 1 0 0 1 為您服務"  # the old default: 2.1 s at the staff rate
    assert wav_seconds(_staff(longer, tmp_path, "long")) <= LIMIT
    far = "您好 歡迎致電客戶服務中心 工號 1 0 0 1 很高興為您服務 請問有什麼可以幫您"
    with pytest.raises(PromptError) as info:
        _staff(far, tmp_path, "far")
    assert info.value.error_id == "prompt-too-long"
    assert info.value.kind is Kind.INVALID
    assert float(str(info.value.details["seconds"])) > LIMIT * 1.5
    assert not (tmp_path / "far.wav").exists()


@needs_tts
def test_a_changed_limit_renders_again(tmp_path: Path) -> None:
    text = staff_number_text("1001")
    plain = render_prompt(text, tmp_path, name="p")
    before = plain.read_bytes()
    assert _staff(text, tmp_path, "p").read_bytes() != before  # same text, now short


@needs_tts
def test_an_upload_is_converted_and_its_leading_silence_trimmed(tmp_path: Path) -> None:
    wav = _tone(tmp_path / "in.wav", 1.2, lead=0.6)
    seconds = convert_recording(wav.read_bytes(), tmp_path / "out", name="1001", max_seconds=LIMIT)
    stored = tmp_path / "out" / "1001.wav"
    assert seconds == pytest.approx(1.2, abs=0.08)
    assert wav_seconds(stored) == pytest.approx(seconds)
    with wave.open(str(stored)) as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (8000, 1, 2)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["1001.wav"]


@needs_tts
def test_a_recording_over_the_limit_is_refused_and_the_previous_one_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert_recording(
        _tone(tmp_path / "ok.wav", 1.0).read_bytes(), out, name="1", max_seconds=LIMIT
    )
    kept = (out / "1.wav").read_bytes()
    with pytest.raises(PromptError) as info:
        convert_recording(
            _tone(tmp_path / "long.wav", 1.8).read_bytes(), out, name="1", max_seconds=LIMIT
        )
    assert info.value.error_id == "prompt-too-long"
    assert info.value.details["seconds"] == pytest.approx(1.8, abs=0.08)
    assert "1.5 s" in info.value.message
    assert (out / "1.wav").read_bytes() == kept
    assert sorted(p.name for p in out.iterdir()) == ["1.wav"]  # no temporary left


@needs_tts
@pytest.mark.parametrize(
    ("body", "error_id"),
    [
        (b"ID3\x04\x00 an mp3, say", "prompt-not-audio"),
        (b"", "prompt-not-audio"),
        (b"RIFF\x24\x00\x00\x00WAVEjunkjunkjunkjunk", "prompt-not-audio"),
        (b"RIFF" + b"\x00" * (MAX_UPLOAD_BYTES + 1), "prompt-too-large"),
    ],
)
def test_what_is_not_a_wav_is_refused(tmp_path: Path, body: bytes, error_id: str) -> None:
    with pytest.raises(PromptError) as info:
        convert_recording(body, tmp_path, name="1001", max_seconds=LIMIT)
    assert info.value.error_id == error_id
    assert info.value.kind is Kind.INVALID
    assert not (tmp_path / "1001.wav").exists()


@needs_tts
def test_a_silent_recording_is_refused(tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(silent), "trim", "0", "1"],
        check=True,
    )
    with pytest.raises(PromptError) as info:
        convert_recording(silent.read_bytes(), tmp_path / "out", name="1", max_seconds=LIMIT)
    assert info.value.error_id == "prompt-empty"


def test_missing_tools_are_an_outage_not_a_bad_request() -> None:
    assert PromptError("prompt-tool-missing", "x").kind is Kind.UNAVAILABLE
    assert PromptError("prompt-failed", "x").kind is Kind.UPSTREAM_FAILED
