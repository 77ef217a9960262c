"""The agent panel's reads and writes: contacts, a caller's history and open cases,
the callbacks an agent owns.

Contacts are keyed by the normalised number (`callcenter.callbacks.numbers`),
so "138 0013-8000" typed in the wrap-up form and the caller ID "13800138000"
are one customer. The call log keeps numbers as the caller ID gave them, so
history lookups match both spellings; an outbound call (callback,
click-to-call) is found by the number it dialled.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.agents.tables import CaseRow, WrapUpRow
from callcenter.callbacks.numbers import CallbackError, normalize_number
from callcenter.callbacks.requests import OPEN_STATUSES, Callback
from callcenter.callbacks.rows import callback_from_row
from callcenter.callbacks.tables import CallbackRow
from callcenter.calls.scope import CallFilter
from callcenter.calls.tables import CallRow
from callcenter.kernel.clock import to_epoch
from callcenter.kernel.db import upsert
from callcenter.panel.pop import Contact, HistoryItem, OpenCase
from callcenter.panel.tables import ContactRow

CALLER_ID = "caller-id"
AGENT = "agent"
CLOSED = "closed"
OUTBOUND = "outbound"


def contact_key(number: str) -> str | None:
    """The normalised number, or None for what is no number (anonymous, a SIP name)."""
    try:
        return normalize_number(number)
    except CallbackError:
        return None


def _spellings(number: str) -> list[str]:
    key = contact_key(number)
    if key is None:
        # A caller ID that is no number (anonymous, withheld) names no customer: matching
        # it would give every anonymous caller one shared history and the same cases.
        return []
    return sorted({number, key})


def _contact(row: ContactRow) -> Contact:
    return Contact(
        number=row.number,
        name=row.name,
        notes=row.notes,
        member=row.member,
        name_source=row.name_source,
    )


class PanelRepository:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    # -- contacts ------------------------------------------------------------------------

    async def contact(self, number: str) -> Contact | None:
        key = contact_key(number)
        if key is None:
            return None
        async with self._sessions() as session:
            row = await session.scalar(sa.select(ContactRow).where(ContactRow.number == key))
        return _contact(row) if row is not None else None

    async def note_caller_id(self, number: str, name: str | None, at: float) -> Contact | None:
        """A number reached an agent: keep it as a contact, with the caller ID's name when
        the contact has none yet (a name an agent typed is never overwritten)."""
        key = contact_key(number)
        if key is None:
            return None
        now = datetime.fromtimestamp(at, UTC)
        async with self._sessions() as session, session.begin():
            insert = upsert(session.get_bind().dialect.name, ContactRow.__table__)  # type: ignore[arg-type]
            await session.execute(
                insert.values(
                    number=key,
                    name=name,
                    name_source=CALLER_ID if name else None,
                    notes="",
                    member=False,
                    created_at=now,
                    updated_at=now,
                    updated_by=None,
                ).on_conflict_do_nothing(index_elements=["number"])
            )
            if name:
                await session.execute(
                    sa.update(ContactRow)
                    .where(ContactRow.number == key, ContactRow.name.is_(None))
                    .values(name=name, name_source=CALLER_ID, updated_at=now)
                )
            row = await session.scalar(sa.select(ContactRow).where(ContactRow.number == key))
        return _contact(row) if row is not None else None

    async def save_contact(
        self,
        number: str,
        *,
        name: str | None,
        notes: str | None,
        member: bool | None,
        by: str,
        at: float,
    ) -> Contact:
        """An agent's correction: the fields given replace the stored ones."""
        key = normalize_number(number)  # CallbackError "invalid-number" for the API
        now = datetime.fromtimestamp(at, UTC)
        values: dict[str, object] = {"updated_at": now, "updated_by": by}
        if name is not None:
            values.update(name=name or None, name_source=AGENT if name else None)
        if notes is not None:
            values["notes"] = notes
        if member is not None:
            values["member"] = member
        async with self._sessions() as session, session.begin():
            insert = upsert(session.get_bind().dialect.name, ContactRow.__table__)  # type: ignore[arg-type]
            stmt = insert.values(
                number=key,
                name=name or None,
                name_source=AGENT if name else None,
                notes=notes or "",
                member=bool(member),
                created_at=now,
                updated_at=now,
                updated_by=by,
            )
            await session.execute(
                stmt.on_conflict_do_update(index_elements=["number"], set_=values)
            )
            row = await session.scalar(sa.select(ContactRow).where(ContactRow.number == key))
        assert row is not None
        return _contact(row)

    async def number_seen(self, number: str, where: CallFilter) -> bool:
        """Whether a call from (or, outbound, to) this number passes `where`: an agent's
        row rule for contacts is the numbers of the calls it handled."""
        spellings = _spellings(number)
        if not spellings:
            return False
        stmt = (
            sa.select(CallRow.linkedid)
            .where(
                sa.or_(
                    CallRow.caller_number.in_(spellings),
                    sa.and_(CallRow.direction == OUTBOUND, CallRow.dialled_number.in_(spellings)),
                ),
                where(CallRow.__table__.c.linkedid),
            )
            .limit(1)
        )
        async with self._sessions() as session:
            return (await session.scalar(stmt)) is not None

    # -- the caller's past ---------------------------------------------------------------

    async def history(self, number: str, limit: int = 20) -> list[HistoryItem]:
        """Calls from (or, outbound, to) this number, most recent first, with wrap-ups."""
        spellings = _spellings(number)
        if not spellings:
            return []
        stmt = (
            sa.select(
                CallRow.linkedid,
                CallRow.arrived_at,
                CallRow.ended_at,
                CallRow.direction,
                CallRow.outcome,
                CallRow.agent,
                CallRow.agent_name,
                WrapUpRow.staff_no,
                WrapUpRow.category,
                WrapUpRow.subcategory,
                WrapUpRow.notes,
                WrapUpRow.resolved,
            )
            .outerjoin(WrapUpRow, WrapUpRow.linkedid == CallRow.linkedid)
            .where(
                sa.or_(
                    CallRow.caller_number.in_(spellings),
                    sa.and_(CallRow.direction == OUTBOUND, CallRow.dialled_number.in_(spellings)),
                )
            )
            .order_by(CallRow.arrived_at.desc().nulls_last(), CallRow.id.desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(stmt)).all()
        return [
            HistoryItem(
                linkedid=r.linkedid,
                at=to_epoch(r.arrived_at) or to_epoch(r.ended_at) or 0.0,
                direction=r.direction,
                outcome=r.outcome,
                agent=r.staff_no or r.agent_name or r.agent,
                category=r.category,
                subcategory=r.subcategory,
                notes=r.notes,
                resolved=r.resolved,
            )
            for r in rows
        ]

    async def open_cases(self, number: str) -> list[OpenCase]:
        """Cases of this number not closed yet (open, or resolved awaiting the follow-up)."""
        spellings = _spellings(number)
        if not spellings:
            return []
        stmt = (
            sa.select(CaseRow)
            .where(CaseRow.caller_number.in_(spellings), CaseRow.status != CLOSED)
            .order_by(CaseRow.opened_at)
        )
        async with self._sessions() as session:
            rows = (await session.scalars(stmt)).all()
        return [
            OpenCase(
                id=r.id,
                kind=r.kind,
                owner=r.owner,
                status=r.status,
                opened_at=r.opened_at.timestamp(),
                reply_due_at=to_epoch(r.reply_due_at),
                summary=r.summary,
            )
            for r in rows
        ]

    async def call_party(self, linkedid: str) -> tuple[str | None, str | None, str | None] | None:
        """(caller number, caller ID name, queue) of a finished call, for a pop rebuilt
        after a page reload."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    sa.select(CallRow.caller_number, CallRow.caller_name, CallRow.queue).where(
                        CallRow.linkedid == linkedid
                    )
                )
            ).one_or_none()
        return None if row is None else (row.caller_number, row.caller_name, row.queue)

    # -- callbacks ------------------------------------------------------------------------

    async def callbacks_for(self, staff_no: str) -> list[Callback]:
        """Open callbacks the agent owns: for a case they own (首問負責制: reply, progress
        call, follow-up), or following a call they wrapped up."""
        stmt = (
            sa.select(CallbackRow)
            .outerjoin(CaseRow, CaseRow.id == CallbackRow.case_id)
            .outerjoin(WrapUpRow, WrapUpRow.linkedid == CallbackRow.linkedid)
            .where(
                CallbackRow.status.in_([s.value for s in OPEN_STATUSES]),
                sa.or_(CaseRow.owner == staff_no, WrapUpRow.staff_no == staff_no),
            )
            .order_by(CallbackRow.due_at, CallbackRow.id)
        )
        async with self._sessions() as session:
            return [callback_from_row(r) for r in (await session.scalars(stmt)).unique().all()]
