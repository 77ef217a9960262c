"""WAV headers, checksums and the retention plan."""

from __future__ import annotations

import hashlib
import struct
import wave
from pathlib import Path

import pytest

from callcenter.recordings.recording import Recording, leg_of
from callcenter.recordings.retention import DAY, purge_plan
from callcenter.recordings.wav import WavError, file_digest, parse_wav_header, read_wav_info


def _wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x01\x00" * int(seconds * rate))
    return path


def test_duration_and_checksum_of_a_closed_file(tmp_path: Path) -> None:
    path = _wav(tmp_path / "a.wav", 2.5)
    info = read_wav_info(path)
    assert (info.channels, info.sample_rate, info.bits_per_sample) == (1, 8000, 16)
    assert info.duration_seconds == 2.5
    size, digest = file_digest(path)
    assert size == path.stat().st_size
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_never_closed_counts_the_bytes_on_disk(tmp_path: Path) -> None:
    """MixMonitor writes the sizes at the end; a crash leaves them 0."""
    data = _wav(tmp_path / "b.wav", 1.0, rate=16000).read_bytes()
    head = bytearray(data)
    struct.pack_into("<I", head, 40, 0)  # data size never written
    assert parse_wav_header(bytes(head[:64]), len(head)).duration_seconds == 1.0
    # A header promising more than is on disk: the disk wins.
    truncated = data[: 44 + 8000]
    assert parse_wav_header(truncated[:64], len(truncated)).duration_seconds == 0.25


@pytest.mark.parametrize("head", [b"", b"RIFF\x00\x00\x00\x00WAVE", b"OggS" + b"\x00" * 40])
def test_not_a_wav_is_an_error(head: bytes) -> None:
    with pytest.raises(WavError):
        parse_wav_header(head, len(head))


def test_legs_mean_what_is_heard() -> None:
    assert [leg_of(s) for s in ("caller", "agent", "agent-voice", "customer-voice")] == [
        "mixed",
        "mixed",
        "agent",
        "caller",
    ]


def _rec(n: int, linkedid: str, age_days: float, now: float, deleted: bool = False) -> Recording:
    return Recording(
        id=n,
        linkedid=linkedid,
        uniqueid=linkedid,
        leg="mixed",
        source="agent",
        path=f"{n}.wav",
        duration_seconds=1.0,
        size_bytes=100,
        sha256="0" * 64,
        sample_rate=8000,
        created_at=now - age_days * DAY,
        deleted_at=now if deleted else None,
    )


def test_retention_deletes_old_files_but_holds_calls_under_evaluation() -> None:
    now = 1_800_000_000.0
    recordings = [
        _rec(1, "old", 400, now),
        _rec(2, "sampled", 400, now),
        _rec(3, "young", 10, now),
        _rec(4, "gone", 500, now, deleted=True),
    ]
    plan = purge_plan(recordings, now, 365, {"sampled"})
    assert [r.id for r in plan.delete] == [1]
    assert [r.id for r in plan.held] == [2]
    forever = purge_plan(recordings, now, 0, set())
    assert forever.delete == [] and forever.held == []
