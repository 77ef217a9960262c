"""QA service: the monthly draw, assignments, evaluations, locks and reports.

I/O lives here (repositories, the clock, the seed source); every decision is
made by the pure modules (`sampling`, `assignment`, `scoring`, `reports`).
Errors are `QaError`s with a stable id; the web layer maps them to HTTP.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from callcenter.config import QaConfig
from callcenter.qa.assignment import AssignmentError, assign_balanced
from callcenter.qa.errors import QaError
from callcenter.qa.model import STATUSES, Assignment, Draw, Evaluation, Sample, SampleRow
from callcenter.qa.reports import (
    CallFlags,
    EvaluationFact,
    calibration_view,
    monthly_summary,
    weekly_defects,
)
from callcenter.qa.sampling import (
    ALGORITHM,
    CallFacts,
    Candidate,
    DrawSettings,
    Pick,
    SamplingError,
    Thresholds,
    candidate_of,
    draw_samples,
    month_bounds,
    parse_month,
    week_bounds,
)
from callcenter.qa.scoring import ScoreForm, ScoringError, form_from_json, score_evaluation
from callcenter.qa.store import DrawConflictError, QaRepository, StaleEvaluationError
from callcenter.routing.hours import Shift

log = logging.getLogger(__name__)

DAY = 86400.0

# Inspectors by name -> their user id (None: named in the configuration only).
InspectorSource = Callable[[], Awaitable[dict[str, int | None]]]
# linkedids -> the automatic checks each call failed (the ASR checks), when known.
CheckSource = Callable[[Sequence[str]], Awaitable[dict[str, tuple[str, ...]]]]


async def _no_checks(linkedids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    return {}


@dataclass(frozen=True)
class DrawOutcome:
    draw: Draw
    samples: list[Sample]
    assignments: dict[int, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "draw": self.draw.to_json(),
            "samples": [
                {
                    "id": s.id,
                    "linkedid": s.linkedid,
                    "agent": s.agent,
                    "reason": s.reason,
                    "reasons": list(s.reasons),
                    "stratum": s.stratum,
                    "inspector": self.assignments.get(s.id),
                }
                for s in self.samples
            ],
        }


@dataclass(frozen=True)
class Verification:
    draw_id: int
    reproduced: bool  # the stored inputs give the stored picks
    samples_match: bool  # the samples table holds exactly those picks
    candidates_match: bool | None  # the database still yields the stored candidate set
    differences: list[str]

    @property
    def ok(self) -> bool:
        return self.reproduced and self.samples_match

    def to_json(self) -> dict[str, Any]:
        return {
            "draw_id": self.draw_id,
            "ok": self.ok,
            "reproduced": self.reproduced,
            "samples_match": self.samples_match,
            "candidates_match": self.candidates_match,
            "differences": self.differences,
        }


def _scoring_error(exc: ScoringError) -> QaError:
    return QaError(400, exc.error_id, exc.message, **exc.details)


def _sampling_error(exc: SamplingError) -> QaError:
    return QaError(400, exc.error_id, exc.message, **exc.details)


class QaService:
    def __init__(
        self,
        repository: QaRepository,
        settings: QaConfig,
        *,
        timezone: str = "UTC",
        shifts: Sequence[Shift] = (),
        inspectors: InspectorSource | None = None,
        failed_checks: CheckSource = _no_checks,
        complaint_category: str = "投訴",
        clock: Callable[[], float] = time.time,
        new_seed: Callable[[], str] = lambda: secrets.token_hex(16),
    ) -> None:
        self.repository = repository
        self.settings = settings
        self.timezone = timezone
        self.shifts = tuple(shifts)
        self._inspectors = inspectors
        self._failed_checks = failed_checks
        self.complaint_category = complaint_category
        self._clock = clock
        self._new_seed = new_seed

    @property
    def form(self) -> ScoreForm:
        return self.settings.form

    @property
    def draw_settings(self) -> DrawSettings:
        return DrawSettings(
            self.settings.samples_min, self.settings.samples_max, self.settings.targeted_max
        )

    # -- the draw ----------------------------------------------------------------------------

    async def candidates(self, month: str) -> list[Candidate]:
        """The month's answered calls not sampled before, each with its stratum and flags."""
        try:
            start, end = month_bounds(month, self.timezone)
        except SamplingError as exc:
            raise _sampling_error(exc) from None
        facts = await self.repository.call_facts(start.timestamp(), end.timestamp())
        failed = await self._failed_checks([f.linkedid for f in facts])
        thresholds = Thresholds(self.settings.short_call_seconds, self.settings.long_call_seconds)
        complaint = self.complaint_category
        return sorted(
            (
                candidate_of(
                    CallFacts(
                        linkedid=f.linkedid,
                        agent=f.agent,
                        arrived_at=f.arrived_at,
                        talk_seconds=f.talk_seconds,
                        complaint=f.category == complaint,
                        compliance_flags=f.compliance_flags,
                        failed_checks=failed.get(f.linkedid, ()),
                    ),
                    self.timezone,
                    self.shifts,
                    thresholds,
                )
                for f in facts
            ),
            key=lambda c: (c.agent, c.linkedid),
        )

    async def draw(
        self, month: str, *, by: str, seed: str | None = None, assign: bool = True
    ) -> DrawOutcome:
        """Draw the month (or top it up), store the inputs and picks, assign round-robin."""
        try:
            parse_month(month)
        except SamplingError as exc:
            raise _sampling_error(exc) from None
        settings = self.draw_settings
        for attempt in range(3):
            candidates = await self.candidates(month)
            prior = await self.repository.prior(month)
            chosen_seed = seed or self._new_seed()
            try:
                picks = draw_samples(candidates, chosen_seed, settings, prior)
            except SamplingError as exc:
                raise _sampling_error(exc) from None
            try:
                draw, samples = await self.repository.save_draw(
                    month=month,
                    seed=chosen_seed,
                    algorithm=ALGORITHM,
                    settings=settings,
                    candidates=candidates,
                    prior=prior,
                    picks=picks,
                    created_at=self._clock(),
                    created_by=by,
                )
            except DrawConflictError:
                log.info("draw of %s raced another (attempt %d); drawing again", month, attempt + 1)
                continue
            assigned: dict[int, str] = {}
            if assign and samples:
                assigned = await self.auto_assign([s.id for s in samples], by=by, required=False)
            log.info(
                "QA draw %d for %s: %d samples from %d candidates",
                draw.id,
                month,
                len(samples),
                len(candidates),
            )
            return DrawOutcome(draw, samples, assigned)
        raise QaError(409, "draw-conflict", "other draws kept taking the same calls; try again")

    async def verify_draw(self, draw_id: int) -> Verification:
        """Re-run a stored draw from its seed and candidate set and compare."""
        draw = await self.repository.get_draw(draw_id)
        if draw is None:
            raise QaError(404, "draw-not-found", f"no draw {draw_id}", draw_id=draw_id)
        differences: list[str] = []
        again = draw_samples(draw.candidates, draw.seed, draw.settings, draw.prior)
        reproduced = again == draw.result
        if not reproduced:
            differences.extend(_pick_diff("re-run", again, draw.result))
        stored = {s.linkedid: s for s in await self.repository.samples_of_draw(draw_id)}
        expected = {p.linkedid: p for p in draw.result}
        samples_match = stored.keys() == expected.keys() and all(
            stored[k].agent == p.agent and stored[k].reasons == p.reasons
            for k, p in expected.items()
        )
        if not samples_match:
            differences.append(
                f"samples table: {sorted(stored.keys() ^ expected.keys())} differ from the picks"
            )
        candidates_match: bool | None = None
        try:
            now = await self.candidates(draw.month)
            # Calls sampled by this draw or later ones were candidates when it ran.
            later = {
                s.linkedid
                for row in await self.repository.list_rows(month=draw.month, limit=100_000)
                if (s := row.sample).draw_id is not None and s.draw_id >= draw_id
            }
            recorded = {c.linkedid for c in draw.candidates}
            current = {c.linkedid for c in now} | (later & recorded)
            before = await self.repository.sampled_before(draw_id, sorted(recorded))
            candidates_match = current == recorded and not before
            if not candidates_match:
                missing = sorted(recorded - current)
                extra = sorted(current - recorded)
                differences.append(
                    "candidate set re-derived from the database differs:"
                    f" gone {missing[:20]}, new {extra[:20]}"
                    + (f", sampled earlier {sorted(before)[:20]}" if before else "")
                )
        except QaError:
            candidates_match = None
        return Verification(draw_id, reproduced, samples_match, candidates_match, differences)

    # -- assignments -------------------------------------------------------------------------

    async def inspectors(self) -> dict[str, int | None]:
        found: dict[str, int | None] = dict.fromkeys(self.settings.inspectors)
        if self._inspectors is not None:
            found.update(await self._inspectors())
        return found

    async def auto_assign(
        self, sample_ids: Sequence[int], *, by: str, required: bool = True
    ) -> dict[int, str]:
        """Round-robin by load over the inspectors; with none and not `required`, leave them."""
        inspectors = await self.inspectors()
        if not inspectors and not required:
            log.warning("no QA inspector to assign %d samples to", len(sample_ids))
            return {}
        try:
            plan = assign_balanced(sample_ids, list(inspectors), await self.repository.open_load())
        except AssignmentError as exc:
            raise QaError(409, exc.error_id, exc.message, **exc.details) from None
        due = self._clock() + self.settings.due_days * DAY
        for sample_id, inspector in plan.items():
            await self.repository.assign(
                sample_id,
                [inspector],
                due_at=due,
                at=self._clock(),
                by=by,
                user_ids={k: v for k, v in inspectors.items() if v is not None},
            )
        return plan

    async def assign(
        self,
        sample_id: int,
        inspectors: object,
        *,
        due_at: float | None,
        by: str,
        check_known: bool = True,
    ) -> list[Assignment]:
        """Assign named inspectors (several: calibration); unknown names are refused."""
        sample = await self.sample(sample_id)
        if (
            not isinstance(inspectors, list)
            or not inspectors
            or not all(isinstance(i, str) and i.strip() for i in inspectors)
        ):
            raise QaError(
                400, "inspectors-invalid", "inspectors must be a non-empty list of usernames"
            )
        names = list(dict.fromkeys(i.strip() for i in inspectors))
        known = await self.inspectors()
        if check_known:
            unknown = [n for n in names if n not in known]
            if unknown:
                raise QaError(
                    400,
                    "inspector-unknown",
                    f"not QA inspectors: {unknown}",
                    unknown=unknown,
                    inspectors=sorted(known),
                )
        now = self._clock()
        due = now + self.settings.due_days * DAY if due_at is None else due_at
        if due <= now:
            raise QaError(400, "due-date-past", "the due date must be in the future", due_at=due)
        return await self.repository.assign(
            sample.id,
            names,
            due_at=due,
            at=now,
            by=by,
            user_ids={k: v for k, v in known.items() if v is not None},
        )

    # -- samples -----------------------------------------------------------------------------

    async def sample(self, sample_id: int) -> Sample:
        sample = await self.repository.get_sample(sample_id)
        if sample is None:
            raise QaError(404, "sample-not-found", f"no sample {sample_id}", sample_id=sample_id)
        return sample

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
                400, "bad-parameter", f"status must be one of {list(STATUSES)}", got=status
            )
        if month is not None:
            try:
                parse_month(month)
            except SamplingError as exc:
                raise _sampling_error(exc) from None
        rows = await self.repository.list_rows(inspector=inspector, month=month, agent=agent)
        return [r for r in rows if status is None or r.status == status]

    # -- evaluations ---------------------------------------------------------------------------

    async def _auto_locked(self, evaluation: Evaluation) -> Evaluation:
        """Apply the automatic lock now if it is due (whether or not the job ran yet)."""
        days = self.settings.lock_days
        if evaluation.locked or days <= 0:
            return evaluation
        due = evaluation.submitted_at + days * DAY
        if self._clock() < due:
            return evaluation
        return await self.repository.lock(evaluation, at=due, by="auto")

    async def evaluate(
        self, sample_id: int, inspector: str, body: Mapping[str, Any], *, by: str
    ) -> tuple[Evaluation, bool]:
        """Submit or edit the inspector's evaluation; (evaluation, created)."""
        sample = await self.sample(sample_id)
        mine = [a for a in await self.repository.assignments(sample_id) if a.inspector == inspector]
        if not mine:
            raise QaError(
                403,
                "not-assigned",
                f"sample {sample_id} is not assigned to {inspector}",
                sample_id=sample_id,
            )
        assignment = mine[0]
        existing = await self.repository.evaluation_of(assignment.id)
        form = self.form if existing is None else form_from_json(existing.form, self.form)
        try:
            scored = score_evaluation(
                form, body.get("scores"), body.get("comments"), body.get("comment")
            )
        except ScoringError as exc:
            raise _scoring_error(exc) from None
        now = self._clock()
        if existing is None:
            try:
                created = await self.repository.create_evaluation(
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
                    409, "evaluation-conflict", "the evaluation was submitted meanwhile; reload"
                ) from None
            return created, True
        existing = await self._auto_locked(existing)
        if existing.locked:
            raise _locked(existing)
        expected = body.get("version")
        if expected is not None and expected != existing.version:
            raise QaError(
                409,
                "evaluation-conflict",
                "the evaluation changed since it was loaded; reload it",
                version=existing.version,
            )
        try:
            updated = await self.repository.update_evaluation(
                existing,
                scores=scored.scores,
                comments=scored.comments,
                comment=scored.comment,
                total=scored.total,
                at=now,
                by=by,
            )
        except StaleEvaluationError:
            current = await self.repository.get_evaluation(existing.id)
            if current is not None and current.locked:
                raise _locked(current) from None
            raise QaError(
                409, "evaluation-conflict", "the evaluation changed meanwhile; reload it"
            ) from None
        return updated, False

    async def evaluation(self, evaluation_id: int) -> Evaluation:
        found = await self.repository.get_evaluation(evaluation_id)
        if found is None:
            raise QaError(
                404,
                "evaluation-not-found",
                f"no evaluation {evaluation_id}",
                evaluation_id=evaluation_id,
            )
        return await self._auto_locked(found)

    async def lock(self, evaluation_id: int, *, by: str) -> Evaluation:
        evaluation = await self.evaluation(evaluation_id)
        if evaluation.locked:
            return evaluation
        return await self.repository.lock(evaluation, at=self._clock(), by=by)

    async def auto_lock(self) -> int:
        days = self.settings.lock_days
        if days <= 0:
            return 0
        due = await self.repository.submitted_before(self._clock() - days * DAY)
        for evaluation in due:
            await self.repository.lock(
                evaluation, at=evaluation.submitted_at + days * DAY, by="auto"
            )
        return len(due)

    # -- reports -----------------------------------------------------------------------------

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
        try:
            parse_month(month)
        except SamplingError as exc:
            raise _sampling_error(exc) from None
        evaluations = self._facts(await self.repository.evaluations_of_month(month))
        rows = await self.repository.list_rows(month=month, limit=100_000)
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

    @property
    def _defect_below(self) -> float:
        below = self.settings.defect_below
        return self.form.midpoint if below is None else below

    async def weekly(self, week: str) -> dict[str, Any]:
        try:
            start, end = week_bounds(week, self.timezone)
        except SamplingError as exc:
            raise _sampling_error(exc) from None
        evaluations = self._facts(
            await self.repository.evaluations_submitted(start.timestamp(), end.timestamp())
        )
        primary = [e for e in evaluations if not e.calibration]
        flagged = await self.repository.compliance_between(start.timestamp(), end.timestamp())
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
        rows = await self.repository.list_rows(linkedid=linkedid)
        if not rows:
            raise QaError(
                404, "sample-not-found", f"call {linkedid} is not sampled", linkedid=linkedid
            )
        evaluations = self._facts(await self.repository.evaluations_of_call(linkedid))
        view = calibration_view(self.form, evaluations)
        return {
            "linkedid": linkedid,
            "sample_id": rows[0].sample.id,
            "agent": rows[0].sample.agent,
            "assigned": [r.assignment.inspector for r in rows if r.assignment is not None],
            **view,
        }


def _locked(evaluation: Evaluation) -> QaError:
    return QaError(
        409,
        "evaluation-locked",
        "the evaluation is locked and can no longer be changed",
        evaluation_id=evaluation.id,
        locked_at=evaluation.locked_at,
        locked_by=evaluation.locked_by,
    )


def _pick_diff(label: str, got: Sequence[Pick], want: Sequence[Pick]) -> list[str]:
    a = {p.linkedid: p for p in got}
    b = {p.linkedid: p for p in want}
    out = []
    for linkedid in sorted(a.keys() | b.keys()):
        if a.get(linkedid) != b.get(linkedid):
            out.append(f"{label}: {linkedid}: {a.get(linkedid)} != stored {b.get(linkedid)}")
    return out
