"""The satisfaction survey after a follow-up call (回訪): 1 滿意, 2 一般, 3 不滿意.

The dialplan asks (`Read`) on the customer's leg once the agent has hung up
and hands the digit to the `survey` FastAGI script (see agi_scripts/README.md).
A complaint case closes on a satisfied answer (閉環); otherwise it stays open
for the supervisor to decide.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.agi.fastagi import AgiRequest
from callcenter.callbacks.tables import CallbackRow, SurveyAnswerRow
from callcenter.kernel.clock import Clock, to_datetime

log = logging.getLogger(__name__)

LABELS: Mapping[int, str] = {1: "satisfied", 2: "neutral", 3: "dissatisfied"}


class CaseCloser(Protocol):
    """Where cases are closed (the agents feature owns them)."""

    async def close_case(
        self,
        case_id: int,
        closed_at: float,
        note: str | None = None,
        *,
        session: AsyncSession | None = None,
    ) -> bool: ...


def parse_answer(digit: str) -> int | None:
    """The survey digit, or None for no answer / a key that is not 1-3."""
    digit = digit.strip()
    return int(digit) if digit in {"1", "2", "3"} else None


def closes_case(answer: int) -> bool:
    """Only a satisfied customer closes a complaint; the rest goes to a supervisor."""
    return answer == 1


@dataclass(frozen=True)
class SurveyAnswer:
    callback_id: int | None
    case_id: int | None
    answer: int
    label: str
    at: float
    case_closed: bool


class Surveys:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        cases: CaseCloser,
        clock: Clock = time.time,
    ) -> None:
        self._sessions = session_factory
        self._cases = cases
        self._clock = clock

    async def handle(self, request: AgiRequest) -> Mapping[str, str]:
        """FastAGI `survey`: args callback id, digit, linkedid."""
        answer = parse_answer(request.arg(1))
        if answer is None:
            log.info("survey for callback %s: no valid answer (%r)", request.arg(0), request.arg(1))
            return {"CC_SURVEY_STORED": "no-answer"}
        try:
            callback_id = int(request.arg(0))
        except ValueError:
            raise ValueError(f"survey: bad callback id {request.arg(0)!r}") from None
        stored = await self.store(callback_id, answer, request.arg(2) or None)
        return {"CC_SURVEY_STORED": stored.label}

    async def store(self, callback_id: int, answer: int, linkedid: str | None) -> SurveyAnswer:
        now = self._clock()
        async with self._sessions() as session, session.begin():
            case_id = await session.scalar(
                sa.select(CallbackRow.case_id).where(CallbackRow.id == callback_id)
            )
            # One transaction: the answer and the case it closes are saved together.
            closed = False
            if case_id is not None and closes_case(answer):
                closed = await self._cases.close_case(case_id, now, session=session)
            session.add(
                SurveyAnswerRow(
                    callback_id=callback_id,
                    case_id=case_id,
                    linkedid=linkedid,
                    answer=answer,
                    label=LABELS[answer],
                    at=to_datetime(now),
                )
            )
        return SurveyAnswer(callback_id, case_id, answer, LABELS[answer], now, closed)

    async def close_by_supervisor(self, case_id: int, reason: str) -> bool:
        """A supervisor's decision closes a case without a satisfied follow-up."""
        return await self._cases.close_case(
            case_id, self._clock(), f"[closed by supervisor: {reason}]"
        )

    async def answers(self) -> list[SurveyAnswer]:
        async with self._sessions() as session:
            rows = (
                await session.scalars(sa.select(SurveyAnswerRow).order_by(SurveyAnswerRow.id))
            ).all()
        return [
            SurveyAnswer(r.callback_id, r.case_id, r.answer, r.label, r.at.timestamp(), False)
            for r in rows
        ]
