"""Dead air: seconds from agent connect to the agent's first speech."""

from __future__ import annotations

import math
import random
import subprocess
import wave
from array import array
from pathlib import Path

import pytest

from callcenter.compliance.dead_air import DeadAirError, dead_air_seconds, first_speech

RATE = 8000
FRAME = 0.020  # the default frame: answers are exact to within one frame


def silence(seconds: float) -> array[int]:
    return array("h", bytes(2 * round(seconds * RATE)))


def tone(seconds: float, amplitude: int = 10000, freq: float = 440.0) -> array[int]:
    step = 2 * math.pi * freq / RATE
    return array("h", (round(amplitude * math.sin(step * i)) for i in range(round(seconds * RATE))))


def noise(seconds: float, amplitude: int) -> array[int]:
    rng = random.Random(7)
    return array("h", (rng.randint(-amplitude, amplitude) for _ in range(round(seconds * RATE))))


def write_wav(path: Path, samples: array[int], *, channels: int = 1, width: int = 2) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(RATE)
        wav.writeframes(samples.tobytes())
    return path


def test_tone_after_two_seconds_of_silence() -> None:
    result = first_speech(silence(2.0) + tone(1.0), RATE)
    assert result is not None
    assert abs(result - 2.0) <= FRAME


def test_click_shorter_than_min_speech_is_ignored() -> None:
    audio = silence(1.0) + tone(0.06, amplitude=30000) + silence(1.0) + tone(1.0)
    result = first_speech(audio, RATE)
    assert result is not None
    assert abs(result - 2.06) <= FRAME


def test_short_dip_inside_speech_does_not_restart_it() -> None:
    # A first word of 160 ms, a 40 ms stop-consonant dip, then the rest of the sentence.
    audio = silence(1.0) + tone(0.16) + silence(0.04) + tone(1.0)
    result = first_speech(audio, RATE)
    assert result is not None
    assert abs(result - 1.0) <= FRAME
    strict = first_speech(audio, RATE, max_gap_ms=0)
    assert strict is not None
    assert abs(strict - 1.2) <= FRAME


def test_all_silence_is_none() -> None:
    assert first_speech(silence(3.0), RATE) is None
    assert first_speech(array("h"), RATE) is None


def test_start_offset_is_subtracted() -> None:
    audio = silence(2.0) + tone(1.0)
    result = first_speech(audio, RATE, start=0.5)
    assert result is not None
    assert abs(result - 1.5) <= FRAME
    assert first_speech(audio, RATE, start=5.0) is None


def test_noise_below_threshold_is_ignored() -> None:
    quiet = noise(1.0, amplitude=300)  # RMS about -45 dBFS, under the -35 default
    result = first_speech(quiet + tone(1.0), RATE)
    assert result is not None
    assert abs(result - 1.0) <= FRAME
    # The same noise counts once the threshold is under it.
    assert first_speech(quiet, RATE, threshold_dbfs=-50.0) == 0.0


def test_raw_pcm_bytes_and_16_khz() -> None:
    audio = silence(1.2) + tone(0.5)
    assert first_speech(audio.tobytes(), RATE) == first_speech(audio, RATE)
    wide = array("h", bytes(2 * 16000)) + array("h", [8000, -8000] * 8000)
    result = first_speech(wide, 16000)
    assert result is not None
    assert abs(result - 1.0) <= FRAME


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        first_speech(silence(1.0), 0)
    with pytest.raises(ValueError):
        first_speech(silence(1.0), RATE, start=-1.0)


def test_file_matches_samples_across_read_chunks(tmp_path: Path) -> None:
    # Speech starting at 0.9 s straddles the reader's 1 s chunk boundary.
    audio = silence(0.9) + tone(0.5) + silence(3.0)
    path = write_wav(tmp_path / "agent.wav", audio)
    assert dead_air_seconds(path) == first_speech(audio, RATE)
    assert dead_air_seconds(path, start=0.3) == first_speech(audio, RATE, start=0.3)
    assert dead_air_seconds(path, start=10.0) is None


def test_stereo_or_8_bit_is_a_format_error(tmp_path: Path) -> None:
    stereo = write_wav(tmp_path / "stereo.wav", silence(1.0), channels=2)
    with pytest.raises(DeadAirError, match=r"stereo\.wav") as info:
        dead_air_seconds(stereo)
    assert info.value.error_id == "recording-format"
    eight = write_wav(tmp_path / "eight.wav", silence(1.0), width=1)
    with pytest.raises(DeadAirError) as info:
        dead_air_seconds(eight)
    assert info.value.error_id == "recording-format"


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(DeadAirError, match=r"gone\.wav") as info:
        dead_air_seconds(tmp_path / "gone.wav")
    assert info.value.error_id == "recording-unreadable"


# Fails (never skips) where espeak-ng or sox is missing: scripts/setup installs both.
needs_tts = pytest.mark.usefixtures("tts_tools")


@needs_tts
def test_real_speech_after_silence(tmp_path: Path) -> None:
    raw, path = tmp_path / "raw.wav", tmp_path / "agent.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en", "-w", str(raw), "Good morning, how can I help you?"], check=True
    )
    subprocess.run(
        ["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(path), "pad", "1.5", "0"],
        check=True,
    )
    result = dead_air_seconds(path)
    assert result is not None
    # espeak-ng starts speaking at once; "Good" is followed by a dip under the threshold,
    # which must not push the answer to "morning" (1.7 s).
    assert 1.4 <= result <= 1.6


@needs_tts
def test_ulaw_wav_is_a_format_error(tmp_path: Path) -> None:
    pcm = write_wav(tmp_path / "pcm.wav", silence(0.5) + tone(0.5))
    ulaw = tmp_path / "ulaw.wav"
    subprocess.run(["sox", str(pcm), "-e", "u-law", str(ulaw)], check=True)
    with pytest.raises(DeadAirError, match=r"ulaw\.wav") as info:
        dead_air_seconds(ulaw)
    assert info.value.error_id == "recording-format"
