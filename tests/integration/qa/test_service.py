"""The QA services on SQLite and PostgreSQL: draws stored and verifiable, no call sampled twice,
assignments and calibration, evaluations locked, reports, the catalogue and retention."""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from callcenter.agents.store import AgentRepository, WrapUp
from callcenter.audit.domain import AuditEntry
from callcenter.audit.service import AuditLog
from callcenter.calls.record import CallRecord, Outcome
from callcenter.calls.store import CallRepository
from callcenter.compliance.domain import Compliance
from callcenter.compliance.store import ComplianceRepository
from callcenter.config import QaConfig
from callcenter.kernel.db import create_engine, create_session_factory
from callcenter.kernel.errors import Kind
from callcenter.qa.assignment_service import AssignmentService
from callcenter.qa.assignment_store import AssignmentStore
from callcenter.qa.draw_service import DrawService
from callcenter.qa.draw_store import DrawStore
from callcenter.qa.errors import QaError
from callcenter.qa.evaluation_service import EvaluationService
from callcenter.qa.evaluation_store import EvaluationStore
from callcenter.qa.report_service import ReportService
from callcenter.qa.report_store import ReportStore
from callcenter.qa.tables import draws_table
from callcenter.recordings.catalog import RecordingCatalog
from callcenter.recordings.purge import purge_recordings
from callcenter.recordings.retention import DAY
from callcenter.recordings.store import RecordingRepository
from tests.support.audio import write_wav
from tests.support.qa_calls import NOV, call

SCORES = {"wording": 5, "attitude": 4, "tone": 2, "needs": 4, "adaptability": 3}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclasses.dataclass
class World:
    draws: DrawService
    assignments: AssignmentService
    evaluations: EvaluationService
    reports: ReportService
    calls: CallRepository
    agents: AgentRepository
    compliance: ComplianceRepository
    recordings: RecordingRepository
    audit: AuditLog
    clock: Clock
    root: Path


@pytest.fixture
async def world(migrated_db_url: str, tmp_path: Path) -> AsyncIterator[World]:
    engine = create_engine(migrated_db_url)
    factory = create_session_factory(engine)
    clock = Clock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC).timestamp())
    settings = QaConfig(inspectors=("qa1", "qa2", "qa3"), targeted_max=2, lock_days=7)
    assignments = AssignmentService(AssignmentStore(factory), settings, clock=clock)
    draw_store, report_store = DrawStore(factory), ReportStore(factory)
    try:
        yield World(
            DrawService(
                draw_store,
                settings,
                assignments,
                clock=clock,
                failed_checks=draw_store.failed_checks,
            ),
            assignments,
            EvaluationService(EvaluationStore(factory), settings, clock=clock),
            ReportService(report_store, settings, failed_checks=report_store.failed_checks),
            CallRepository(factory),
            AgentRepository(factory),
            ComplianceRepository(factory),
            RecordingRepository(factory),
            AuditLog(factory),
            clock,
            tmp_path / "recordings",
        )
    finally:
        await engine.dispose()


async def month_of_calls(w: World) -> list[CallRecord]:
    """1001 works every week, 1002 twice, 1003 once; one complaint, one dead-air call."""
    records = []
    for day in range(0, 28):
        at = NOV + day * DAY + (day % 3) * 8 * 3600 + 3600
        records.append(call(f"a{day:02d}", "1001", at))
    records += [call("b1", "1002", NOV + 3 * DAY), call("b2", "1002", NOV + 17 * DAY, talk=5.0)]
    records += [call("c1", "1003", NOV + 9 * DAY)]
    records.append(call("x1", "1001", NOV - 2 * DAY))  # October
    unanswered = dataclasses.replace(call("u1", "1001", NOV + DAY), outcome=Outcome.ABANDONED)
    await w.calls.upsert_calls([*records, unanswered])
    await w.agents.save_wrap_up(
        WrapUp("a05", "1001", "投訴", "angry", False, None, NOV + 5 * DAY), None
    )
    await w.compliance.save(
        Compliance("a10", "1001", NOV + 10 * DAY, 9.0, False, True, ("dead-air",)), NOV
    )
    return records


async def test_draw_is_stored_bounded_targeted_and_verifiable(world: World) -> None:
    await month_of_calls(world)
    outcome = await world.draws.draw("2026-11", by="sup")
    per_agent = Counter(s.agent for s in outcome.samples if s.reason == "random")
    assert per_agent == {"1001": 5, "1002": 2, "1003": 1}
    targeted = {s.linkedid: s.reasons for s in outcome.samples if s.reason != "random"}
    picked = {s.linkedid: s.reasons for s in outcome.samples}
    assert "complaint" in picked["a05"] and "dead-air" in picked["a10"]
    assert picked["b2"][-1] == "short-call"  # 5 s of talk
    assert all(len(r) >= 1 for r in targeted.values())
    assert "x1" not in picked and "u1" not in picked  # other month; not answered
    draw = outcome.draw
    assert len(draw.candidates) == 31 and draw.seed and draw.algorithm == "strata-sha256-v1"
    # Round-robin: 3 inspectors share the samples within one of each other.
    loads = Counter(outcome.assignments.values())
    assert max(loads.values()) - min(loads.values()) <= 1 and set(loads) == {"qa1", "qa2", "qa3"}

    verification = await world.draws.verify_draw(draw.id)
    assert verification.ok and verification.candidates_match, verification.differences

    # A tampered seed no longer reproduces the stored picks.
    async with world.draws.store.session_factory() as session, session.begin():
        await session.execute(
            sa.update(draws_table).where(draws_table.c.id == draw.id).values(seed="tampered")
        )
    tampered = await world.draws.verify_draw(draw.id)
    assert not tampered.reproduced and tampered.differences

    # A re-draw of the month tops up only: a new call of a new agent, nothing twice.
    await world.calls.upsert_calls([call("d1", "1004", NOV + 20 * DAY)])
    again = await world.draws.draw("2026-11", by="sup")
    assert [(s.linkedid, s.reason) for s in again.samples] == [("d1", "random")]
    assert again.draw.prior["1001"].random == 5
    assert (await world.draws.verify_draw(draw.id + 1)).ok
    with pytest.raises(QaError) as missing:
        await world.draws.verify_draw(999)
    assert missing.value.error_id == "draw-not-found"
    with pytest.raises(QaError) as bad:
        await world.draws.draw("2026-13", by="sup")
    assert bad.value.error_id == "month-invalid"


async def test_failed_script_checks_target_calls(world: World) -> None:
    from callcenter.asr.tables import script_checks_table

    await world.calls.upsert_calls([call("g1", "1005", NOV), call("g2", "1005", NOV + 1)])
    async with world.draws.store.session_factory() as session, session.begin():
        await session.execute(
            sa.insert(script_checks_table),
            [
                {
                    "linkedid": linkedid,
                    "check": "greeting",
                    "passed": passed,
                    "detail": "",
                    "suggestion": "",
                    "evidence": [],
                    "language": "zh-CN",
                    "created_at": datetime.now(UTC),
                }
                for linkedid, passed in (("g1", False), ("g2", True))
            ],
        )
    candidates = {c.linkedid: c.flags for c in await world.draws.candidates("2026-11")}
    assert candidates == {"g1": ("missing-greeting",), "g2": ()}


async def test_assignment_calibration_evaluation_lock_and_history(world: World) -> None:
    await world.calls.upsert_calls([call("e1", "1001", NOV + DAY)])
    outcome = await world.draws.draw("2026-11", by="sup", assign=False)
    (sample,) = outcome.samples
    first = await world.assignments.assign(sample.id, ["qa1"], due_at=None, by="sup")
    assert [(a.inspector, a.calibration) for a in first] == [("qa1", False)]
    both = await world.assignments.assign(sample.id, ["qa2"], due_at=None, by="sup")
    assert [(a.inspector, a.calibration) for a in both] == [("qa1", False), ("qa2", True)]
    with pytest.raises(QaError) as unknown:
        await world.assignments.assign(sample.id, ["mallory"], due_at=None, by="sup")
    assert unknown.value.error_id == "inspector-unknown"
    with pytest.raises(QaError) as past:
        await world.assignments.assign(sample.id, ["qa3"], due_at=world.clock.now - 1, by="sup")
    assert past.value.error_id == "due-date-past"

    with pytest.raises(QaError) as stranger:
        await world.evaluations.evaluate(sample.id, "qa3", {"scores": SCORES}, by="qa3")
    assert stranger.value.error_id == "not-assigned"
    with pytest.raises(QaError) as invalid:
        await world.evaluations.evaluate(
            sample.id, "qa1", {"scores": {**SCORES, "tone": 9}}, by="qa1"
        )
    assert invalid.value.error_id == "score-out-of-range"

    evaluation, created = await world.evaluations.evaluate(
        sample.id, "qa1", {"scores": SCORES, "comments": {"tone": "flat"}}, by="qa1"
    )
    assert created and evaluation.version == 1 and evaluation.total == 65.0
    world.clock.now += 3600
    edited, created = await world.evaluations.evaluate(
        sample.id, "qa1", {"scores": {**SCORES, "tone": 4}, "version": 1}, by="qa1"
    )
    assert not created and edited.version == 2 and edited.total == 75.0
    assert [(h.version, h.action, h.scores["tone"]) for h in edited.history] == [
        (1, "submit", 2),
        (2, "edit", 4),
    ]
    with pytest.raises(QaError) as stale:
        await world.evaluations.evaluate(
            sample.id, "qa1", {"scores": SCORES, "version": 1}, by="qa1"
        )
    assert stale.value.error_id == "evaluation-conflict"
    other, _ = await world.evaluations.evaluate(
        sample.id, "qa2", {"scores": {**SCORES, "tone": 1}}, by="qa2"
    )
    assert other.calibration

    calibration = await world.reports.calibration("e1")
    tone = next(i for i in calibration["items"] if i["key"] == "tone")
    assert tone["scores"] == {"qa1": 4, "qa2": 1} and tone["spread"] == 3
    summary = await world.reports.summary("2026-11")
    (row,) = summary["agents"]
    assert row["evaluations"] == 1 and row["items"]["tone"] == 4.0  # calibration not counted

    locked = await world.evaluations.lock(edited.id, by="sup")
    assert locked.locked and locked.locked_by == "sup"
    assert locked.history[-1].action == "lock"
    with pytest.raises(QaError) as closed:
        await world.evaluations.evaluate(sample.id, "qa1", {"scores": SCORES}, by="qa1")
    assert closed.value.error_id == "evaluation-locked" and closed.value.kind is Kind.CONFLICT

    # qa2's evaluation locks by itself 7 days after it was submitted.
    world.clock.now = other.submitted_at + 7 * DAY + 1
    with pytest.raises(QaError) as auto:
        await world.evaluations.evaluate(sample.id, "qa2", {"scores": SCORES}, by="qa2")
    assert auto.value.error_id == "evaluation-locked"
    assert (await world.evaluations.evaluation(other.id)).locked_by == "auto"
    assert await world.evaluations.auto_lock() == 0


async def test_weekly_report_counts_item_defects_and_compliance_flags(world: World) -> None:
    week_start = datetime(2026, 11, 23, tzinfo=UTC).timestamp()
    await world.calls.upsert_calls([call("w1", "1001", week_start + 3600)])
    await world.compliance.save(
        Compliance("w1", "1001", week_start, 9.0, True, True, ("dead-air", "agent-hung-up-first")),
        week_start,
    )
    outcome = await world.draws.draw("2026-11", by="sup")
    sample = outcome.samples[0]
    inspector = outcome.assignments[sample.id]
    world.clock.now = week_start + 2 * DAY
    await world.evaluations.evaluate(sample.id, inspector, {"scores": SCORES}, by=inspector)
    report = await world.reports.weekly("2026-W48")
    found = {(d["kind"], d["key"]): d["count"] for d in report["defects"]}
    assert found == {
        ("item", "tone"): 1,
        ("compliance", "dead-air"): 1,
        ("compliance", "agent-hung-up-first"): 1,
    }
    assert report["evaluations"] == 1
    assert (await world.reports.weekly("2026-W47"))["defects"] == []


async def test_catalogue_and_retention_keep_the_call_and_held_samples(world: World) -> None:
    old, sampled = call("r1", "1001", NOV), call("r2", "1002", NOV + 60)
    for record in (old, sampled):
        write_wav(world.root / record.recordings[0].path, 1.5)
    await world.calls.upsert_calls([old, sampled])
    catalog = RecordingCatalog(world.recordings, world.root, settle=0.05, clock=world.clock)
    (measured,) = await catalog.catalogue(old)
    assert measured.duration_seconds == 1.5 and measured.leg == "mixed"
    data = (world.root / old.recordings[0].path).read_bytes()
    assert measured.sha256 == hashlib.sha256(data).hexdigest() and measured.size_bytes == len(data)
    assert await catalog.catalogue(old) == []  # measured once
    assert await catalog.backfill(older_than=0) == 1  # r2 was never submitted
    outcome = await world.draws.draw("2026-11", by="sup")
    r2_sample = next(s for s in outcome.samples if s.linkedid == "r2")
    r1_sample = next(s for s in outcome.samples if s.linkedid == "r1")
    inspector = outcome.assignments[r1_sample.id]
    evaluation, _ = await world.evaluations.evaluate(
        r1_sample.id, inspector, {"scores": SCORES}, by="x"
    )
    await world.evaluations.lock(evaluation.id, by="sup")

    now = NOV + 400 * DAY
    dry = await purge_recordings(
        world.recordings,
        world.evaluations.store.held_linkedids,
        world.root,
        retention_days=365,
        now=now,
        dry_run=True,
    )
    assert [r.linkedid for r in dry.deleted] == ["r1"] and [r.linkedid for r in dry.held] == ["r2"]
    assert (world.root / old.recordings[0].path).exists()
    done = await purge_recordings(
        world.recordings,
        world.evaluations.store.held_linkedids,
        world.root,
        retention_days=365,
        now=now,
    )
    assert [r.linkedid for r in done.deleted] == ["r1"]
    assert not (world.root / old.recordings[0].path).exists()
    assert (world.root / sampled.recordings[0].path).exists()  # r2: sample not evaluated
    (gone,) = await world.recordings.for_call("r1")
    assert gone.deleted_at == now and gone.delete_reason == "retention"
    assert await world.calls.get("r1") is not None  # the call record stays
    assert r2_sample.id > 0
    kept = await purge_recordings(
        world.recordings,
        world.evaluations.store.held_linkedids,
        world.root,
        retention_days=0,
        now=now,
    )
    assert kept.deleted == [] and kept.retention_days == 0


async def test_audit_log_is_searchable_newest_first(world: World) -> None:
    for n, action in enumerate(("play", "download", "denied")):
        await world.audit.record(
            AuditEntry("qa1", "qa", action, "recording", str(n), at=NOV + n, ip="127.0.0.1")
        )
    entries = await world.audit.search(actor="qa1")
    assert [e.action for e in entries] == ["denied", "download", "play"]
    assert [e.object_id for e in await world.audit.search(action="play")] == ["0"]
    assert await world.audit.search(actor="nobody") == []
