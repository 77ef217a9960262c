"""What a speech-recognition engine gives the rest of the system.

An engine turns one audio file into words with start/end times (seconds from
the start of the file) and a confidence. It is synchronous and CPU-bound on
purpose: it runs in a worker process (`callcenter.asr.worker`), never on the
event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class AsrError(Exception):
    """A file or model the engine cannot use; `error_id` is stable, the message says what to do."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in a worker process and re-raised here: keep both fields through pickling.
        return (AsrError, (self.error_id, self.message))


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    conf: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return {"word": self.word, "start": self.start, "end": self.end, "conf": self.conf}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Word:
        return cls(
            word=str(data["word"]),
            start=float(data["start"]),
            end=float(data["end"]),
            conf=float(data.get("conf", 1.0)),
        )


@dataclass(frozen=True)
class Transcript:
    words: tuple[Word, ...]
    text: str
    duration: float  # seconds of audio in the file
    engine: str
    model: str


class AsrEngine(Protocol):
    """Loaded once per worker process; `transcribe` is called for each file."""

    name: str
    model: str

    def transcribe(self, path: Path) -> Transcript: ...
