"""WAV files for the tests that need real audio on disk."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path


def write_wav(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x10\x00" * int(8000 * seconds))


def silence_wav(path: Path, seconds: float) -> Path:
    """`seconds` of silence in Asterisk's recording format (8 kHz mono 16-bit), by sox."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed"]
    subprocess.run(["sox", "-n", *fmt, str(path), "trim", "0", str(seconds)], check=True)
    return path
