"""The monthly draw: candidates from the calls, a stored reproducible draw, its verification."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from callcenter.config import QaConfig
from callcenter.kernel.clock import Clock
from callcenter.kernel.errors import Kind
from callcenter.kernel.shifts import Shift
from callcenter.qa.assignment_service import AssignmentService
from callcenter.qa.draw_store import DrawStore
from callcenter.qa.errors import QaError
from callcenter.qa.model import Draw, Sample
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
)
from callcenter.qa.service import CheckSource, check_month, no_checks, sampling_error
from callcenter.qa.store import DrawConflictError

log = logging.getLogger(__name__)


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


class DrawService:
    def __init__(
        self,
        store: DrawStore,
        settings: QaConfig,
        assignments: AssignmentService,
        *,
        timezone: str = "UTC",
        shifts: Sequence[Shift] = (),
        failed_checks: CheckSource = no_checks,
        complaint_category: str = "投訴",
        clock: Clock = time.time,
        new_seed: Callable[[], str] = lambda: secrets.token_hex(16),
    ) -> None:
        self.store = store
        self.settings = settings
        # A fresh draw is handed round at once (unless the caller says not to).
        self._assignments = assignments
        self.timezone = timezone
        self.shifts = tuple(shifts)
        self._failed_checks = failed_checks
        self.complaint_category = complaint_category
        self._clock = clock
        self._new_seed = new_seed

    @property
    def draw_settings(self) -> DrawSettings:
        return DrawSettings(
            self.settings.samples_min, self.settings.samples_max, self.settings.targeted_max
        )

    async def candidates(self, month: str) -> list[Candidate]:
        """The month's answered calls not sampled before, each with its stratum and flags."""
        try:
            start, end = month_bounds(month, self.timezone)
        except SamplingError as exc:
            raise sampling_error(exc) from None
        facts = await self.store.call_facts(start.timestamp(), end.timestamp())
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
        check_month(month)
        settings = self.draw_settings
        for attempt in range(3):
            candidates = await self.candidates(month)
            prior = await self.store.prior(month)
            chosen_seed = seed or self._new_seed()
            try:
                picks = draw_samples(candidates, chosen_seed, settings, prior)
            except SamplingError as exc:
                raise sampling_error(exc) from None
            try:
                draw, samples = await self.store.save_draw(
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
                assigned = await self._assignments.auto_assign(
                    [s.id for s in samples], by=by, required=False
                )
            log.info(
                "QA draw %d for %s: %d samples from %d candidates",
                draw.id,
                month,
                len(samples),
                len(candidates),
            )
            return DrawOutcome(draw, samples, assigned)
        raise QaError(
            Kind.CONFLICT, "draw-conflict", "other draws kept taking the same calls; try again"
        )

    async def verify_draw(self, draw_id: int) -> Verification:
        """Re-run a stored draw from its seed and candidate set and compare."""
        draw = await self.store.get_draw(draw_id)
        if draw is None:
            raise QaError(Kind.NOT_FOUND, "draw-not-found", f"no draw {draw_id}", draw_id=draw_id)
        differences: list[str] = []
        again = draw_samples(draw.candidates, draw.seed, draw.settings, draw.prior)
        reproduced = again == draw.result
        if not reproduced:
            differences.extend(_pick_diff("re-run", again, draw.result))
        stored = {s.linkedid: s for s in await self.store.samples_of_draw(draw_id)}
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
                for row in await self.store.list_rows(month=draw.month, limit=100_000)
                if (s := row.sample).draw_id is not None and s.draw_id >= draw_id
            }
            recorded = {c.linkedid for c in draw.candidates}
            current = {c.linkedid for c in now} | (later & recorded)
            before = await self.store.sampled_before(draw_id, sorted(recorded))
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


def _pick_diff(label: str, got: Sequence[Pick], want: Sequence[Pick]) -> list[str]:
    a = {p.linkedid: p for p in got}
    b = {p.linkedid: p for p in want}
    out = []
    for linkedid in sorted(a.keys() | b.keys()):
        if a.get(linkedid) != b.get(linkedid):
            out.append(f"{label}: {linkedid}: {a.get(linkedid)} != stored {b.get(linkedid)}")
    return out
