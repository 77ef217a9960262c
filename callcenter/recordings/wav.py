"""WAV headers and file checksums, read in a worker thread (never on the event loop).

The duration comes from the bytes actually on disk, capped by the header's
data size: a file whose writer died before closing it (MixMonitor fixes the
sizes only at the end) still gets an honest duration.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

HEADER_READ = 64 * 1024
_CHUNK = 1024 * 1024


class WavError(ValueError):
    error_id = "wav-invalid"


@dataclass(frozen=True)
class WavInfo:
    channels: int
    sample_rate: int
    bits_per_sample: int
    byte_rate: int
    data_offset: int
    data_bytes: int

    @property
    def duration_seconds(self) -> float:
        return self.data_bytes / self.byte_rate if self.byte_rate else 0.0


def parse_wav_header(head: bytes, file_size: int) -> WavInfo:
    """The format and data extent from a file's first bytes and its size (pure)."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise WavError("not a RIFF/WAVE file")
    offset = 12
    fmt: tuple[int, int, int, int] | None = None
    while offset + 8 <= len(head):
        chunk_id = head[offset : offset + 4]
        (size,) = struct.unpack_from("<I", head, offset + 4)
        body = offset + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(head):
                raise WavError("truncated fmt chunk")
            _, channels, rate, byte_rate, _, bits = struct.unpack_from("<HHIIHH", head, body)
            fmt = (channels, rate, byte_rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise WavError("data chunk before the fmt chunk")
            on_disk = max(0, file_size - body)
            declared = size if 0 < size < 0xFFFFFFFF else on_disk
            channels, rate, byte_rate, bits = fmt
            return WavInfo(channels, rate, bits, byte_rate, body, min(declared, on_disk))
        offset = body + size + (size & 1)
    raise WavError("no data chunk in the header")


def read_wav_info(path: Path) -> WavInfo:
    with path.open("rb") as handle:
        head = handle.read(HEADER_READ)
        size = handle.seek(0, 2)
    return parse_wav_header(head, size)


def file_digest(path: Path) -> tuple[int, str]:
    """(size in bytes, sha256 hex) of the whole file."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
