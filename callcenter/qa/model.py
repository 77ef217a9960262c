"""QA records as the service and the API see them (plain values, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from callcenter.qa.sampling import Candidate, DrawSettings, Pick, Prior

UNASSIGNED = "unassigned"
ASSIGNED = "assigned"
SUBMITTED = "submitted"
LOCKED = "locked"
STATUSES = (UNASSIGNED, ASSIGNED, SUBMITTED, LOCKED)


@dataclass(frozen=True)
class Draw:
    id: int
    month: str
    seed: str
    algorithm: str
    settings: DrawSettings
    candidates: list[Candidate]
    prior: dict[str, Prior]
    result: list[Pick]
    created_at: float
    created_by: str

    def to_json(self, *, with_candidates: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "month": self.month,
            "seed": self.seed,
            "algorithm": self.algorithm,
            "settings": self.settings.to_json(),
            "prior": {
                a: {"random": p.random, "targeted": p.targeted} for a, p in self.prior.items()
            },
            "candidates": len(self.candidates),
            "picks": [p.to_json() for p in self.result],
            "created_at": self.created_at,
            "created_by": self.created_by,
        }
        if with_candidates:
            data["candidate_set"] = [c.to_json() for c in self.candidates]
        return data


@dataclass(frozen=True)
class Sample:
    id: int
    linkedid: str
    draw_id: int | None
    month: str
    agent: str
    reason: str
    reasons: tuple[str, ...]
    stratum: str | None
    created_at: float


@dataclass(frozen=True)
class Assignment:
    id: int
    sample_id: int
    inspector: str
    calibration: bool
    due_at: float
    assigned_at: float
    assigned_by: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sample_id": self.sample_id,
            "inspector": self.inspector,
            "calibration": self.calibration,
            "due_at": self.due_at,
            "assigned_at": self.assigned_at,
            "assigned_by": self.assigned_by,
        }


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    action: str
    scores: dict[str, int]
    comments: dict[str, str]
    comment: str
    total: float
    by: str
    at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "action": self.action,
            "scores": self.scores,
            "comments": self.comments,
            "comment": self.comment,
            "total": self.total,
            "by": self.by,
            "at": self.at,
        }


@dataclass(frozen=True)
class Evaluation:
    id: int
    assignment_id: int
    sample_id: int
    linkedid: str
    agent: str
    inspector: str
    calibration: bool
    scores: dict[str, int]
    comments: dict[str, str]
    comment: str
    total: float
    form: dict[str, Any]
    version: int
    submitted_at: float
    updated_at: float
    locked_at: float | None = None
    locked_by: str | None = None
    history: tuple[HistoryEntry, ...] = field(default=())

    @property
    def locked(self) -> bool:
        return self.locked_at is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "assignment_id": self.assignment_id,
            "sample_id": self.sample_id,
            "linkedid": self.linkedid,
            "agent": self.agent,
            "inspector": self.inspector,
            "calibration": self.calibration,
            "scores": self.scores,
            "comments": self.comments,
            "comment": self.comment,
            "total": self.total,
            "form": self.form,
            "version": self.version,
            "submitted_at": self.submitted_at,
            "updated_at": self.updated_at,
            "locked": self.locked,
            "locked_at": self.locked_at,
            "locked_by": self.locked_by,
            "history": [h.to_json() for h in self.history],
        }


@dataclass(frozen=True)
class SampleRow:
    """One line of the samples list: a sample with one of its assignments (or none)."""

    sample: Sample
    assignment: Assignment | None = None
    evaluation: Evaluation | None = None

    @property
    def status(self) -> str:
        if self.assignment is None:
            return UNASSIGNED
        if self.evaluation is None:
            return ASSIGNED
        return LOCKED if self.evaluation.locked else SUBMITTED

    def to_json(self, now: float) -> dict[str, Any]:
        a, e = self.assignment, self.evaluation
        return {
            "id": self.sample.id,
            "linkedid": self.sample.linkedid,
            "agent": self.sample.agent,
            "month": self.sample.month,
            "reason": self.sample.reason,
            "reasons": list(self.sample.reasons),
            "stratum": self.sample.stratum,
            "draw_id": self.sample.draw_id,
            "assignment_id": None if a is None else a.id,
            "inspector": None if a is None else a.inspector,
            "calibration": False if a is None else a.calibration,
            "due_at": None if a is None else a.due_at,
            "overdue": a is not None and e is None and a.due_at < now,
            "status": self.status,
            "evaluation_id": None if e is None else e.id,
            "total": None if e is None else e.total,
        }
