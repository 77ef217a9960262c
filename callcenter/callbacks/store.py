"""The callback queue in the database: request (merging), claim, attempts, cancel, reschedule.

The decisions are pure (`callcenter.callbacks.requests`); this
module makes them safe under concurrency:

- one open callback per number and purpose is a partial unique index, so two
  requests racing (two backend instances) end in one row: the loser merges;
- `claim` locks due rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two
  instances never dial the same callback; SQLite (single instance by design)
  serialises writers anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.callbacks.numbers import CallbackError, normalize_number
from callcenter.callbacks.outcomes import Outcome
from callcenter.callbacks.requests import (
    OPEN_STATUSES,
    Callback,
    Purpose,
    SchedulerSettings,
    Status,
    after_attempt,
    next_due,
    request,
)
from callcenter.callbacks.rows import callback_from_row
from callcenter.callbacks.tables import CallbackAttemptRow, CallbackRow
from callcenter.calls.tables import CallRow
from callcenter.kernel.clock import to_datetime

CLAIM_WINDOW = 50  # due rows looked at per claim (the pure ordering picks among them)


class CallbackRepository:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    async def request(
        self,
        number: str,
        purpose: Purpose | str,
        now: float,
        settings: SchedulerSettings,
        **details: Any,
    ) -> tuple[Callback, bool]:
        """Store a callback request, merged into the open one for the same number and purpose."""
        normalized = normalize_number(number)
        for _ in range(3):  # a concurrent insert of the same callback: merge into it
            try:
                return await self._request_once(normalized, purpose, now, settings, details)
            except IntegrityError:
                continue
        raise CallbackError("callback-conflict", f"could not store a callback for {number}")

    async def _request_once(
        self,
        number: str,
        purpose: Purpose | str,
        now: float,
        settings: SchedulerSettings,
        details: dict[str, Any],
    ) -> tuple[Callback, bool]:
        async with self._sessions() as session, session.begin():
            stmt = sa.select(CallbackRow).where(
                CallbackRow.number == number,
                CallbackRow.purpose == str(Purpose(purpose)),
                CallbackRow.status.in_([s.value for s in OPEN_STATUSES]),
            )
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update()
            rows = (await session.scalars(stmt)).all()
            callback, merged = request(
                [callback_from_row(r) for r in rows], number, purpose, now, settings, **details
            )
            if merged and callback.id is not None:
                await session.execute(
                    sa.update(CallbackRow)
                    .where(CallbackRow.id == callback.id)
                    .values(**_columns(callback))
                )
                return callback, True
            row = CallbackRow(**_columns(callback))
            session.add(row)
            await session.flush()
            return callback_from_row(row), False

    async def claim(
        self, now: float, settings: SchedulerSettings, instance: str, limit: int = 1
    ) -> list[Callback]:
        """Take up to `limit` due callbacks for dialling (status `dialling`, claimed by us)."""
        async with self._sessions() as session, session.begin():
            stmt = (
                sa.select(CallbackRow)
                .where(
                    CallbackRow.status == Status.PENDING.value,
                    CallbackRow.due_at <= to_datetime(now),
                )
                .order_by(CallbackRow.due_at)
                .limit(CLAIM_WINDOW)
            )
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            rows = {r.id: r for r in (await session.scalars(stmt)).all()}
            chosen = next_due([callback_from_row(r) for r in rows.values()], now, settings)[:limit]
            claimed: list[Callback] = []
            for cb in chosen:
                assert cb.id is not None
                row = rows[cb.id]
                row.status = Status.DIALLING.value
                row.claimed_by = instance
                row.claimed_at = to_datetime(now)
                claimed.append(callback_from_row(row))
            return claimed

    async def record_attempt(
        self,
        callback_id: int,
        outcome: Outcome,
        now: float,
        settings: SchedulerSettings,
        *,
        reason: str | None = None,
        linkedid: str | None = None,
    ) -> Callback:
        async with self._sessions() as session, session.begin():
            row = await session.get(CallbackRow, callback_id, with_for_update=True)
            if row is None:
                raise CallbackError("callback-not-found", f"no callback {callback_id}")
            updated = after_attempt(callback_from_row(row), outcome, now, settings)
            for name, value in _columns(updated).items():
                setattr(row, name, value)
            row.claimed_by = None
            row.claimed_at = None
            session.add(
                CallbackAttemptRow(
                    callback_id=callback_id,
                    at=to_datetime(now),
                    outcome=outcome.value,
                    reason=reason,
                    linkedid=linkedid,
                )
            )
            return updated

    async def release(self, callback_id: int) -> None:
        """A claim that did not reach the customer: back to pending, the turn kept."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                sa.update(CallbackRow)
                .where(CallbackRow.id == callback_id, CallbackRow.status == Status.DIALLING.value)
                .values(status=Status.PENDING.value, claimed_by=None, claimed_at=None)
            )

    async def counts(self, now: float) -> tuple[int, int]:
        """(open callbacks, open callbacks past their deadline)."""
        open_ = CallbackRow.status.in_([s.value for s in OPEN_STATUSES])
        late = sa.and_(open_, CallbackRow.deadline < to_datetime(now))
        async with self._sessions() as session:
            row = (
                await session.execute(
                    sa.select(
                        sa.func.count().filter(open_), sa.func.count().filter(late)
                    ).select_from(CallbackRow)
                )
            ).one()
        return int(row[0]), int(row[1])

    async def known_call(self, linkedid: str) -> bool:
        """Whether a callback (any status) was ever requested for this call, merged included."""
        notes = sa.cast(CallbackRow.notes, sa.Text)
        async with self._sessions() as session:
            found = await session.scalar(
                sa.select(CallbackRow.id)
                .where(
                    sa.or_(
                        CallbackRow.linkedid == linkedid,
                        # A merge note ends at the linkedid or goes on with " case=":
                        # "...linkedid=1.12" must not be taken for call "1.1".
                        notes.like(f'%linkedid={linkedid}"%'),
                        notes.like(f"%linkedid={linkedid} %"),
                    )
                )
                .limit(1)
            )
        return found is not None

    async def claimed_by(self, instance: str) -> list[Callback]:
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    sa.select(CallbackRow).where(
                        CallbackRow.status == Status.DIALLING.value,
                        CallbackRow.claimed_by == instance,
                    )
                )
            ).all()
        return [callback_from_row(r) for r in rows]

    async def call_for(self, callback_id: int) -> tuple[str, str] | None:
        """(linkedid, outcome) of the call log's record of a dial of this callback, if any."""
        tag = f'%"callback {callback_id}"%'
        async with self._sessions() as session:
            row = (
                await session.execute(
                    sa.select(CallRow.linkedid, CallRow.outcome)
                    .where(sa.cast(CallRow.notes, sa.Text).like(tag))
                    .order_by(CallRow.id.desc())
                    .limit(1)
                )
            ).first()
        return None if row is None else (row[0], row[1])

    async def cancel(self, callback_id: int) -> Callback:
        return await self._change(callback_id, status=Status.CANCELLED.value)

    async def reschedule(
        self, callback_id: int, due_at: float, settings: SchedulerSettings
    ) -> Callback:
        async with self._sessions() as session:
            row = await session.get(CallbackRow, callback_id)
            zone = (row.timezone if row is not None else None) or settings.timezone
        allowed = settings.quiet_hours.next_allowed(due_at, zone)
        return await self._change(callback_id, due_at=to_datetime(allowed))

    async def _change(self, callback_id: int, **values: Any) -> Callback:
        async with self._sessions() as session, session.begin():
            row = await session.get(CallbackRow, callback_id, with_for_update=True)
            if row is None:
                raise CallbackError("callback-not-found", f"no callback {callback_id}")
            if row.status not in (Status.PENDING.value,):
                raise CallbackError(
                    "callback-not-pending",
                    f"callback {callback_id} is {row.status}; only pending callbacks change",
                )
            for name, value in values.items():
                setattr(row, name, value)
            await session.flush()
            return callback_from_row(row)

    async def list_callbacks(self, statuses: Sequence[Status] | None = None) -> list[Callback]:
        stmt = sa.select(CallbackRow).order_by(CallbackRow.due_at, CallbackRow.id)
        if statuses:
            stmt = stmt.where(CallbackRow.status.in_([s.value for s in statuses]))
        async with self._sessions() as session:
            return [callback_from_row(r) for r in (await session.scalars(stmt)).all()]

    async def overdue(self, now: float) -> list[Callback]:
        """Open callbacks past their deadline (for supervisors)."""
        stmt = (
            sa.select(CallbackRow)
            .where(
                CallbackRow.status.in_([s.value for s in OPEN_STATUSES]),
                CallbackRow.deadline.is_not(None),
                CallbackRow.deadline < to_datetime(now),
            )
            .order_by(CallbackRow.deadline)
        )
        async with self._sessions() as session:
            return [callback_from_row(r) for r in (await session.scalars(stmt)).all()]

    async def attempts(self, callback_id: int) -> list[tuple[float, Outcome]]:
        stmt = (
            sa.select(CallbackAttemptRow)
            .where(CallbackAttemptRow.callback_id == callback_id)
            .order_by(CallbackAttemptRow.id)
        )
        async with self._sessions() as session:
            rows = (await session.scalars(stmt)).all()
        return [(r.at.timestamp(), Outcome(r.outcome)) for r in rows]


def _columns(cb: Callback) -> dict[str, Any]:
    return {
        "number": cb.number,
        "purpose": cb.purpose.value,
        "priority": cb.priority,
        "due_at": to_datetime(cb.due_at),
        "deadline": to_datetime(cb.deadline),
        "status": cb.status.value,
        "attempts": cb.attempts,
        "max_attempts": cb.max_attempts,
        "retry_spacing": cb.retry_spacing,
        "timezone": cb.timezone,
        "case_id": cb.case_id,
        "linkedid": cb.linkedid,
        "requested_at": to_datetime(cb.requested_at),
        "notes": list(cb.notes),
        "last_outcome": cb.last_outcome.value if cb.last_outcome is not None else None,
    }
