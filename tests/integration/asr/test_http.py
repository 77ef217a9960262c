"""The transcript API on the whole app without an ASR model: who may read it, the clear
message, and the checks that need no ASR (the real-model path: test_asr_pipeline.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from callcenter.asr.tables import transcripts_table
from callcenter.calls.keys import REPOSITORY
from callcenter.calls.record import CallRecord, Direction, Outcome, Party
from callcenter.compliance.domain import Compliance
from callcenter.compliance.store import ComplianceRepository
from callcenter.kernel.roles import Role
from tests.support.accounts import logged_in, make_user
from tests.support.qa_calls import assign_sample
from tests.support.routed import RoutedApp

pytestmark = pytest.mark.asterisk

LINKEDID = "1763100000.77"


def _call() -> CallRecord:
    t0 = time.time() - 120
    return CallRecord(
        linkedid=LINKEDID,
        direction=Direction.INBOUND,
        caller_number="13800138000",
        caller_name=None,
        dialled_number="600",
        queue="support",
        arrived_at=t0,
        answered_at=t0 + 3,
        ended_at=t0 + 60,
        answer_seconds=3.0,
        rings_to_answer=1,
        answered_by=Party.AGENT,
        agent="1001",
        agent_name="Agent 1001",
        hold_seconds=3.0,
        talk_seconds=57.0,
        hangup_first=Party.AGENT,
        outcome=Outcome.ANSWERED,
    )


async def _sample_for(app: RoutedApp, inspector: str) -> None:
    async with app.app[REPOSITORY].session_factory() as session, session.begin():
        await assign_sample(session, LINKEDID, "1001", inspector, due_in=timedelta(0))


async def test_transcript_api_without_a_model(routed: Any) -> None:
    app: RoutedApp = await routed()
    await app.app[REPOSITORY].upsert_calls([_call()])
    await ComplianceRepository(app.app[REPOSITORY].session_factory).save(
        Compliance(LINKEDID, "1001", None, 0.6, True, True, ("agent-hung-up-first",)),
        time.time(),
    )
    await _sample_for(app, "qa1")
    for name, role in (("qa1", Role.QA), ("qa2", Role.QA), ("sup1", Role.SUPERVISOR)):
        await make_user(app, name, role=role)
    await make_user(app, "agent1001", role=Role.AGENT, staff_no="1001")

    view = await app.api("GET", f"/api/calls/{LINKEDID}/transcript")  # admin (service token)
    assert view["transcript"] is None
    assert view["asr"]["status"] == "off"
    assert view["asr"]["message"].startswith("no ASR model configured: set CALLCENTER_ASR_MODEL")
    checks = {c["check"]: c for c in view["checks"]}
    # the script checks say why they did not run; the others ran without ASR
    assert checks["greeting"]["passed"] is None
    assert checks["hang-up-order"]["passed"] is False
    assert checks["dead-air"]["passed"] is True
    only = await app.api("GET", f"/api/calls/{LINKEDID}/checks")
    assert only["checks"] == view["checks"]
    missing = await app.api("GET", "/api/calls/1763100000.99/transcript", status=404)
    assert missing == {
        "error_id": "call-not-found",
        "message": "no call with linkedid 1763100000.99",
        "details": {"linkedid": "1763100000.99"},
    }
    status = await app.api("GET", "/api/asr/status")
    assert status["enabled"] is False and "CALLCENTER_ASR_MODEL" in status["message"]
    metrics = await (await app.client.get("/metrics")).text()
    assert "callcenter_asr_enabled 0.0" in metrics

    async with logged_in(app, "qa1") as qa1:
        mine = await qa1.get(f"/api/calls/{LINKEDID}/transcript")
        assert mine.status == 200, await mine.text()
    async with logged_in(app, "qa2") as qa2:
        other = await qa2.get(f"/api/calls/{LINKEDID}/transcript")
        assert other.status == 403
        assert await other.json() == {  # QA's rule, applied by asr through its policy
            "error_id": "not-assigned",
            "message": "inspectors may only read calls sampled and assigned to them",
            "details": {"linkedid": LINKEDID},
        }
        checks_refused = await qa2.get(f"/api/calls/{LINKEDID}/checks")
        assert checks_refused.status == 403
    async with logged_in(app, "sup1") as sup:
        assert (await sup.get(f"/api/calls/{LINKEDID}/transcript")).status == 200
    async with logged_in(app, "agent1001") as agent:
        refused = await agent.get(f"/api/calls/{LINKEDID}/transcript")
        assert refused.status == 403
        assert (await refused.json())["error_id"] == "forbidden"


async def test_a_transcript_export_is_masked_and_audited(routed: Any) -> None:
    app: RoutedApp = await routed()
    await app.app[REPOSITORY].upsert_calls([_call()])
    await _sample_for(app, "qa1")
    await make_user(app, "qa1", role=Role.QA)
    words = [
        {"word": w, "start": 1.0 + i * 0.5, "end": 1.4 + i * 0.5, "conf": 1.0}
        for i, w in enumerate(["您好", "請", "撥", "13800138000", "再見"])
    ]
    async with app.app[REPOSITORY].session_factory() as session, session.begin():
        await session.execute(
            sa.insert(transcripts_table).values(
                linkedid=LINKEDID,
                uniqueid=LINKEDID,
                leg="agent",
                path="x/agent-voice.wav",
                engine="vosk",
                model="test",
                language="zh-CN",
                words=words,
                text=" ".join(w["word"] for w in words),
                duration=10.0,
                status="done",
                error=None,
                created_at=datetime.now(UTC),
            )
        )
    async with logged_in(app, "qa1") as qa1:
        response = await qa1.get(f"/api/calls/{LINKEDID}/transcript?format=txt")
        assert response.status == 200, await response.text()
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="transcript-{LINKEDID}.txt"'
        )
        text = await response.text()
        bad = await qa1.get(f"/api/calls/{LINKEDID}/transcript?format=pdf")
        assert bad.status == 400 and (await bad.json())["error_id"] == "bad-parameter"
    assert "您好 請 撥" in text and "再見" in text
    assert "13800138000" not in text  # masked as on the screen
    audit = await app.api("GET", "/api/audit?action=export")
    exports = [e for e in audit["entries"] if e["object_type"] == "transcript"]
    assert [(e["actor"], e["object_id"]) for e in exports] == [("qa1", LINKEDID)]
