"""Reading and writing call records.

Writes are idempotent upserts keyed by linkedid (segments by (linkedid,
uniqueid, leg)), so the writer can retry a batch whose commit it never saw
acknowledged without creating duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.calls.record import CallRecord, Outcome, RecordingSegment
from callcenter.calls.rows import record_from_row, segment_from_row
from callcenter.calls.tables import calls_table, segments_table
from callcenter.kernel.clock import to_datetime
from callcenter.kernel.db import upsert

# Columns a later version of a call overwrites (everything but the keys and created_at).
_CALL_UPDATE_COLUMNS = tuple(
    c.name for c in calls_table.columns if c.name not in {"id", "linkedid", "created_at"}
)
_SEGMENT_UPDATE_COLUMNS = ("path", "started_at")


def _call_row(record: CallRecord) -> dict[str, Any]:
    return {
        "linkedid": record.linkedid,
        "direction": record.direction.value,
        "caller_number": record.caller_number,
        "caller_name": record.caller_name,
        "dialled_number": record.dialled_number,
        "queue": record.queue,
        "arrived_at": to_datetime(record.arrived_at),
        "answered_at": to_datetime(record.answered_at),
        "ended_at": to_datetime(record.ended_at),
        "answer_seconds": record.answer_seconds,
        "rings_to_answer": record.rings_to_answer,
        "answered_by": None if record.answered_by is None else record.answered_by.value,
        "agent": record.agent,
        "agent_name": record.agent_name,
        "hold_seconds": record.hold_seconds,
        "talk_seconds": record.talk_seconds,
        "hangup_first": None if record.hangup_first is None else record.hangup_first.value,
        "outcome": record.outcome.value,
        "hangup_cause": record.hangup_cause,
        "notes": list(record.notes),
        "wait_seconds": record.wait_seconds,
        "system_wait_seconds": record.system_wait_seconds,
    }


def _segment_row(segment: RecordingSegment) -> dict[str, Any]:
    return {
        "linkedid": segment.linkedid,
        "uniqueid": segment.uniqueid,
        "leg": segment.leg,
        "path": segment.path,
        "started_at": to_datetime(segment.started_at),
    }


# Recordings come back in the order they started; uniqueid, then leg, break ties.
_SEGMENT_ORDER = (
    segments_table.c.linkedid,
    segments_table.c.started_at.asc().nulls_last(),
    segments_table.c.uniqueid,
    segments_table.c.leg,
)


def _segment_rows(records: Iterable[CallRecord]) -> list[dict[str, Any]]:
    """One row per (linkedid, uniqueid, leg); the last record's segment wins."""
    return list({_segment_key(s): _segment_row(s) for r in records for s in r.recordings}.values())


def _segment_key(segment: RecordingSegment) -> tuple[str, str, str]:
    return (segment.linkedid, segment.uniqueid, segment.leg)


# Which calls a staff member handled, as a condition on a call's linkedid. The agents
# feature knows (its state log and wrap-ups) and sets it at its setup; without it an agent
# account owns no call.
HandledBy = Callable[[sa.ColumnElement[str], str], sa.ColumnElement[bool]]
# Which calls a reader may see, as a condition on a call's linkedid (calls.scope builds it).
CallFilter = Callable[[sa.ColumnElement[str]], sa.ColumnElement[bool]]


def _no_calls(linkedid: sa.ColumnElement[str], staff_no: str) -> sa.ColumnElement[bool]:
    return sa.false()


class CallRepository:
    """Call records in the database; one short session per method."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._handled_by: HandledBy = _no_calls

    def set_handled_by(self, rule: HandledBy) -> Callable[[], None]:
        """Say which calls are an agent's own (`list_calls(handled_by=)`, `handled`);
        returns the undo for the owner's teardown."""
        self._handled_by = rule

        def unset() -> None:
            if self._handled_by is rule:
                self._handled_by = _no_calls

        return unset

    def handled_condition(
        self, linkedid: sa.ColumnElement[str], staff_no: str
    ) -> sa.ColumnElement[bool]:
        """Whether the agent handled the call of `linkedid`: the rule `set_handled_by` gave."""
        return self._handled_by(linkedid, staff_no)

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        return self._session_factory

    async def upsert_calls(self, records: Sequence[CallRecord]) -> None:
        """Write a batch in one transaction; the last version of each linkedid wins.

        Segments are merged by (linkedid, uniqueid, leg): a segment missing from a
        later version is kept, because recordings on disk never disappear and
        others (the recordings check) may have written it.
        """
        if not records:
            return
        latest = {r.linkedid: r for r in records}
        # A call rebuilt from Asterisk's trail never replaces one the backend saw
        # live (nor its segments): it is written only where no row exists yet.
        live = [r for r in latest.values() if not r.reconstructed]
        rebuilt = [r for r in latest.values() if r.reconstructed]
        live_rows = [_call_row(r) for r in live]
        rebuilt_rows = [_call_row(r) for r in rebuilt]
        segment_rows = _segment_rows(live)
        rebuilt_segment_rows = _segment_rows(rebuilt)
        async with self._session_factory() as session, session.begin():
            dialect = session.get_bind().dialect.name
            call_insert = upsert(dialect, calls_table)
            if live_rows:
                call_stmt = call_insert.on_conflict_do_update(
                    index_elements=[calls_table.c.linkedid],
                    set_={
                        **{name: call_insert.excluded[name] for name in _CALL_UPDATE_COLUMNS},
                        "updated_at": sa.func.now(),
                    },
                )
                await session.execute(call_stmt, live_rows)
            if rebuilt_rows:
                keep = call_insert.on_conflict_do_nothing(index_elements=[calls_table.c.linkedid])
                await session.execute(keep, rebuilt_rows)
            await self._upsert_segment_rows(session, segment_rows)
            await self._upsert_segment_rows(session, rebuilt_segment_rows, replace=False)

    async def upsert_segments(self, segments: Sequence[RecordingSegment]) -> None:
        """Write recording segments on their own (found on disk before their call arrived)."""
        rows = list({_segment_key(s): _segment_row(s) for s in segments}.values())
        async with self._session_factory() as session, session.begin():
            await self._upsert_segment_rows(session, rows)

    @staticmethod
    async def _upsert_segment_rows(
        session: AsyncSession, rows: list[dict[str, Any]], *, replace: bool = True
    ) -> None:
        if not rows:
            return
        insert = upsert(session.get_bind().dialect.name, segments_table)
        key = [segments_table.c.linkedid, segments_table.c.uniqueid, segments_table.c.leg]
        stmt = (
            insert.on_conflict_do_update(
                index_elements=key,
                set_={name: insert.excluded[name] for name in _SEGMENT_UPDATE_COLUMNS},
            )
            if replace
            else insert.on_conflict_do_nothing(index_elements=key)
        )
        await session.execute(stmt, rows)

    async def get(self, linkedid: str) -> CallRecord | None:
        async with self._session_factory() as session:
            row = (
                await session.execute(
                    sa.select(calls_table).where(calls_table.c.linkedid == linkedid)
                )
            ).one_or_none()
            if row is None:
                return None
            segments = await self._segments_for(session, [linkedid])
        return record_from_row(row, segments.get(linkedid, ()))

    async def list_calls(
        self,
        limit: int = 100,
        offset: int = 0,
        since: float | None = None,
        handled_by: str | None = None,
        where: CallFilter | None = None,
    ) -> list[CallRecord]:
        """Calls in arrival order (epoch `since` inclusive); calls with no arrival time last.

        `handled_by` (a staff number) keeps only that agent's calls (see `set_handled_by`),
        `where` only the calls a reader may see (`callcenter.calls.scope`).
        """
        query = sa.select(calls_table)
        if where is not None:
            query = query.where(where(calls_table.c.linkedid))
        if since is not None:
            query = query.where(calls_table.c.arrived_at >= to_datetime(since))
        if handled_by is not None:
            query = query.where(self._handled_by(calls_table.c.linkedid, handled_by))
        query = (
            query.order_by(calls_table.c.arrived_at.asc().nulls_last(), calls_table.c.id)
            .limit(limit)
            .offset(offset)
        )
        async with self._session_factory() as session:
            rows = (await session.execute(query)).all()
            segments = await self._segments_for(session, [r.linkedid for r in rows])
        return [record_from_row(r, segments.get(r.linkedid, ())) for r in rows]

    async def handled(self, staff_no: str, linkedids: Iterable[str]) -> set[str]:
        """Which of these calls the agent handled (row-level rules for agent accounts)."""
        wanted = sorted(set(linkedids))
        if not wanted:
            return set()
        query = sa.select(calls_table.c.linkedid).where(
            calls_table.c.linkedid.in_(wanted), self._handled_by(calls_table.c.linkedid, staff_no)
        )
        async with self._session_factory() as session:
            return set((await session.scalars(query)).all())

    async def visible(self, linkedids: Iterable[str], where: CallFilter) -> set[str]:
        """Which of these calls exist and pass `where` (a reader's row rule)."""
        wanted = sorted(set(linkedids))
        if not wanted:
            return set()
        query = sa.select(calls_table.c.linkedid).where(
            calls_table.c.linkedid.in_(wanted), where(calls_table.c.linkedid)
        )
        async with self._session_factory() as session:
            return set((await session.scalars(query)).all())

    async def count(self) -> int:
        async with self._session_factory() as session:
            result = await session.scalar(sa.select(sa.func.count()).select_from(calls_table))
        return int(result or 0)

    async def segments_without_call(self) -> list[RecordingSegment]:
        """Recordings whose call never reached the database (lost or still pending)."""
        has_call = sa.exists().where(calls_table.c.linkedid == segments_table.c.linkedid)
        query = sa.select(segments_table).where(~has_call).order_by(*_SEGMENT_ORDER)
        async with self._session_factory() as session:
            rows = (await session.execute(query)).all()
        return [segment_from_row(r) for r in rows]

    async def all_segments(self) -> list[RecordingSegment]:
        """Every recording segment (the recordings check compares them with the files)."""
        async with self._session_factory() as session:
            rows = (
                await session.execute(sa.select(segments_table).order_by(*_SEGMENT_ORDER))
            ).all()
        return [segment_from_row(r) for r in rows]

    async def linkedids(self) -> list[str]:
        async with self._session_factory() as session:
            result = await session.scalars(
                sa.select(calls_table.c.linkedid).order_by(calls_table.c.linkedid)
            )
            return list(result)

    async def answered_calls_without_recording(self) -> list[CallRecord]:
        """Agent-answered calls with no recording segment at all.

        Only `Outcome.ANSWERED`: calls the system answered alone (IVR) have no
        agent leg to record.
        """
        has_segment = sa.exists().where(segments_table.c.linkedid == calls_table.c.linkedid)
        query = (
            sa.select(calls_table)
            .where(calls_table.c.outcome == Outcome.ANSWERED.value, ~has_segment)
            .order_by(calls_table.c.arrived_at.asc().nulls_last(), calls_table.c.id)
        )
        async with self._session_factory() as session:
            rows = (await session.execute(query)).all()
        return [record_from_row(r, ()) for r in rows]

    @staticmethod
    async def _segments_for(
        session: AsyncSession, linkedids: Sequence[str]
    ) -> dict[str, list[RecordingSegment]]:
        if not linkedids:
            return {}
        query = (
            sa.select(segments_table)
            .where(segments_table.c.linkedid.in_(linkedids))
            .order_by(*_SEGMENT_ORDER)
        )
        grouped: dict[str, list[RecordingSegment]] = {}
        for row in (await session.execute(query)).all():
            grouped.setdefault(row.linkedid, []).append(segment_from_row(row))
        return grouped
