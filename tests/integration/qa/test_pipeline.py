"""QA on the real stack: a real call is recorded on every leg and catalogued, the month's
draw picks it, its inspector streams it with range requests (audited), other inspectors
and agents are refused, and the evaluation is submitted, edited, locked."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import pytest

from callcenter.config import QaConfig
from callcenter.kernel.roles import Role
from callcenter.qa.keys import QA
from callcenter.qa.sampling import month_of
from callcenter.recordings.recording import Recording
from tests.support.accounts import logged_in, make_user
from tests.support.asterisk_fixtures import PhonePool, TestAsterisk
from tests.support.softphone import make_wav

pytestmark = pytest.mark.asterisk

SCORES = {"wording": 5, "attitude": 4, "tone": 4, "needs": 3, "adaptability": 4}


async def _catalogued(app: Any, linkedid: str, legs: int, within: float = 30.0) -> list[Recording]:
    state = app.app[QA]
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = await state.recordings.for_call(linkedid)
        if len(found) >= legs:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{len(found)} of {legs} recordings catalogued: {found}")
        await asyncio.sleep(0.2)


async def test_a_recorded_call_is_drawn_streamed_to_its_inspector_and_scored(
    asterisk: TestAsterisk, softphones: PhonePool, routed: Any, tmp_path: Path
) -> None:
    # Every candidate is drawn: calls rebuilt from earlier tests' trail may share the month.
    qa_settings = dataclasses.replace(QaConfig(), samples_min=50, samples_max=50)
    app = await routed(overrides={"qa": qa_settings})
    agent_voice = make_wav(tmp_path / "agent.wav", 30, text="您好 客服部 工號 1001 為您服務")
    await softphones("1001", wav=agent_voice)
    await app.agent("1001")
    caller = await softphones("2001", wav=make_wav(tmp_path / "caller.wav", 30, freq=300))
    await caller.dial(asterisk.config.asterisk.inbound_number)
    await caller.wait_event("CALL_ESTABLISHED", 20)
    await asyncio.sleep(5)  # both talk
    await caller.hangup()
    (record,) = await app.calls(1)

    # Four files per answered call, each measured: duration, size, sha256 of the real file.
    recordings = await _catalogued(app, record.linkedid, 4)
    assert {(r.leg, r.source) for r in recordings} == {
        ("mixed", "caller"),
        ("mixed", "agent"),
        ("agent", "agent-voice"),
        ("caller", "customer-voice"),
    }
    root = asterisk.recordings_dir
    for recording in recordings:
        data = (root / recording.path).read_bytes()
        assert recording.duration_seconds is not None and recording.duration_seconds > 2.0
        assert recording.size_bytes == len(data)
        assert recording.sha256 == hashlib.sha256(data).hexdigest()
        assert f"/{record.linkedid}/" in recording.path  # YYYY/MM/DD/<linkedid>/
    mixed = next(r for r in recordings if r.source == "agent")

    await make_user(app, "qa1", role=Role.QA)
    await make_user(app, "qa2", role=Role.QA)
    await make_user(app, "sup1", role=Role.SUPERVISOR)
    await make_user(app, "agent1", role=Role.AGENT, staff_no="1001")
    month = month_of(record.arrived_at or 0.0, app.config.router.timezone)

    async with logged_in(app, "sup1") as sup:
        response = await sup.post("/api/qa/draws", json={"month": month})
        drawn = await response.json()
        assert response.status == 201, drawn
        ours = next(s for s in drawn["samples"] if s["linkedid"] == record.linkedid)
        inspector = ours["inspector"]
        assert inspector in {"qa1", "qa2"}
        other = "qa2" if inspector == "qa1" else "qa1"
        verify = await (await sup.get(f"/api/qa/draws/{drawn['draw']['id']}/verify")).json()
        assert verify["ok"] and verify["candidates_match"], verify
        bad = await sup.post("/api/qa/draws", json={"month": "2026-13"})
        assert bad.status == 400 and (await bad.json())["error_id"] == "month-invalid"

    url = f"/api/recordings/{mixed.id}/audio"
    data = (root / mixed.path).read_bytes()
    async with logged_in(app, inspector) as qa:
        listing = await (await qa.get("/api/qa/samples")).json()
        assert [s["linkedid"] for s in listing["samples"]] == [record.linkedid]
        detail = await (await qa.get(f"/api/qa/samples/{ours['id']}")).json()
        assert detail["sample"]["status"] == "assigned" and detail["editable"] is True
        assert detail["call"]["linkedid"] == record.linkedid
        assert len(detail["recordings"]) == 4
        assert detail["recordings"][0]["id"] == mixed.id  # the agent channel's mix first
        assert [i["key"] for i in detail["form"]["items"]] == list(SCORES)

        partial = await qa.get(url, headers={"Range": "bytes=100-1099"})
        assert partial.status == 206
        assert partial.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
        assert await partial.read() == data[100:1100]
        whole = await qa.get(url)
        assert whole.status == 200 and whole.headers["Content-Type"] == "audio/wav"
        assert await whole.read() == data

        submitted = await qa.request(
            "PUT", f"/api/qa/samples/{ours['id']}/evaluation", json={"scores": SCORES}
        )
        evaluation = (await submitted.json())["evaluation"]
        assert submitted.status == 201 and evaluation["total"] == 75.0
        invalid = await qa.request(
            "PUT", f"/api/qa/samples/{ours['id']}/evaluation", json={"scores": {"tone": 9}}
        )
        assert invalid.status == 400
        assert (await invalid.json())["error_id"] == "score-item-missing"
        edited = await qa.request(
            "PUT",
            f"/api/qa/samples/{ours['id']}/evaluation",
            json={"scores": {**SCORES, "tone": 5}, "comments": {"tone": "warm"}},
        )
        assert edited.status == 200
        assert (await edited.json())["evaluation"]["version"] == 2

    async with logged_in(app, other) as stranger:
        refused = await stranger.get(url)
        assert refused.status == 403 and (await refused.json())["error_id"] == "not-assigned"
        hidden = await stranger.get(f"/api/qa/samples/{ours['id']}")
        assert hidden.status == 403
    async with logged_in(app, "agent1") as agent:
        refused = await agent.get(url)
        assert refused.status == 403 and (await refused.json())["error_id"] == "forbidden"

    async with logged_in(app, "sup1") as sup:
        locked = await sup.post(f"/api/qa/evaluations/{evaluation['id']}/lock", json={})
        assert locked.status == 200 and (await locked.json())["evaluation"]["locked"] is True
        audit = await (await sup.get("/api/audit?object_type=recording")).json()
        entries = [e for e in audit["entries"] if e["object_id"] == str(mixed.id)]
        plays = [e for e in entries if e["action"] == "play" and e["actor"] == inspector]
        assert [e["details"].get("range") for e in plays] == [None, "bytes=100-1099"]
        assert all(e["ip"] == "127.0.0.1" and e["role"] == "qa" for e in plays)
        # Newest first: the agent's refusal (the route policy's) is audited too.
        denied = [(e["actor"], e["role"]) for e in entries if e["action"] == "denied"]
        assert denied == [("agent1", "agent"), (other, "qa")]
        summary = await (await sup.get(f"/api/qa/summary?month={month}")).json()
        row = next(a for a in summary["agents"] if a["agent"] == "1001")
        assert row["evaluations"] == 1 and row["items"]["tone"] == 5.0

    async with logged_in(app, inspector) as qa:
        late = await qa.request(
            "PUT", f"/api/qa/samples/{ours['id']}/evaluation", json={"scores": SCORES}
        )
        assert late.status == 409 and (await late.json())["error_id"] == "evaluation-locked"
