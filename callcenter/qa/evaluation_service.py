"""Inspectors' evaluations: submit, edit (versioned), lock by hand or after `lock_days`."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from callcenter.config import QaConfig
from callcenter.kernel.clock import Clock
from callcenter.kernel.errors import Kind
from callcenter.qa.errors import QaError
from callcenter.qa.evaluation_store import EvaluationStore
from callcenter.qa.model import STATUSES, Evaluation, Sample, SampleRow
from callcenter.qa.scoring import (
    ScoreForm,
    ScoringError,
    form_from_json,
    score_evaluation,
    score_form,
)
from callcenter.qa.service import DAY, check_month, find_sample
from callcenter.qa.store import StaleEvaluationError


class EvaluationService:
    def __init__(
        self,
        store: EvaluationStore,
        settings: QaConfig,
        *,
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self.settings = settings
        self._clock = clock

    @property
    def form(self) -> ScoreForm:
        return score_form(self.settings)

    async def sample(self, sample_id: int) -> Sample:
        return await find_sample(self.store, sample_id)

    async def rows(
        self,
        *,
        inspector: str | None = None,
        month: str | None = None,
        status: str | None = None,
        agent: str | None = None,
    ) -> list[SampleRow]:
        if status is not None and status not in STATUSES:
            raise QaError(
                Kind.INVALID, "bad-parameter", f"status must be one of {list(STATUSES)}", got=status
            )
        if month is not None:
            check_month(month)
        rows = await self.store.list_rows(inspector=inspector, month=month, agent=agent)
        return [r for r in rows if status is None or r.status == status]

    async def _auto_locked(self, evaluation: Evaluation) -> Evaluation:
        """Apply the automatic lock now if it is due (whether or not the job ran yet)."""
        days = self.settings.lock_days
        if evaluation.locked or days <= 0:
            return evaluation
        due = evaluation.submitted_at + days * DAY
        if self._clock() < due:
            return evaluation
        return await self.store.lock(evaluation, at=due, by="auto")

    async def evaluate(
        self, sample_id: int, inspector: str, body: Mapping[str, Any], *, by: str
    ) -> tuple[Evaluation, bool]:
        """Submit or edit the inspector's evaluation; (evaluation, created)."""
        sample = await self.sample(sample_id)
        assignment = await self.store.assignment_of(sample_id, inspector)
        if assignment is None:
            raise QaError(
                Kind.FORBIDDEN,
                "not-assigned",
                f"sample {sample_id} is not assigned to {inspector}",
                sample_id=sample_id,
            )
        existing = await self.store.evaluation_of(assignment.id)
        form = self.form if existing is None else form_from_json(existing.form, self.form)
        try:
            scored = score_evaluation(
                form, body.get("scores"), body.get("comments"), body.get("comment")
            )
        except ScoringError as exc:
            raise QaError(Kind.INVALID, exc.error_id, exc.message, **exc.details) from None
        now = self._clock()
        if existing is None:
            try:
                created = await self.store.create_evaluation(
                    assignment,
                    sample,
                    scores=scored.scores,
                    comments=scored.comments,
                    comment=scored.comment,
                    total=scored.total,
                    form=form.to_json(),
                    at=now,
                    by=by,
                )
            except StaleEvaluationError:
                raise QaError(
                    Kind.CONFLICT,
                    "evaluation-conflict",
                    "the evaluation was submitted meanwhile; reload",
                ) from None
            return created, True
        existing = await self._auto_locked(existing)
        if existing.locked:
            raise _locked(existing)
        expected = body.get("version")
        if expected is not None and expected != existing.version:
            raise QaError(
                Kind.CONFLICT,
                "evaluation-conflict",
                "the evaluation changed since it was loaded; reload it",
                version=existing.version,
            )
        try:
            updated = await self.store.update_evaluation(
                existing,
                scores=scored.scores,
                comments=scored.comments,
                comment=scored.comment,
                total=scored.total,
                at=now,
                by=by,
            )
        except StaleEvaluationError:
            current = await self.store.get_evaluation(existing.id)
            if current is not None and current.locked:
                raise _locked(current) from None
            raise QaError(
                Kind.CONFLICT, "evaluation-conflict", "the evaluation changed meanwhile; reload it"
            ) from None
        return updated, False

    async def evaluation(self, evaluation_id: int) -> Evaluation:
        found = await self.store.get_evaluation(evaluation_id)
        if found is None:
            raise QaError(
                Kind.NOT_FOUND,
                "evaluation-not-found",
                f"no evaluation {evaluation_id}",
                evaluation_id=evaluation_id,
            )
        return await self._auto_locked(found)

    async def lock(self, evaluation_id: int, *, by: str) -> Evaluation:
        evaluation = await self.evaluation(evaluation_id)
        if evaluation.locked:
            return evaluation
        return await self.store.lock(evaluation, at=self._clock(), by=by)

    async def auto_lock(self) -> int:
        days = self.settings.lock_days
        if days <= 0:
            return 0
        due = await self.store.submitted_before(self._clock() - days * DAY)
        for evaluation in due:
            await self.store.lock(evaluation, at=evaluation.submitted_at + days * DAY, by="auto")
        return len(due)


def _locked(evaluation: Evaluation) -> QaError:
    return QaError(
        Kind.CONFLICT,
        "evaluation-locked",
        "the evaluation is locked and can no longer be changed",
        evaluation_id=evaluation.id,
        locked_at=evaluation.locked_at,
        locked_by=evaluation.locked_by,
    )
