"""Agents, their state log, wrap-ups, cases and callback requests.

The router keeps agent state in memory (decisions must not wait on the
database); every transition is written here with the agent's new state in one
transaction, so state survives a restart and the log is complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.agents.domain import Agent, AgentError, AgentState, AgentStatus, Case, Transition
from callcenter.agents.tables import (
    AgentRow,
    AgentStateLogRow,
    CallbackRequestRow,
    CaseRow,
    WrapUpRow,
)
from callcenter.kernel.clock import to_datetime, to_epoch
from callcenter.kernel.db import upsert

OPEN = "open"
CLOSED = "closed"


_epoch = to_epoch


@dataclass(frozen=True)
class WrapUp:
    linkedid: str
    staff_no: str
    category: str
    notes: str
    resolved: bool
    started_at: float | None
    submitted_at: float
    subcategory: str | None = None


@dataclass(frozen=True)
class CallbackRequest:
    id: int
    caller_number: str
    source: str
    linkedid: str | None
    message_path: str | None
    requested_at: float
    status: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class AgentRepository:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    # -- agents ------------------------------------------------------------------------

    async def list_agents(self) -> list[tuple[Agent, AgentStatus]]:
        async with self._sessions() as session:
            rows = (await session.scalars(sa.select(AgentRow).order_by(AgentRow.staff_no))).all()
        return [(_agent(r), _status(r)) for r in rows]

    async def add_agent(self, agent: Agent, status: AgentStatus) -> None:
        row = AgentRow(
            staff_no=agent.staff_no,
            name=agent.name,
            endpoint=agent.endpoint,
            skills=sorted(agent.skills),
            shift=agent.shift,
            **_status_columns(status),
        )
        try:
            async with self._sessions() as session, session.begin():
                session.add(row)
        except IntegrityError:
            raise AgentError(
                "agent-exists",
                f"an agent with staff number {agent.staff_no} or endpoint {agent.endpoint}"
                " already exists",
            ) from None

    async def set_endpoint(self, staff_no: str, endpoint: str) -> None:
        try:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    sa.update(AgentRow)
                    .where(AgentRow.staff_no == staff_no)
                    .values(endpoint=endpoint)
                )
        except IntegrityError:
            raise AgentError(
                "endpoint-taken", f"endpoint {endpoint} already belongs to another agent"
            ) from None

    async def remove_agent(self, staff_no: str) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.execute(sa.delete(AgentRow).where(AgentRow.staff_no == staff_no))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def record(
        self, transitions: Sequence[Transition], statuses: dict[str, AgentStatus]
    ) -> None:
        """The transitions' log rows and the agents' current state, in one transaction."""
        if not transitions and not statuses:
            return
        async with self._sessions() as session, session.begin():
            for staff_no, status in statuses.items():
                await session.execute(
                    sa.update(AgentRow)
                    .where(AgentRow.staff_no == staff_no)
                    .values(**_status_columns(status))
                )
            if transitions:
                await session.execute(
                    sa.insert(AgentStateLogRow),
                    [
                        {
                            "staff_no": t.staff_no,
                            "at": to_datetime(t.at),
                            "old_state": t.old.value,
                            "new_state": t.new.value,
                            "reason": t.reason,
                            "linkedid": t.call,
                        }
                        for t in transitions
                    ],
                )

    async def state_log(self, staff_no: str | None = None, limit: int = 200) -> list[Transition]:
        stmt = sa.select(AgentStateLogRow).order_by(AgentStateLogRow.id.desc()).limit(limit)
        if staff_no is not None:
            stmt = stmt.where(AgentStateLogRow.staff_no == staff_no)
        async with self._sessions() as session:
            rows = (await session.scalars(stmt)).all()
        return [
            Transition(
                staff_no=r.staff_no,
                at=r.at.timestamp(),
                old=AgentState(r.old_state),
                new=AgentState(r.new_state),
                reason=r.reason,
                call=r.linkedid,
            )
            for r in reversed(rows)
        ]

    # -- wrap-up and cases ----------------------------------------------------------------

    async def save_wrap_up(self, wrap: WrapUp, case: tuple[str, float] | None) -> Case | None:
        """The wrap-up and, for a complaint, the case it opens (kind, reply deadline)."""
        async with self._sessions() as session, session.begin():
            exists = await session.scalar(
                sa.select(WrapUpRow.id).where(WrapUpRow.linkedid == wrap.linkedid)
            )
            if exists is not None:
                raise AgentError("wrap-up-exists", f"call {wrap.linkedid} already has a wrap-up")
            session.add(
                WrapUpRow(
                    linkedid=wrap.linkedid,
                    staff_no=wrap.staff_no,
                    category=wrap.category,
                    subcategory=wrap.subcategory,
                    notes=wrap.notes,
                    resolved=wrap.resolved,
                    started_at=to_datetime(wrap.started_at),
                    submitted_at=to_datetime(wrap.submitted_at),
                    wrap_seconds=(
                        None
                        if wrap.started_at is None
                        else round(wrap.submitted_at - wrap.started_at, 3)
                    ),
                )
            )
            if case is None:
                return None
            caller = await session.scalar(
                sa.text("SELECT caller_number FROM calls WHERE linkedid = :l"),
                {"l": wrap.linkedid},
            )
            kind, due = case
            row = CaseRow(
                kind=kind,
                caller_number=caller or "",
                owner=wrap.staff_no,
                linkedid=wrap.linkedid,
                summary=wrap.notes,
                status="resolved" if wrap.resolved else OPEN,
                opened_at=to_datetime(wrap.submitted_at),
                reply_due_at=to_datetime(due),
                closed_at=None,
            )
            session.add(row)
            await session.flush()
            return _case(row)

    async def open_case_owner(self, caller_number: str) -> str | None:
        """The owner of the caller's most recent open case, if any."""
        if not any(ch.isdigit() for ch in caller_number):
            # A caller ID with no digit (anonymous, withheld, a trunk's text) names no
            # customer: every anonymous caller would go to one case's owner.
            return None
        async with self._sessions() as session:
            return await session.scalar(
                sa.select(CaseRow.owner)
                .where(CaseRow.caller_number == caller_number, CaseRow.status == OPEN)
                .order_by(CaseRow.opened_at.desc())
                .limit(1)
            )

    async def open_case(
        self,
        kind: str,
        caller_number: str,
        owner: str,
        summary: str,
        opened_at: float,
        reply_due_at: float | None,
        linkedid: str | None = None,
    ) -> Case:
        async with self._sessions() as session, session.begin():
            row = CaseRow(
                kind=kind,
                caller_number=caller_number,
                owner=owner,
                linkedid=linkedid,
                summary=summary,
                status=OPEN,
                opened_at=to_datetime(opened_at),
                reply_due_at=to_datetime(reply_due_at),
                closed_at=None,
            )
            session.add(row)
            await session.flush()
            return _case(row)

    async def list_cases(self, status: str | None = None) -> list[Case]:
        stmt = sa.select(CaseRow).order_by(CaseRow.opened_at)
        if status is not None:
            stmt = stmt.where(CaseRow.status == status)
        async with self._sessions() as session:
            return [_case(r) for r in (await session.scalars(stmt)).all()]

    async def close_case(
        self,
        case_id: int,
        closed_at: float,
        note: str | None = None,
        *,
        session: AsyncSession | None = None,
    ) -> bool:
        """Close the case unless it is closed already; `note` is appended to its summary.
        False: no such case open. With `session`, in the caller's transaction (a survey
        answer and the case it closes are saved together or not at all)."""
        values: dict[str, Any] = {"status": CLOSED, "closed_at": to_datetime(closed_at)}
        if note is not None:
            values["summary"] = CaseRow.summary + f"\n{note}"
        close = (
            sa.update(CaseRow)
            .where(CaseRow.id == case_id, CaseRow.status != CLOSED)
            .values(**values)
        )
        if session is not None:
            return bool((await session.execute(close)).rowcount)  # type: ignore[attr-defined]
        async with self._sessions() as own, own.begin():
            result = await own.execute(close)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- callback requests ----------------------------------------------------------------

    async def add_callback_request(
        self,
        caller_number: str,
        source: str,
        linkedid: str | None,
        requested_at: float,
        message_path: str | None = None,
    ) -> None:
        """Idempotent per call: a retried request does not make a second callback."""
        async with self._sessions() as session, session.begin():
            insert = upsert(session.get_bind().dialect.name, CallbackRequestRow.__table__)  # type: ignore[arg-type]
            stmt = insert.values(
                caller_number=caller_number,
                source=source,
                linkedid=linkedid,
                message_path=message_path,
                requested_at=to_datetime(requested_at),
                status="pending",
            )
            if linkedid is not None:
                stmt = stmt.on_conflict_do_update(
                    index_elements=["linkedid"],
                    set_={
                        "message_path": sa.func.coalesce(
                            stmt.excluded.message_path, CallbackRequestRow.message_path
                        )
                    },
                )
            await session.execute(stmt)

    async def list_callback_requests(self) -> list[CallbackRequest]:
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    sa.select(CallbackRequestRow).order_by(CallbackRequestRow.requested_at)
                )
            ).all()
        return [
            CallbackRequest(
                id=r.id,
                caller_number=r.caller_number,
                source=r.source,
                linkedid=r.linkedid,
                message_path=r.message_path,
                requested_at=r.requested_at.timestamp(),
                status=r.status,
            )
            for r in rows
        ]


def handled_by(linkedid: sa.ColumnElement[str], staff_no: str) -> sa.ColumnElement[bool]:
    """An agent's own calls, as a condition on a call's `linkedid` (the call log filters
    with it): those they were connected to (their state log's `on_call` with the call's
    linkedid, which follows hot-desking) or whose wrap-up they filed. Not the call's
    `agent` column: it holds the endpoint, another namespace than staff numbers."""
    log = AgentStateLogRow.__table__
    wrapups = WrapUpRow.__table__
    return sa.or_(
        linkedid.in_(
            sa.select(log.c.linkedid).where(
                log.c.staff_no == staff_no, log.c.new_state == "on_call"
            )
        ),
        linkedid.in_(sa.select(wrapups.c.linkedid).where(wrapups.c.staff_no == staff_no)),
    )


def _agent(row: AgentRow) -> Agent:
    return Agent(
        staff_no=row.staff_no,
        name=row.name,
        endpoint=row.endpoint,
        skills=frozenset(row.skills),
        shift=row.shift,
    )


def _status(row: AgentRow) -> AgentStatus:
    return AgentStatus(
        state=AgentState(row.state),
        since=row.state_since.timestamp(),
        pause_reason=row.pause_reason,
        pending_pause=row.pending_pause,
        idle_since=_epoch(row.idle_since),
        missed_in_row=row.missed_in_row,
        call=row.call,
        wrap_up_until=_epoch(row.wrap_up_until),
        ring_until=_epoch(row.ring_until),
    )


def _status_columns(status: AgentStatus) -> dict[str, Any]:
    return {
        "state": status.state.value,
        "state_since": to_datetime(status.since),
        "pause_reason": status.pause_reason,
        "pending_pause": status.pending_pause,
        "idle_since": to_datetime(status.idle_since),
        "missed_in_row": status.missed_in_row,
        "call": status.call,
        "wrap_up_until": to_datetime(status.wrap_up_until),
        "ring_until": to_datetime(status.ring_until),
    }


def _case(row: CaseRow) -> Case:
    return Case(
        id=row.id,
        kind=row.kind,
        caller_number=row.caller_number,
        owner=row.owner,
        linkedid=row.linkedid,
        summary=row.summary,
        status=row.status,
        opened_at=row.opened_at.timestamp(),
        reply_due_at=_epoch(row.reply_due_at),
    )
