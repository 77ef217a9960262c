"""Transcripts and script checks: the transcription backlog, storing results, reading them.

The backlog is every own-voice recording (`agent-voice`, `customer-voice`
segments) of a finished call that has no transcript row yet, sampled calls
first; with `include_all` unsampled calls too. Which calls are sampled is
QA's to say: its setup hands the query in (`callcenter.asr.policy`). Rows
are written per leg as soon as each is done, so a stopped run resumes where
it was.

What the QA console and the transcript API show is built from these reads
by `callcenter.asr.service.transcript_view`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.asr.checks import CheckResult, compliance_checks
from callcenter.asr.engine import AsrError, Transcript, Word
from callcenter.asr.policy import SampledCalls
from callcenter.asr.tables import (
    ScriptCheckRow,
    TranscriptRow,
    script_checks_table,
    transcripts_table,
)
from callcenter.calls.tables import calls_table, segments_table
from callcenter.compliance.domain import AGENT_HUNG_UP_FIRST, DEAD_AIR_FLAG, NO_AGENT_VOICE
from callcenter.compliance.tables import CallComplianceRow
from callcenter.kernel.clock import to_datetime
from callcenter.kernel.db import upsert

# Which recording segment gives which transcript leg: each party's own voice,
# both recorded on the agent channel from the bridge on (same time origin).
VOICE_SEGMENTS = {"agent-voice": "agent", "customer-voice": "caller"}
DONE = "done"
FAILED = "failed"

_TRANSCRIPT_UPDATE = (
    "path",
    "engine",
    "model",
    "language",
    "words",
    "text",
    "duration",
    "status",
    "error",
    "created_at",
)


@dataclass(frozen=True)
class LegJob:
    """One recording to transcribe."""

    linkedid: str
    uniqueid: str
    leg: str  # "agent" or "caller"
    path: str  # relative to the recordings directory
    sampled: bool


@dataclass(frozen=True)
class StoredTranscript:
    linkedid: str
    uniqueid: str
    leg: str
    path: str
    engine: str
    model: str
    language: str
    words: tuple[Word, ...]
    text: str
    duration: float | None
    status: str
    error: str | None
    created_at: float

    def summary(self) -> dict[str, Any]:
        return {
            "leg": self.leg,
            "uniqueid": self.uniqueid,
            "status": self.status,
            "error": self.error,
            "engine": self.engine,
            "model": self.model,
            "language": self.language,
            "duration": self.duration,
            "words": len(self.words),
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class CallContext:
    """What the checks need to know about the call besides its words."""

    staff_no: str | None
    announced: bool  # the system played the staff-number announcement
    checks: tuple[CheckResult, ...]  # the checks that need no ASR (empty: no facts yet)


def _uniqueid_order(uniqueid: str) -> tuple[float, str]:
    """Asterisk uniqueids are `<epoch>.<sequence>`: the channel created first sorts first."""
    head, _, tail = uniqueid.partition(".")
    try:
        return (float(head) + float(f"0.{tail}") if tail.isdigit() else float(head), uniqueid)
    except ValueError:
        return (float("inf"), uniqueid)


def _stored(row: TranscriptRow) -> StoredTranscript:
    return StoredTranscript(
        linkedid=row.linkedid,
        uniqueid=row.uniqueid,
        leg=row.leg,
        path=row.path,
        engine=row.engine,
        model=row.model,
        language=row.language,
        words=tuple(Word.from_json(w) for w in row.words),
        text=row.text,
        duration=row.duration,
        status=row.status,
        error=row.error,
        created_at=row.created_at.timestamp(),
    )


class AsrRepository:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        sampled: SampledCalls | None = None,
    ) -> None:
        self._sessions = session_factory
        # Without QA's query (a transcript view, a test) no call counts as sampled.
        self._sampled = None if sampled is None else sampled.subquery("sampled")

    @property
    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions

    # -- the backlog -------------------------------------------------------------------------

    def _backlog_query(self, include_all: bool) -> sa.Select[Any]:
        s, c, q, t = segments_table, calls_table, self._sampled, transcripts_table
        leg = sa.case(
            *((s.c.leg == source, target) for source, target in VOICE_SEGMENTS.items()),
            else_=s.c.leg,
        )
        sampled = sa.false() if q is None else q.c[0].is_not(None)
        done = sa.exists().where(
            t.c.linkedid == s.c.linkedid, t.c.uniqueid == s.c.uniqueid, t.c.leg == leg
        )
        query = (
            sa.select(s.c.linkedid, s.c.uniqueid, leg.label("tleg"), s.c.path, sampled.label("s"))
            # The call row is written once the call is final: its files are closed.
            .join(c, c.c.linkedid == s.c.linkedid)
        )
        if q is not None:
            query = query.outerjoin(q, q.c[0] == s.c.linkedid)
        query = query.where(s.c.leg.in_(VOICE_SEGMENTS), ~done)
        return query if include_all else query.where(sampled)

    async def backlog(self, *, include_all: bool, limit: int | None = None) -> list[LegJob]:
        """Legs waiting for a transcript: sampled calls first, oldest first."""
        s, q = segments_table, self._sampled
        first = () if q is None else (q.c[0].is_(None),)
        query = self._backlog_query(include_all).order_by(*first, s.c.id)
        if limit is not None:
            query = query.limit(limit)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [LegJob(r.linkedid, r.uniqueid, r.tleg, r.path, bool(r.s)) for r in rows]

    async def backlog_count(self, *, include_all: bool) -> int:
        query = sa.select(sa.func.count()).select_from(self._backlog_query(include_all).subquery())
        async with self._sessions() as session:
            return int(await session.scalar(query) or 0)

    async def retry_failed(self) -> int:
        """Forget failed transcripts so that they are in the backlog again."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                sa.delete(transcripts_table).where(transcripts_table.c.status == FAILED)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    # -- transcripts ---------------------------------------------------------------------

    async def save_transcript(
        self,
        job: LegJob,
        result: Transcript | AsrError,
        *,
        language: str,
        now: float | None = None,
        engine: str = "vosk",
        model: str = "",
    ) -> None:
        """Store a leg's words, or its error; a second save of a leg replaces the first."""
        values: dict[str, Any] = {
            "linkedid": job.linkedid,
            "uniqueid": job.uniqueid,
            "leg": job.leg,
            "path": job.path,
            "language": language,
            "created_at": to_datetime(time.time() if now is None else now),
        }
        if isinstance(result, AsrError):
            values |= {
                "engine": engine,
                "model": model,
                "words": [],
                "text": "",
                "duration": None,
                "status": FAILED,
                "error": f"{result.error_id}: {result.message}",
            }
        else:
            values |= {
                "engine": result.engine,
                "model": result.model,
                "words": [w.to_json() for w in result.words],
                "text": result.text,
                "duration": result.duration,
                "status": DONE,
                "error": None,
            }
        async with self._sessions() as session, session.begin():
            stmt = upsert(session.get_bind().dialect.name, transcripts_table).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["linkedid", "uniqueid", "leg"],
                set_={k: stmt.excluded[k] for k in _TRANSCRIPT_UPDATE},
            )
            await session.execute(stmt)

    async def transcripts(self, linkedid: str) -> list[StoredTranscript]:
        """The call's transcripts, legs in the order their channels were created."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    sa.select(TranscriptRow).where(TranscriptRow.linkedid == linkedid)
                )
            ).all()
        stored = [_stored(r) for r in rows]
        return sorted(stored, key=lambda t: (_uniqueid_order(t.uniqueid), t.leg))

    async def pending_legs(self, linkedid: str) -> int:
        """Voice recordings of this call still without a transcript."""
        query = self._backlog_query(True).where(segments_table.c.linkedid == linkedid)
        async with self._sessions() as session:
            return int(
                await session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
            )

    async def call_exists(self, linkedid: str) -> bool:
        """Whether the call log holds this call (its row is written once the call is final)."""
        async with self._sessions() as session:
            found = await session.scalar(
                sa.select(calls_table.c.id).where(calls_table.c.linkedid == linkedid)
            )
        return found is not None

    # -- checks ----------------------------------------------------------------------------

    async def call_context(self, linkedid: str) -> CallContext:
        async with self._sessions() as session:
            facts = await session.scalar(
                sa.select(CallComplianceRow).where(CallComplianceRow.linkedid == linkedid)
            )
            agent = await session.scalar(
                sa.select(calls_table.c.agent).where(calls_table.c.linkedid == linkedid)
            )
        if facts is None:
            return CallContext(staff_no=agent, announced=False, checks=())
        flags = set(facts.flags)
        checks = compliance_checks(
            dead_air_seconds=facts.dead_air_seconds,
            dead_air_flagged=DEAD_AIR_FLAG in flags,
            agent_hung_up_first=facts.agent_hung_up_first
            if facts.agent_hung_up_first is not None
            else (True if AGENT_HUNG_UP_FIRST in flags else None),
            voice_recorded=NO_AGENT_VOICE not in flags,
        )
        return CallContext(
            staff_no=facts.staff_no or agent,
            announced=facts.greeting_played,
            checks=tuple(checks),
        )

    async def save_checks(
        self,
        linkedid: str,
        results: Sequence[CheckResult],
        *,
        language: str,
        now: float | None = None,
    ) -> None:
        """Replace the call's stored script checks with these results."""
        at = to_datetime(time.time() if now is None else now)
        rows = [
            {
                "linkedid": linkedid,
                "check": r.check,
                "passed": r.passed,
                "detail": r.detail,
                "suggestion": r.suggestion,
                "evidence": [e.to_json() for e in r.evidence],
                "language": language,
                "created_at": at,
            }
            for r in results
        ]
        async with self._sessions() as session, session.begin():
            await session.execute(
                sa.delete(script_checks_table).where(script_checks_table.c.linkedid == linkedid)
            )
            if rows:
                await session.execute(sa.insert(script_checks_table), rows)

    async def checks(self, linkedid: str) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    sa.select(ScriptCheckRow)
                    .where(ScriptCheckRow.linkedid == linkedid)
                    .order_by(ScriptCheckRow.id)
                )
            ).all()
        return [
            {
                "check": r.check,
                "passed": r.passed,
                "detail": r.detail,
                "suggestion": r.suggestion,
                "evidence": r.evidence,
                "checked_at": r.created_at.timestamp(),
            }
            for r in rows
        ]
