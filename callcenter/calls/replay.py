"""Offline replay: transcripts through the same parser and tracker the live service uses."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from callcenter.ami.frame import FrameError
from callcenter.ami.transcript import read_messages
from callcenter.calls.record import CallRecord
from callcenter.calls.tracker import CallTracker


@dataclass
class ReplayReport:
    events: int = 0
    errors: list[tuple[Path, FrameError]] = field(default_factory=list)
    open_calls: list[str] = field(default_factory=list)


def replay(
    paths: Iterable[Path], tracker: CallTracker, report: ReplayReport
) -> Iterator[CallRecord]:
    """Records in the order their calls finish; files are one stream, in the order given.

    Raises TranscriptError for a file that cannot be read at all; malformed
    frames are collected in `report.errors` and skipped.
    """
    for path in paths:

        def on_error(error: FrameError, path: Path = path) -> None:
            report.errors.append((path, error))

        for message in read_messages(path, on_error):
            report.events += 1
            yield from tracker.feed(message)
    yield from tracker.drain()
    report.open_calls = tracker.open_linkedids()
