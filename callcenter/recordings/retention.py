"""Which recordings the retention period deletes (pure).

A recording older than the retention period goes, except while its call is
sampled and its evaluation not locked: an inspector may still need to
listen, and a disputed score needs the evidence. The call record, its
segments and the catalogue row stay; only the file goes (marked deleted).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from callcenter.recordings.recording import Recording

DAY = 86400.0


@dataclass(frozen=True)
class PurgePlan:
    delete: list[Recording] = field(default_factory=list)
    held: list[Recording] = field(default_factory=list)  # expired, but under evaluation


def purge_plan(
    recordings: Sequence[Recording],
    now: float,
    retention_days: int,
    held_linkedids: Collection[str],
) -> PurgePlan:
    """`retention_days` 0 keeps everything forever."""
    plan = PurgePlan()
    if retention_days <= 0:
        return plan
    cutoff = now - retention_days * DAY
    for recording in recordings:
        if recording.deleted or recording.created_at >= cutoff:
            continue
        (plan.held if recording.linkedid in held_linkedids else plan.delete).append(recording)
    return plan
