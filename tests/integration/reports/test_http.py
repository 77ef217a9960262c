"""Reports over HTTP on the real app: JSON, CSV for Excel, bad filters, who sees what."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from callcenter.calls.keys import REPOSITORY
from callcenter.calls.record import CallRecord, Direction, Outcome, Party
from callcenter.kernel.roles import Role
from tests.support.accounts import logged_in, make_user

pytestmark = pytest.mark.asterisk


def at(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC).timestamp()  # the tests' center: UTC


def call(
    linkedid: str,
    arrived: float,
    agent: str | None,
    *,
    outcome: Outcome = Outcome.ANSWERED,
    answer: float | None = 4.0,
    queue: str = "support",
    direction: Direction = Direction.INBOUND,
) -> CallRecord:
    answered = outcome is Outcome.ANSWERED
    return CallRecord(
        linkedid=linkedid,
        direction=direction,
        caller_number="13800138000",
        caller_name=None,
        dialled_number="600",
        queue=queue,
        arrived_at=arrived,
        answered_at=arrived + (answer or 0) if answered else None,
        ended_at=arrived + 90,
        answer_seconds=answer if answered else None,
        rings_to_answer=None,
        answered_by=Party.AGENT if answered else None,
        agent=agent if answered else None,
        agent_name=agent if answered else None,
        hold_seconds=0.0,
        talk_seconds=80.0 if answered else None,
        hangup_first=Party.CALLER,
        outcome=outcome,
    )


async def _seed(app: Any) -> None:
    await app.agent("1001", login=False)
    await app.agent("1002", login=False)
    await app.app[REPOSITORY].upsert_calls(
        [
            call("w1", at(5, 9), "1001"),
            call("w2", at(5, 9, 30), "1001", answer=20.0),
            call("w3", at(5, 10), "1002"),
            call("w4", at(6, 9), "1001", queue="sales"),
            call("ab", at(5, 9, 40), None, outcome=Outcome.ABANDONED),
            call("old", at(1, 9), "1001"),  # outside the range asked for
        ]
    )
    for linkedid, staff, category, extra in (
        ("w1", "1001", "咨詢", {}),
        ("w2", "1001", "投訴", {"subcategory": "配送", "notes": "=cmd|' /C calc'!A0"}),
        ("w3", "1002", "投訴", {"subcategory": "收費", "resolved": True}),
        ("w4", "1001", "查詢", {}),
    ):
        await app.api(
            "POST",
            f"/api/agents/{staff}/wrapup",
            201,
            linkedid=linkedid,
            category=category,
            **extra,
        )


async def test_reports_as_json_and_as_csv_that_excel_opens(routed: Any) -> None:
    app = await routed()
    await _seed(app)
    span = "from=2026-10-05&to=2026-10-11"

    daily = await app.api("GET", f"/api/reports/workload?{span}")
    rows = {(r["period"], r["staff_no"]): r for r in daily["rows"]}
    assert set(rows) == {("2026-10-05", "1001"), ("2026-10-05", "1002"), ("2026-10-06", "1001")}
    assert rows[("2026-10-05", "1001")]["cat:投訴"] == 1
    assert rows[("2026-10-05", "1001")]["answered"] == 2
    assert daily["filters"]["from"] == "2026-10-05" and daily["totals"]["answered"] == 4
    weekly = await app.api("GET", f"/api/reports/workload?{span}&period=week&queue=support")
    assert [(r["period"], r["staff_no"], r["answered"]) for r in weekly["rows"]] == [
        ("2026-W41", "1001", 2),
        ("2026-W41", "1002", 1),
    ]
    one = await app.api("GET", f"/api/reports/workload?{span}&agent=1002")
    assert [r["staff_no"] for r in one["rows"]] == ["1002"]

    complaints = await app.api("GET", f"/api/reports/complaints?{span}")
    assert [(r["subcategory"], r["count"], r["share"]) for r in complaints["rows"]] == [
        ("收費", 1, 0.5),
        ("配送", 1, 0.5),
    ]
    assert complaints["rows"][0]["resolved"] == 1 and complaints["rows"][1]["open"] == 1

    level = await app.api("GET", f"/api/reports/service-level?{span}")
    nine = next(r for r in level["rows"] if (r["date"], r["hour"]) == ("2026-10-05", "09:00"))
    assert (nine["offered"], nine["within_budget"], nine["abandoned"]) == (3, 1, 1)

    response = await app.client.get(f"/api/reports/complaints?{span}&format=csv")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="complaints-weekly-2026-10-05-2026-10-11.csv"'
    )
    body = await response.read()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese right
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert table[0][:3] == ["週 / week", "投訴類別 / complaint type", "件數 / count"]
    assert [r[1] for r in table[1:]] == ["收費", "配送"]

    response = await app.client.get(f"/api/reports/workload?{span}&format=csv")
    text = (await response.read()).decode("utf-8-sig")
    assert "咨詢 / inquiries" in text.splitlines()[0]
    assert response.headers["Content-Disposition"].endswith(
        'filename="workload-daily-by-agent-2026-10-05-2026-10-11.csv"'
    )


async def test_bad_filters_get_clear_errors(routed: Any) -> None:
    app = await routed()
    for query, status, error_id in (
        ("from=2026-13-01", 400, "bad-date"),
        ("from=2026-10-09&to=2026-10-01", 400, "bad-range"),
        ("from=2020-01-01&to=2026-10-01", 400, "range-too-long"),
        ("period=month", 400, "bad-parameter"),
        ("format=xlsx", 400, "bad-parameter"),
        ("agent=../1", 400, "bad-parameter"),
        ("form=2026-10-01", 400, "unknown-parameter"),
    ):
        body = await app.api("GET", f"/api/reports/workload?{query}", status)
        assert body["error_id"] == error_id, (query, body)
        assert body["message"]
    unknown = await app.api("GET", "/api/reports/sales", 404)
    assert unknown["error_id"] == "unknown-report" and "workload" in unknown["message"]


async def test_each_role_sees_only_its_reports(routed: Any) -> None:
    app = await routed()
    await _seed(app)
    await make_user(app, "agent1", role=Role.AGENT, staff_no="1001")
    await make_user(app, "boss", role=Role.SUPERVISOR)
    await make_user(app, "inspector", role=Role.QA)
    span = "from=2026-10-05&to=2026-10-11"
    async with logged_in(app, "agent1") as agent:
        mine = await (await agent.get(f"/api/reports/workload?{span}")).json()
        assert {r["staff_no"] for r in mine["rows"]} == {"1001"}
        assert mine["filters"]["agent"] == "1001"
        for path in (
            f"/api/reports/workload?{span}&agent=1002",
            f"/api/reports/workload?{span}&by=shift",
            f"/api/reports/complaints?{span}",
            "/api/reports/service-level",
        ):
            refused = await agent.get(path)
            assert refused.status == 403, path
        assert (await agent.get("/reports")).status == 403
    async with logged_in(app, "inspector") as qa:
        assert (await qa.get(f"/api/reports/workload?{span}")).status == 403
        # The QA module's monthly summary, laid out as a report (no evaluations yet).
        summary = await (await qa.get("/api/reports/qa?month=2026-10")).json()
        assert (summary["kind"], summary["rows"], summary["month"]) == ("qa-monthly", [], "2026-10")
        assert "item:wording" in [c["key"] for c in summary["columns"]]
        csv_file = await qa.get("/api/reports/qa?month=2026-10&format=csv")
        assert csv_file.headers["Content-Disposition"].endswith('filename="qa-monthly-2026-10.csv"')
        bad = await qa.get("/api/reports/qa?month=2026-1")
        assert (bad.status, (await bad.json())["details"]["field"]) == (400, "month")
    async with logged_in(app, "boss") as boss:
        assert (await boss.get(f"/api/reports/complaints?{span}")).status == 200
        page = await boss.get("/reports")
        assert page.status == 200 and "/static/reports/reports.js" in await page.text()
