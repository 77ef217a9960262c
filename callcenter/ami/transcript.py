"""AMI transcripts: raw wire captures and JSON event lists, read back as messages.

A raw capture is the bytes exactly as Asterisk sent them (banner, responses
and events mixed); a JSON transcript is a list of objects, one per event, the
shape other AMI tools dump (a repeated header is a list of strings).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from callcenter.ami.frame import FrameError, FrameParser
from callcenter.ami.message import Message

ErrorSink = Callable[[FrameError], None]
_CHUNK = 1 << 16


class TranscriptError(ValueError):
    error_id = "transcript-unreadable"


def _is_json(head: bytes) -> bool:
    return head.lstrip()[:1] in (b"[", b"{")


def read_messages(path: Path, on_error: ErrorSink) -> Iterator[Message]:
    """Every message in a transcript file; malformed frames go to `on_error`."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise TranscriptError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        head = handle.read(64)
        handle.seek(0)
        if _is_json(head):
            yield from _read_json(handle, path, on_error)
        else:
            yield from _read_wire(handle, on_error)


def _read_wire(handle: BinaryIO, on_error: ErrorSink) -> Iterator[Message]:
    parser = FrameParser(on_error=on_error)
    lf_only: bool | None = None
    while True:
        chunk = handle.read(_CHUNK)
        if not chunk:
            break
        if lf_only is None:
            # Transcripts pasted into bug reports often lose their \r.
            lf_only = b"\r\n" not in chunk and b"\n" in chunk
        if lf_only:
            chunk = chunk.replace(b"\n", b"\r\n")
        yield from parser.feed(chunk)
    parser.take_partial()


def _read_json(handle: BinaryIO, path: Path, on_error: ErrorSink) -> Iterator[Message]:
    try:
        data = json.load(handle)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"{path} is not valid JSON: {exc}") from None
    if isinstance(data, dict):
        data = data.get("events", [data])
    if not isinstance(data, list):
        raise TranscriptError(f"{path}: expected a JSON list of event objects")
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            on_error(
                FrameError(index, "JSON item is not an object", repr(item)[:60].encode(), "item")
            )
            continue
        pairs: list[tuple[str, str]] = []
        for key, value in item.items():
            values = value if isinstance(value, list) else [value]
            for one in values:
                pairs.append((str(key), "" if one is None else str(one)))
        message = Message.from_pairs(pairs, offset=index)
        if not message.headers.get("Event") and not message.headers.get("Response"):
            on_error(FrameError(index, "JSON item has neither Event nor Response", b"", "item"))
            continue
        yield message


class WireRecorder:
    """A raw sink for `AmiClient`: appends received bytes to a file, unchanged."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("ab")
        self.bytes_written = 0

    def __call__(self, data: bytes) -> None:
        self._file.write(data)
        self.bytes_written += len(data)

    def close(self) -> None:
        self._file.flush()
        self._file.close()
