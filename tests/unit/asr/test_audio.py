"""Format checks and conversions before recognition, on files made by sox and by hand."""

from __future__ import annotations

import struct
import subprocess
import wave
from array import array
from pathlib import Path

import pytest

from callcenter.asr.audio import pcm16_mono_chunks, read_info, to_pcm16_mono
from callcenter.asr.engine import AsrError


def sox(path: Path, *args: str) -> Path:
    subprocess.run(["sox", "-n", *args, str(path), "synth", "1", "sine", "300"], check=True)
    return path


def test_asterisk_format_passes_through(tmp_path: Path) -> None:
    path = sox(tmp_path / "a.wav", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed")
    info = read_info(path)
    assert (info.rate, info.channels, info.bits) == (8000, 1, 16)
    assert info.duration == pytest.approx(1.0)
    data = b"".join(pcm16_mono_chunks(path, info, frames_per_chunk=1000))
    with wave.open(str(path)) as w:
        assert data == w.readframes(w.getnframes())


@pytest.mark.parametrize(
    ("encoding", "name"),
    [("a-law", "A-law"), ("u-law", "mu-law"), ("floating-point", "32-bit float")],
)
def test_encoded_audio_is_refused_with_the_fix(tmp_path: Path, encoding: str, name: str) -> None:
    bits = "32" if encoding == "floating-point" else "8"
    path = sox(tmp_path / "x.wav", "-r", "8000", "-c", "1", "-e", encoding, "-b", bits)
    with pytest.raises(AsrError) as caught:
        read_info(path)
    assert caught.value.error_id == "audio-not-pcm"
    assert name in caught.value.message and "sox IN.wav -r 8000" in caught.value.message


def test_gsm_wav_is_refused(tmp_path: Path) -> None:
    path = sox(tmp_path / "g.wav", "-r", "8000", "-c", "1", "-e", "gsm-full-rate")
    with pytest.raises(AsrError, match=r"GSM 6\.10"):
        read_info(path)


def test_not_a_wav_missing_and_directory(tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("hello")
    with pytest.raises(AsrError) as caught:
        read_info(text)
    assert caught.value.error_id == "audio-not-wav"
    with pytest.raises(AsrError) as caught:
        read_info(tmp_path / "gone.wav")
    assert caught.value.error_id == "audio-not-found"
    with pytest.raises(AsrError) as caught:
        read_info(tmp_path)
    assert caught.value.error_id == "audio-not-found"


def test_rate_outside_the_supported_range(tmp_path: Path) -> None:
    path = sox(tmp_path / "low.wav", "-r", "4000", "-c", "1", "-b", "16", "-e", "signed")
    with pytest.raises(AsrError, match="4000 Hz") as caught:
        read_info(path)
    assert caught.value.error_id == "audio-unsupported-format"


def test_a_recording_cut_off_mid_write_reads_what_is_there(tmp_path: Path) -> None:
    path = sox(tmp_path / "a.wav", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed")
    data = path.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: 44 + 8001])  # the header still declares a whole second
    info = read_info(cut)
    assert info.frames == 4000
    assert sum(len(c) for c in pcm16_mono_chunks(cut, info)) == 8000


def test_extensible_pcm_is_read(tmp_path: Path) -> None:
    samples = array("h", [0, 1000, -1000, 32767] * 100)
    fmt = struct.pack("<HHIIHH", 0xFFFE, 1, 8000, 16000, 2, 16)
    ext = struct.pack("<HHI", 22, 16, 4) + struct.pack("<H", 1) + b"\x00" * 14
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt + ext)) + fmt + ext
    body += b"data" + struct.pack("<I", len(samples) * 2) + samples.tobytes()
    path = tmp_path / "ext.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    info = read_info(path)
    assert (info.rate, info.bits, info.frames) == (8000, 16, 400)
    assert b"".join(pcm16_mono_chunks(path, info)) == samples.tobytes()


def test_conversions_to_16_bit_mono() -> None:
    # 8-bit unsigned: 128 is silence
    assert array("h", to_pcm16_mono(bytes([128, 255, 0]), 8, 1)).tolist() == [0, 127 << 8, -32768]
    # 24-bit: the two most significant bytes
    assert array("h", to_pcm16_mono(b"\x12\x34\x56", 24, 1)).tolist() == [0x5634]
    # stereo 16-bit: channels averaged
    stereo = array("h", [1000, 3000, -2000, -4000]).tobytes()
    assert array("h", to_pcm16_mono(stereo, 16, 2)).tolist() == [2000, -3000]
