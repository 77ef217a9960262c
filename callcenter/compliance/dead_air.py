"""Dead air: how long a connected agent stays silent before speaking.

Measured on the agent's own MixMonitor leg, so the caller's voice cannot
count as the agent's first speech. `first_speech` is pure; `dead_air_seconds`
streams the WAV and stops reading at the first speech, so an hour-long
recording costs no more than its silent opening.
"""

from __future__ import annotations

import math
import operator
import sys
import wave
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

# Whole frames per read in `dead_air_seconds`: 50 frames of 20 ms = 1 s of audio.
_FRAMES_PER_READ = 50

FULL_SCALE = 32768  # 0 dBFS for 16-bit PCM; a full-scale sine measures about -3 dBFS

# array('h') and a memoryview of one are Sequence[int]; other bytes-like input is raw PCM.
Samples = Sequence[int] | bytes | bytearray | memoryview


class DeadAirError(ValueError):
    """The recording cannot be measured; `error_id` says whether to fix access or format."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


def _as_samples(samples: Samples) -> Sequence[int]:
    """Bytes-like input is raw little-endian 16-bit PCM (as in a WAV), not 8-bit values."""
    if isinstance(samples, memoryview) and samples.format == "h":
        return samples
    if isinstance(samples, bytes | bytearray | memoryview):
        return _pcm16(bytes(samples))
    return samples


def _pcm16(data: bytes) -> array[int]:
    if len(data) % 2:
        raise ValueError("16-bit PCM needs an even number of bytes")
    pcm = array("h")
    pcm.frombytes(data)
    if sys.byteorder == "big":
        pcm.byteswap()
    return pcm


def _frame_length(rate: int, frame_ms: int) -> int:
    if rate <= 0 or frame_ms <= 0:
        raise ValueError(f"rate and frame_ms must be positive (rate={rate}, frame_ms={frame_ms})")
    length = rate * frame_ms // 1000
    if length == 0:
        raise ValueError(f"a {frame_ms} ms frame holds no sample at {rate} Hz")
    return length


def _loud_frames(samples: Sequence[int], frame_len: int, threshold_dbfs: float) -> Iterator[bool]:
    """Whether each whole frame's RMS is above the threshold; a trailing partial frame is dropped.

    Compares sums of squares with the threshold's (no sqrt or log per frame).
    """
    limit = frame_len * (FULL_SCALE * 10 ** (threshold_dbfs / 20)) ** 2
    for begin in range(0, len(samples) - frame_len + 1, frame_len):
        frame = samples[begin : begin + frame_len]
        yield sum(map(operator.mul, frame, frame)) > limit


def _first_run(loud: Iterable[bool], needed: int, max_gap: int) -> int | None:
    """Index of the first loud frame of the first run holding `needed` loud frames.

    Up to `max_gap` quiet frames may sit inside a run: real speech dips between
    syllables and at stop consonants, and ending the run there would report the
    first word late (or miss a short "Hi" entirely).
    """
    run_start: int | None = None
    count = gap = 0
    for index, is_loud in enumerate(loud):
        if is_loud:
            if run_start is None:
                run_start, count = index, 0
            count += 1
            gap = 0
            if count >= needed:
                return run_start
        elif run_start is not None:
            gap += 1
            if gap > max_gap:
                run_start = None
    return None


def _start_sample(start: float, rate: int) -> int:
    if start < 0 or not math.isfinite(start):
        raise ValueError(f"start must be a finite, non-negative number of seconds, not {start}")
    return round(start * rate)


def first_speech(
    samples: Samples,
    rate: int,
    *,
    start: float = 0.0,
    frame_ms: int = 20,
    threshold_dbfs: float = -35.0,
    min_speech_ms: int = 200,
    max_gap_ms: int = 100,
) -> float | None:
    """Seconds from `start` to the first speech, or None if nobody speaks.

    Speech is the first run of frames louder than `threshold_dbfs` adding up
    to at least `min_speech_ms`, so clicks and line noise do not count; quiet
    stretches of up to `max_gap_ms` inside the run do not end it (0: the loud
    frames must be consecutive). Exact to within one frame.
    """
    frame_len = _frame_length(rate, frame_ms)
    view = _as_samples(samples)
    offset = _start_sample(start, rate)
    loud = _loud_frames(view[offset:], frame_len, threshold_dbfs)
    index = _first_run(loud, *_run_frames(frame_ms, min_speech_ms, max_gap_ms))
    return None if index is None else index * frame_len / rate


def _run_frames(frame_ms: int, min_speech_ms: int, max_gap_ms: int) -> tuple[int, int]:
    """(loud frames needed, quiet frames allowed inside a run)."""
    return max(1, math.ceil(min_speech_ms / frame_ms)), max(0, max_gap_ms // frame_ms)


def dead_air_seconds(
    path: Path,
    *,
    start: float = 0.0,
    frame_ms: int = 20,
    threshold_dbfs: float = -35.0,
    min_speech_ms: int = 200,
    max_gap_ms: int = 100,
) -> float | None:
    """`first_speech` over a 16-bit mono PCM WAV, read lazily from `start`."""
    try:
        with wave.open(str(path), "rb") as wav:
            rate = wav.getframerate()
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2 or wav.getcomptype() != "NONE":
                raise DeadAirError(
                    "recording-format",
                    f"{path}: need 16-bit mono PCM WAV, got {wav.getnchannels()} channel(s) of "
                    f"{8 * wav.getsampwidth()}-bit {wav.getcomptype()}",
                )
            frame_len = _frame_length(rate, frame_ms)
            offset = _start_sample(start, rate)
            if offset >= wav.getnframes():
                return None
            wav.setpos(offset)
            loud = _wav_loud_frames(wav, frame_len, threshold_dbfs)
            index = _first_run(loud, *_run_frames(frame_ms, min_speech_ms, max_gap_ms))
    except wave.Error as exc:  # not RIFF/WAVE, or a codec such as ulaw that `wave` refuses
        raise DeadAirError(
            "recording-format", f"{path}: not a 16-bit mono PCM WAV ({exc})"
        ) from exc
    except EOFError as exc:
        raise DeadAirError("recording-unreadable", f"{path}: empty or truncated WAV") from exc
    except OSError as exc:
        raise DeadAirError("recording-unreadable", f"{path}: cannot read ({exc})") from exc
    return None if index is None else index * frame_len / rate


def _wav_loud_frames(wav: wave.Wave_read, frame_len: int, threshold_dbfs: float) -> Iterator[bool]:
    chunk = frame_len * _FRAMES_PER_READ  # a multiple of frame_len keeps frames aligned
    while data := wav.readframes(chunk):
        data = data[: len(data) - len(data) % 2]  # a file cut mid-sample
        yield from _loud_frames(_pcm16(data), frame_len, threshold_dbfs)
