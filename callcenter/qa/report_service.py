"""QA reports: the monthly summary per agent, the week's defects, one call's calibration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from callcenter.config import QaConfig
from callcenter.kernel.errors import Kind
from callcenter.qa.errors import QaError
from callcenter.qa.model import Evaluation
from callcenter.qa.report_store import ReportStore
from callcenter.qa.reports import (
    CallFlags,
    EvaluationFact,
    calibration_view,
    monthly_summary,
    weekly_defects,
)
from callcenter.qa.sampling import SamplingError, week_bounds
from callcenter.qa.scoring import ScoreForm, form_from_json, score_form
from callcenter.qa.service import CheckSource, check_month, no_checks, sampling_error


class ReportService:
    def __init__(
        self,
        store: ReportStore,
        settings: QaConfig,
        *,
        timezone: str = "UTC",
        failed_checks: CheckSource = no_checks,
    ) -> None:
        self.store = store
        self.settings = settings
        self.timezone = timezone
        self._failed_checks = failed_checks

    @property
    def form(self) -> ScoreForm:
        return score_form(self.settings)

    @property
    def _defect_below(self) -> float:
        below = self.settings.defect_below
        return self.form.midpoint if below is None else below

    def _facts(self, evaluations: Sequence[Evaluation]) -> list[EvaluationFact]:
        return [
            EvaluationFact(
                evaluation_id=e.id,
                linkedid=e.linkedid,
                agent=e.agent,
                inspector=e.inspector,
                scores=e.scores,
                total=e.total,
                form=form_from_json(e.form, self.form),
                calibration=e.calibration,
                locked=e.locked,
            )
            for e in evaluations
        ]

    async def summary(self, month: str) -> dict[str, Any]:
        check_month(month)
        evaluations = self._facts(await self.store.evaluations_of_month(month))
        rows = await self.store.list_rows(month=month, limit=100_000)
        sampled: dict[str, set[int]] = {}
        for row in rows:
            sampled.setdefault(row.sample.agent, set()).add(row.sample.id)
        agents = monthly_summary(evaluations, self.form, self.settings.defect_below)
        known = {a["agent"] for a in agents}
        for agent in agents:
            agent["samples"] = len(sampled.get(agent["agent"], ()))
        agents.extend(
            {"agent": a, "samples": len(ids), "evaluations": 0}
            for a, ids in sorted(sampled.items())
            if a not in known
        )
        agents.sort(key=lambda a: a["agent"])
        return {
            "month": month,
            "form": self.form.to_json(),
            "defect_below": self._defect_below,
            "agents": agents,
        }

    async def weekly(self, week: str) -> dict[str, Any]:
        try:
            start, end = week_bounds(week, self.timezone)
        except SamplingError as exc:
            raise sampling_error(exc) from None
        evaluations = self._facts(
            await self.store.evaluations_submitted(start.timestamp(), end.timestamp())
        )
        primary = [e for e in evaluations if not e.calibration]
        flagged = await self.store.compliance_between(start.timestamp(), end.timestamp())
        failed = await self._failed_checks([linkedid for linkedid, _, _ in flagged])
        calls: dict[str, CallFlags] = {
            linkedid: CallFlags(linkedid, agent, tuple(flags), failed.get(linkedid, ()))
            for linkedid, agent, flags in flagged
        }
        return {
            "week": week,
            "from": start.timestamp(),
            "to": end.timestamp(),
            "evaluations": len(primary),
            "defect_below": self._defect_below,
            "defects": weekly_defects(
                primary, calls.values(), self.form, self.settings.defect_below
            ),
        }

    async def calibration(self, linkedid: str) -> dict[str, Any]:
        rows = await self.store.list_rows(linkedid=linkedid)
        if not rows:
            raise QaError(
                Kind.NOT_FOUND,
                "sample-not-found",
                f"call {linkedid} is not sampled",
                linkedid=linkedid,
            )
        evaluations = self._facts(await self.store.evaluations_of_call(linkedid))
        view = calibration_view(self.form, evaluations)
        return {
            "linkedid": linkedid,
            "sample_id": rows[0].sample.id,
            "agent": rows[0].sample.agent,
            "assigned": [r.assignment.inspector for r in rows if r.assignment is not None],
            **view,
        }
