"""Retention: delete recording files past their time, keep the call and mark the row.

Run by the app's housekeeping task and by `callcenter recordings purge`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callcenter.recordings.recording import Recording
from callcenter.recordings.retention import DAY, purge_plan
from callcenter.recordings.store import RecordingRepository

log = logging.getLogger(__name__)

REASON = "retention"


@dataclass
class PurgeResult:
    dry_run: bool
    retention_days: int
    deleted: list[Recording] = field(default_factory=list)
    held: list[Recording] = field(default_factory=list)
    already_gone: list[str] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return sum(r.size_bytes for r in self.deleted)

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "retention_days": self.retention_days,
            "deleted": [r.path for r in self.deleted],
            "held": [r.path for r in self.held],
            "already_gone": self.already_gone,
            "bytes_freed": self.bytes_freed,
        }

    def describe(self) -> str:
        if self.retention_days <= 0:
            return "retention is 0 (keep forever): nothing deleted"
        verb = "would delete" if self.dry_run else "deleted"
        lines = [
            f"{verb} {len(self.deleted)} recordings ({self.bytes_freed / 1e6:.1f} MB) older than"
            f" {self.retention_days} days",
            f"kept {len(self.held)} expired recordings of sampled calls whose evaluation is"
            " not locked",
        ]
        lines.extend(f"  {verb}: {r.path}" for r in self.deleted[:50])
        if self.already_gone:
            lines.append(f"{len(self.already_gone)} files were already gone (marked deleted)")
        return "\n".join(lines)


def _unlink(root: Path, relative: str) -> bool:
    """Delete one file and its directory when it is left empty; False if it was gone."""
    path = root / relative
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    with contextlib.suppress(OSError):
        path.parent.rmdir()  # only succeeds when empty
    return True


async def purge_recordings(
    repository: RecordingRepository,
    held_linkedids: Callable[[], Awaitable[Collection[str]]],
    root: Path,
    *,
    retention_days: int,
    now: float,
    dry_run: bool = False,
) -> PurgeResult:
    result = PurgeResult(dry_run=dry_run, retention_days=retention_days)
    if retention_days <= 0:
        return result
    expired = await repository.older_than(now - retention_days * DAY)
    if not expired:
        return result
    plan = purge_plan(expired, now, retention_days, await held_linkedids())
    result.held = plan.held
    result.deleted = plan.delete
    if dry_run or not plan.delete:
        return result
    done: list[int] = []
    for recording in plan.delete:
        try:
            existed = await asyncio.to_thread(_unlink, root, recording.path)
        except OSError as exc:
            log.warning("recording %s not deleted: %s", recording.path, exc)
            continue
        if not existed:
            result.already_gone.append(recording.path)
        if recording.id is not None:
            done.append(recording.id)
    await repository.mark_deleted(done, now, REASON)
    result.deleted = [r for r in plan.delete if r.id in set(done)]
    if result.deleted:
        log.info("retention: %d recordings deleted", len(result.deleted))
    return result
