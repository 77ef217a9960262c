"""Generated voice prompts: real espeak-ng and sox, measured back with the dead-air reader."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import pytest

from callcenter.asterisk.prompts import (
    PromptError,
    playback_name,
    render_prompt,
    staff_number_text,
)
from callcenter.compliance.dead_air import dead_air_seconds

# Fails (never skips) where espeak-ng or sox is missing: scripts/setup installs both.
needs_tts = pytest.mark.usefixtures("tts_tools")


def test_staff_numbers_are_announced_digit_by_digit() -> None:
    assert staff_number_text("1001") == "工號 1 0 0 1"
    assert staff_number_text("7", "Agent{staff_no}speaking") == "Agent 7 speaking"
    assert staff_number_text("A7", "Agent{staff_no}speaking") == "Agent A7 speaking"


def test_playback_name_drops_the_wav_suffix() -> None:
    assert playback_name(Path("/var/lib/prompts/agent-1001.wav")) == "/var/lib/prompts/agent-1001"
    with pytest.raises(ValueError):
        playback_name(Path("/var/lib/prompts/agent-1001.gsm"))


def test_unsafe_names_are_refused(tmp_path: Path) -> None:
    for name in ("../escape", "a b", "", ".hidden"):
        with pytest.raises(ValueError):
            render_prompt("hello", tmp_path, name=name)


@needs_tts
def test_renders_8_khz_mono_16_bit(tmp_path: Path) -> None:
    wav = render_prompt(staff_number_text("1001"), tmp_path, name="agent-1001")
    assert wav == tmp_path / "agent-1001.wav"
    with wave.open(str(wav), "rb") as reader:
        assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (8000, 1, 2)
        assert reader.getnframes() / reader.getframerate() > 0.5
    # Only the prompt and its sidecar are left: no temporary files for Asterisk to find.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent-1001.txt", "agent-1001.wav"]


@needs_tts
def test_same_text_is_not_rendered_again_but_new_text_is(tmp_path: Path) -> None:
    text = staff_number_text("1001")
    wav = render_prompt(text, tmp_path, name="agent")
    first = wav.stat().st_mtime_ns
    assert render_prompt(text, tmp_path, name="agent").stat().st_mtime_ns == first
    before = wav.read_bytes()
    render_prompt(staff_number_text("2002"), tmp_path, name="agent")
    assert wav.read_bytes() != before
    assert "2 0 0 2" in (tmp_path / "agent.txt").read_text(encoding="utf-8")


@needs_tts
def test_missing_sidecar_renders_again(tmp_path: Path) -> None:
    wav = render_prompt("hello", tmp_path, name="p", voice="en")
    first = wav.stat().st_mtime_ns
    (tmp_path / "p.txt").unlink()
    render_prompt("hello", tmp_path, name="p", voice="en")
    assert (tmp_path / "p.txt").is_file()
    assert wav.stat().st_mtime_ns != first


def test_missing_tool_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(PromptError, match="espeak-ng") as info:
        render_prompt("hello", tmp_path / "out", name="p")
    assert info.value.error_id == "prompt-tool-missing"


@needs_tts
def test_tool_failure_carries_its_stderr(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="voice does not exist") as info:
        render_prompt("hello", tmp_path, name="p", voice="zzz-nope")
    assert info.value.error_id == "prompt-failed"
    assert not (tmp_path / "p.wav").exists()


@needs_tts
def test_padded_prompt_measures_its_silence(tmp_path: Path) -> None:
    wav = render_prompt(staff_number_text("1001"), tmp_path, name="agent-1001")
    padded = tmp_path / "padded.wav"
    subprocess.run(["sox", str(wav), str(padded), "pad", "1", "0"], check=True)
    result = dead_air_seconds(padded)
    assert result is not None
    assert 0.95 <= result <= 1.1
