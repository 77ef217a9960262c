"""The callback row as a `Callback`: public, so that another feature's store that selects
callback rows (joined with its own tables, read-only) reads them the way this feature does."""

from __future__ import annotations

from callcenter.callbacks.outcomes import Outcome
from callcenter.callbacks.requests import Callback, Purpose, Status
from callcenter.callbacks.tables import CallbackRow
from callcenter.kernel.clock import to_epoch


def callback_from_row(row: CallbackRow) -> Callback:
    return Callback(
        id=row.id,
        number=row.number,
        purpose=Purpose(row.purpose),
        priority=row.priority,
        due_at=row.due_at.timestamp(),
        deadline=to_epoch(row.deadline),
        status=Status(row.status),
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        retry_spacing=row.retry_spacing,
        timezone=row.timezone,
        case_id=row.case_id,
        linkedid=row.linkedid,
        requested_at=row.requested_at.timestamp(),
        notes=tuple(row.notes),
        last_outcome=Outcome(row.last_outcome) if row.last_outcome else None,
    )
