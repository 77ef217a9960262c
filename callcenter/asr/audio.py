"""Reading WAV files for recognition: 16-bit mono PCM out, or a clear reason why not.

Asterisk records 8 kHz mono 16-bit PCM, which passes straight through. Other
PCM layouts (8/24/32-bit, several channels) are converted here; the sample
rate is left to the recogniser, which resamples to its model's rate. Encoded
audio (A-law, mu-law, GSM, float, MP3 in a RIFF) is refused with the command
that converts it, rather than transcribed into noise.

Our own RIFF reader instead of `wave`: `wave` in Python 3.11 refuses
WAVE_FORMAT_EXTENSIBLE files and names a refused encoding only by its number.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from callcenter.asr.engine import AsrError

PCM = 0x0001
FLOAT = 0x0003
EXTENSIBLE = 0xFFFE
FORMAT_NAMES = {
    0x0002: "Microsoft ADPCM",
    FLOAT: "32-bit float",
    0x0006: "A-law (G.711)",
    0x0007: "mu-law (G.711)",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10",
    0x0055: "MP3",
}
MIN_RATE = 8000
MAX_RATE = 48000
CONVERT_HINT = "convert it with `sox IN.wav -r 8000 -c 1 -b 16 -e signed OUT.wav`"


@dataclass(frozen=True)
class WavInfo:
    rate: int
    channels: int
    bits: int
    data_offset: int
    data_size: int  # bytes of sample data actually in the file

    @property
    def frame_bytes(self) -> int:
        return self.channels * self.bits // 8

    @property
    def frames(self) -> int:
        return self.data_size // self.frame_bytes if self.frame_bytes else 0

    @property
    def duration(self) -> float:
        return self.frames / self.rate


def read_info(path: Path) -> WavInfo:
    """The layout of a PCM WAV file; `AsrError` naming what is wrong otherwise."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            return _parse(f, size, path)
    except FileNotFoundError:
        raise AsrError("audio-not-found", f"{path}: no such file") from None
    except IsADirectoryError:
        raise AsrError("audio-not-found", f"{path} is a directory, not a WAV file") from None
    except PermissionError:
        raise AsrError("audio-unreadable", f"{path}: permission denied") from None


def _parse(f: BinaryIO, size: int, path: Path) -> WavInfo:
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AsrError("audio-not-wav", f"{path} is not a WAV file (no RIFF/WAVE header)")
    fmt: tuple[int, int, int, int] | None = None
    while True:
        chunk = f.read(8)
        if len(chunk) < 8:
            raise AsrError("audio-not-wav", f"{path}: WAV file without a data chunk")
        cid, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if cid == b"fmt ":
            body = f.read(length + (length & 1))
            if len(body) < 16:
                raise AsrError("audio-not-wav", f"{path}: truncated fmt chunk")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]  # the sub-format GUID's first field
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            if fmt is None:
                raise AsrError("audio-not-wav", f"{path}: data chunk before the fmt chunk")
            offset = f.tell()
            # A recording still being written (or cut off) declares more than it holds.
            available = max(0, min(length, size - offset))
            return _check(path, *fmt, offset, available)
        else:
            f.seek(length + (length & 1), 1)


def _check(
    path: Path, tag: int, channels: int, rate: int, bits: int, offset: int, size: int
) -> WavInfo:
    if tag != PCM:
        name = FORMAT_NAMES.get(tag, f"format 0x{tag:04x}")
        raise AsrError(
            "audio-not-pcm", f"{path} is encoded as {name}, not linear PCM: {CONVERT_HINT}"
        )
    if bits not in (8, 16, 24, 32):
        raise AsrError(
            "audio-unsupported-format",
            f"{path}: {bits}-bit samples are not supported: " + CONVERT_HINT,
        )
    if channels < 1:
        raise AsrError("audio-not-wav", f"{path}: the fmt chunk declares no channel")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AsrError(
            "audio-unsupported-format",
            f"{path}: sample rate {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz: " + CONVERT_HINT,
        )
    return WavInfo(rate=rate, channels=channels, bits=bits, data_offset=offset, data_size=size)


def pcm16_mono_chunks(path: Path, info: WavInfo, frames_per_chunk: int = 4000) -> Iterator[bytes]:
    """The sample data as little-endian 16-bit mono, `frames_per_chunk` frames at a time."""
    step = frames_per_chunk * info.frame_bytes
    left = info.frames * info.frame_bytes
    with path.open("rb") as f:
        f.seek(info.data_offset)
        while left > 0:
            raw = f.read(min(step, left))
            if not raw:
                return
            left -= len(raw)
            usable = len(raw) - len(raw) % info.frame_bytes
            yield to_pcm16_mono(raw[:usable], info.bits, info.channels)


def to_pcm16_mono(raw: bytes, bits: int, channels: int) -> bytes:
    """Whole frames of `bits`-bit little-endian PCM -> 16-bit mono (channels averaged)."""
    width = bits // 8
    if bits == 16:
        pcm = raw
    elif bits == 8:  # unsigned, centred on 128
        pcm = _native_to_le(array("h", ((b - 128) << 8 for b in raw)))
    else:  # 24/32-bit: keep the two most significant bytes of each sample
        out = bytearray(len(raw) // width * 2)
        out[0::2] = raw[width - 2 :: width]
        out[1::2] = raw[width - 1 :: width]
        pcm = bytes(out)
    if channels == 1:
        return pcm
    samples = array("h")
    samples.frombytes(pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    mixed = array(
        "h",
        (sum(samples[i : i + channels]) // channels for i in range(0, len(samples), channels)),
    )
    return _native_to_le(mixed)


def _native_to_le(samples: array[int]) -> bytes:
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()
