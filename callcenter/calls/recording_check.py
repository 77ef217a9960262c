"""Recordings and call records must point at each other (FreePBX/Issabel lose this link).

Reports recording files that belong to no call, calls answered with no
recording, and segments whose file is gone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.calls.record import CallRecord, RecordingSegment
from callcenter.calls.store import CallRepository

AUDIO_SUFFIXES = frozenset({".wav", ".WAV", ".gsm", ".ulaw", ".alaw", ".sln", ".mp3"})


@dataclass(frozen=True)
class RecordingReport:
    files_without_call: list[str] = field(default_factory=list)
    answered_without_recording: list[str] = field(default_factory=list)
    segments_without_file: list[str] = field(default_factory=list)
    files_seen: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.files_without_call or self.answered_without_recording or self.segments_without_file
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files_seen": self.files_seen,
            "files_without_call": self.files_without_call,
            "answered_without_recording": self.answered_without_recording,
            "segments_without_file": self.segments_without_file,
        }

    def describe(self) -> str:
        lines = [f"{self.files_seen} recording files checked"]
        for title, items in (
            ("recordings with no call", self.files_without_call),
            ("answered calls with no recording", self.answered_without_recording),
            ("recording segments whose file is missing", self.segments_without_file),
        ):
            lines.append(f"{title}: {len(items)}")
            lines.extend(f"  {item}" for item in items[:50])
            if len(items) > 50:
                lines.append(f"  ... and {len(items) - 50} more")
        return "\n".join(lines)


def compare_recordings(
    files_on_disk: Iterable[str],
    segments: Iterable[RecordingSegment],
    call_ids: Iterable[str],
    answered_without_recording: Iterable[CallRecord],
    purged: Iterable[str] = (),
) -> RecordingReport:
    """Pure comparison; paths are relative to the recordings directory.

    `purged`: files the retention period deleted on purpose (not missing).
    """
    files = set(files_on_disk)
    deleted = set(purged)
    calls = set(call_ids)
    by_path = {s.path: s for s in segments}
    without_call = sorted(
        path for path in files if path not in by_path or by_path[path].linkedid not in calls
    )
    missing = sorted(
        path
        for path, seg in by_path.items()
        if path not in files and path not in deleted and seg.linkedid in calls
    )
    return RecordingReport(
        files_without_call=without_call,
        answered_without_recording=sorted(r.linkedid for r in answered_without_recording),
        segments_without_file=missing,
        files_seen=len(files),
    )


def scan_recordings(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.suffix in AUDIO_SUFFIXES and p.is_file()
    )


async def check_recordings(
    session_factory: async_sessionmaker[AsyncSession],
    recordings_dir: Path,
    purged_paths: Callable[[], Awaitable[Iterable[str]]] | None = None,
) -> RecordingReport:
    """The call log against the recordings directory.

    `purged_paths`: the files retention deleted, asked of the recordings
    feature (its catalogue knows them) after the call log is read.
    """
    repository = CallRepository(session_factory)
    segments = await repository.all_segments()
    call_ids = await repository.linkedids()
    answered = await repository.answered_calls_without_recording()
    purged = await purged_paths() if purged_paths is not None else ()
    return compare_recordings(scan_recordings(recordings_dir), segments, call_ids, answered, purged)
