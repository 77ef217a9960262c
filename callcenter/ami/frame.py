"""AMI wire framing: bytes in, messages out.

A frame ends at an empty line (`\\r\\n\\r\\n`). Bytes are buffered until a
whole frame is there and only then decoded, so a multi-byte UTF-8 character
split across two TCP reads (a Chinese caller name) is never damaged. A frame
that cannot be parsed is reported with its byte offset and skipped; parsing
carries on with the next frame.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from callcenter.ami.message import Message

log = logging.getLogger(__name__)

_TERMINATOR = b"\r\n\r\n"
_BANNER_PREFIX = b"Asterisk Call Manager/"
# A frame larger than this without a terminator means we are not talking to AMI.
MAX_FRAME_BYTES = 1 << 20


@dataclass(frozen=True)
class FrameError:
    offset: int
    reason: str
    excerpt: bytes
    unit: str = "byte"  # "item" for JSON transcripts

    def describe(self) -> str:
        where = f"{self.unit} {self.offset}"
        return f"malformed AMI frame at {where}: {self.reason} ({self.excerpt[:60]!r})"


def _log_error(error: FrameError) -> None:
    log.warning("%s; skipped", error.describe())


class FrameParser:
    """Incremental parser; `feed()` returns the messages completed by the data."""

    __slots__ = ("_buffer", "_on_error", "_pending_banner", "banner", "errors", "offset")

    def __init__(self, on_error: Callable[[FrameError], None] = _log_error) -> None:
        self._buffer = b""
        self._on_error = on_error
        self._pending_banner = True
        self.banner: str | None = None
        self.errors = 0
        # Absolute stream offset of the first byte in the buffer.
        self.offset = 0

    def feed(self, data: bytes) -> list[Message]:
        buffer = self._buffer + data if self._buffer else data
        start = 0
        if self._pending_banner:
            if len(buffer) < len(_BANNER_PREFIX) and _BANNER_PREFIX.startswith(buffer):
                self._buffer = buffer
                return []
            self._pending_banner = False
            if buffer.startswith(_BANNER_PREFIX):
                end = buffer.find(b"\r\n")
                if end < 0:
                    self._pending_banner = True
                    self._buffer = buffer
                    return []
                self.banner = buffer[len(_BANNER_PREFIX) : end].decode("ascii", "replace")
                start = end + 2
        messages: list[Message] = []
        append = messages.append
        parse = self._parse
        parts = buffer[start:].split(_TERMINATOR) if start else buffer.split(_TERMINATOR)
        rest = parts.pop()
        offset = self.offset + start
        for part in parts:
            if part:
                if part[:2] == b"\r\n":
                    # Blank lines between frames are padding, not frames.
                    stripped_part = part.lstrip(b"\r\n")
                    skip = len(part) - len(stripped_part)
                    if stripped_part:
                        message = parse(stripped_part, offset + skip)
                        if message is not None:
                            append(message)
                else:
                    message = parse(part, offset)
                    if message is not None:
                        append(message)
            offset += len(part) + 4
        stripped = rest.lstrip(b"\r\n")
        self.offset = offset + (len(rest) - len(stripped))
        if len(stripped) > MAX_FRAME_BYTES:
            error = FrameError(self.offset, "frame exceeds 1 MiB with no terminator", stripped)
            self._report(error)
            self.offset += len(stripped)
            stripped = b""
        self._buffer = stripped
        return messages

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete frame still buffered (a connection dropped mid-frame)."""
        return len(self._buffer)

    def take_partial(self) -> FrameError | None:
        """Drop an incomplete trailing frame (at end of stream), describing what was lost."""
        if not self._buffer:
            return None
        error = FrameError(self.offset, "stream ended inside a frame", self._buffer)
        self.offset += len(self._buffer)
        self._buffer = b""
        self._report(error)
        return error

    def _report(self, error: FrameError) -> None:
        self.errors += 1
        self._on_error(error)

    def _parse(self, raw: bytes, offset: int) -> Message | None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._report(FrameError(offset, f"invalid UTF-8 at byte {exc.start} of frame", raw))
            text = raw.decode("utf-8", "replace")
        lines = text.split("\r\n")
        try:
            # Fast path: every line is "Key: value" and no key repeats.
            fast = dict([line.split(": ", 1) for line in lines])
        except ValueError:
            pass
        else:
            if len(fast) == len(lines) and "" not in fast:
                return Message(fast, None, offset)
        pairs: list[tuple[str, str]] = []
        for line in lines:
            key, sep, value = line.partition(":")
            if not sep or not key or " " in key:
                if not line.strip():
                    continue
                self._report(FrameError(offset, f"line without 'Key: value': {line[:40]!r}", raw))
                return None
            pairs.append((key, value[1:] if value.startswith(" ") else value))
        return Message.from_pairs(pairs, offset) if pairs else None


def split_baseline(data: bytes) -> int:
    """The raw parse-only baseline for benchmarks: split frames and lines, nothing else."""
    count = 0
    for frame in data.split(_TERMINATOR):
        if frame:
            dict(
                line.split(": ", 1) for line in frame.decode("utf-8").split("\r\n") if ": " in line
            )
            count += 1
    return count
