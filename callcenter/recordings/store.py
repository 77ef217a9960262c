"""The recordings catalogue: one row per file, measured once, marked when purged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.calls.record import CallRecord, Direction, Outcome, RecordingSegment
from callcenter.calls.rows import segment_from_row
from callcenter.calls.tables import calls_table, segments_table
from callcenter.kernel.clock import to_datetime, to_epoch
from callcenter.kernel.db import upsert
from callcenter.recordings.recording import Recording
from callcenter.recordings.tables import recordings_table


def _recording(row: sa.Row[Any]) -> Recording:
    return Recording(
        id=row.id,
        linkedid=row.linkedid,
        uniqueid=row.uniqueid,
        leg=row.leg,
        source=row.source,
        path=row.path,
        duration_seconds=row.duration_seconds,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        sample_rate=row.sample_rate,
        created_at=row.created_at.timestamp(),
        deleted_at=to_epoch(row.deleted_at),
        delete_reason=row.delete_reason,
    )


class RecordingRepository:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def known_paths(self, linkedid: str) -> set[str]:
        query = sa.select(recordings_table.c.path).where(recordings_table.c.linkedid == linkedid)
        async with self._session_factory() as session:
            return set((await session.scalars(query)).all())

    async def add(self, recordings: Sequence[Recording], catalogued_at: float) -> None:
        """Insert; a path already catalogued keeps its first measurement."""
        if not recordings:
            return
        rows = [
            {
                "linkedid": r.linkedid,
                "uniqueid": r.uniqueid,
                "leg": r.leg,
                "source": r.source,
                "path": r.path,
                "duration_seconds": r.duration_seconds,
                "size_bytes": r.size_bytes,
                "sha256": r.sha256,
                "sample_rate": r.sample_rate,
                "created_at": to_datetime(r.created_at),
                "catalogued_at": to_datetime(catalogued_at),
            }
            for r in recordings
        ]
        async with self._session_factory() as session, session.begin():
            insert = upsert(session.get_bind().dialect.name, recordings_table)
            await session.execute(
                insert.on_conflict_do_nothing(index_elements=[recordings_table.c.path]), rows
            )

    async def get(self, recording_id: int) -> Recording | None:
        query = sa.select(recordings_table).where(recordings_table.c.id == recording_id)
        async with self._session_factory() as session:
            row = (await session.execute(query)).one_or_none()
        return None if row is None else _recording(row)

    async def for_call(self, linkedid: str) -> list[Recording]:
        query = (
            sa.select(recordings_table)
            .where(recordings_table.c.linkedid == linkedid)
            .order_by(recordings_table.c.created_at, recordings_table.c.id)
        )
        async with self._session_factory() as session:
            rows = (await session.execute(query)).all()
        return [_recording(r) for r in rows]

    async def older_than(self, before: float, limit: int = 10_000) -> list[Recording]:
        """Recordings not yet deleted that were made before `before` (oldest first)."""
        query = (
            sa.select(recordings_table)
            .where(
                recordings_table.c.deleted_at.is_(None),
                recordings_table.c.created_at < to_datetime(before),
            )
            .order_by(recordings_table.c.created_at, recordings_table.c.id)
            .limit(limit)
        )
        async with self._session_factory() as session:
            rows = (await session.execute(query)).all()
        return [_recording(r) for r in rows]

    async def mark_deleted(self, ids: Sequence[int], at: float, reason: str) -> None:
        if not ids:
            return
        async with self._session_factory() as session, session.begin():
            await session.execute(
                sa.update(recordings_table)
                .where(
                    recordings_table.c.id.in_(list(ids)), recordings_table.c.deleted_at.is_(None)
                )
                .values(deleted_at=to_datetime(at), delete_reason=reason)
            )

    async def deleted_paths(self) -> set[str]:
        query = sa.select(recordings_table.c.path).where(recordings_table.c.deleted_at.is_not(None))
        async with self._session_factory() as session:
            return set((await session.scalars(query)).all())

    async def uncatalogued(
        self, ended_before: float, *, after: int = 0, limit: int = 500
    ) -> tuple[list[CallRecord], int | None]:
        """Finished calls with recording segments not in the catalogue yet (missed by the sink:
        a restart, a full queue), each with only those segments; segment ids above `after`,
        and the cursor for the next page (None at the end)."""
        known = sa.exists().where(recordings_table.c.path == segments_table.c.path)
        query = (
            sa.select(segments_table, calls_table.c.arrived_at.label("call_arrived_at"))
            .join(calls_table, calls_table.c.linkedid == segments_table.c.linkedid)
            .where(
                ~known,
                calls_table.c.ended_at < to_datetime(ended_before),
                segments_table.c.id > after,
            )
            .order_by(segments_table.c.id)
            .limit(limit)
        )
        async with self._session_factory() as session:
            rows = (await session.execute(query)).all()
        grouped: dict[str, list[Any]] = {}
        for row in rows:
            grouped.setdefault(row.linkedid, []).append(row)
        records = [
            _stub_record(linkedid, [segment_from_row(r) for r in group], group[0].call_arrived_at)
            for linkedid, group in grouped.items()
        ]
        return records, (rows[-1].id if len(rows) == limit else None)


def _stub_record(
    linkedid: str, segments: list[RecordingSegment], arrived_at: datetime | None
) -> CallRecord:
    """Just enough of a call record for the catalogue (its recordings and arrival)."""
    return CallRecord(
        linkedid=linkedid,
        direction=Direction.INBOUND,
        caller_number=None,
        caller_name=None,
        dialled_number=None,
        queue=None,
        arrived_at=to_epoch(arrived_at),
        answered_at=None,
        ended_at=None,
        answer_seconds=None,
        rings_to_answer=None,
        answered_by=None,
        agent=None,
        agent_name=None,
        hold_seconds=None,
        talk_seconds=None,
        hangup_first=None,
        outcome=Outcome.ANSWERED,
        recordings=tuple(segments),
    )
