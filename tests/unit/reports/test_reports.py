"""Reports: the pure aggregation over hand-built call records, the query checks, CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from callcenter.calls.record import CallRecord, Direction, Outcome, Party
from callcenter.config import DEFAULT_CATEGORIES, RingConfig
from callcenter.kernel.errors import Kind
from callcenter.reports.complaints import complaints
from callcenter.reports.export import BOM, filename, to_csv
from callcenter.reports.quality import qa_table
from callcenter.reports.query import MAX_DAYS, ReportError, parse_query
from callcenter.reports.records import (
    ReportCall,
    RosterEntry,
    day_bounds,
    local_zone,
    period_key,
    resolve_staff,
    select,
)
from callcenter.reports.service_level import service_level_by_hour
from callcenter.reports.table import Column, Table
from callcenter.reports.workload import workload

TZ = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TZ)
RING = RingConfig(cadence_seconds=5.0, budget_rings=3)
ROSTER = {
    "1001": RosterEntry("1001", "Wang", "1001", "A"),
    "1002": RosterEntry("1002", "Li", "ep-1002", None),
}


def at(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).timestamp()


_seq = iter(range(10_000))


def record(
    arrived: float,
    *,
    outcome: Outcome = Outcome.ANSWERED,
    answered_by: Party | None = Party.AGENT,
    answer: float | None = 4.0,
    talk: float | None = 60.0,
    ended: float | None = None,
    direction: Direction = Direction.INBOUND,
    queue: str = "support",
    agent: str | None = "1001",
    hangup_first: Party | None = Party.CALLER,
) -> CallRecord:
    return CallRecord(
        linkedid=f"call-{next(_seq)}",
        direction=direction,
        caller_number="13800138000",
        caller_name=None,
        dialled_number="600",
        queue=queue,
        arrived_at=arrived,
        answered_at=None if answer is None else arrived + answer,
        ended_at=ended if ended is not None else arrived + (answer or 0) + (talk or 0),
        answer_seconds=answer,
        rings_to_answer=None,
        answered_by=answered_by,
        agent=agent,
        agent_name=None,
        hold_seconds=0.0,
        talk_seconds=talk,
        hangup_first=hangup_first,
        outcome=outcome,
    )


def abandoned(arrived: float, waited: float) -> CallRecord:
    return record(
        arrived,
        outcome=Outcome.ABANDONED,
        answered_by=None,
        answer=None,
        talk=None,
        ended=arrived + waited,
        agent=None,
    )


def worked(
    arrived: float,
    staff_no: str = "1001",
    category: str | None = "咨詢",
    **kw: object,
) -> ReportCall:
    wrap = kw.pop("wrap", 10.0)
    extra = {k: kw.pop(k) for k in ("subcategory", "resolved", "case_status") if k in kw}
    return ReportCall(
        record=record(arrived, **kw),  # type: ignore[arg-type]
        staff_no=staff_no,
        category=category,
        wrap_seconds=wrap if category else None,  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


# -- workload -----------------------------------------------------------------------------


def test_daily_workload_counts_each_agents_calls_by_category_and_proactive_calls() -> None:
    calls = [
        worked(at(23, 9), category="咨詢", talk=100.0, wrap=20.0),
        worked(at(23, 10), category="查詢", talk=50.0, wrap=10.0),
        worked(at(23, 11), category="投訴", talk=300.0, wrap=60.0),
        worked(at(23, 12), category=None, talk=30.0),  # answered, never wrapped up
        # A callback the customer answered and one they did not: both proactive.
        worked(at(23, 14), category="查詢", direction=Direction.OUTBOUND, talk=40.0, wrap=5.0),
        worked(
            at(23, 15),
            category=None,
            direction=Direction.OUTBOUND,
            outcome=Outcome.UNANSWERED,
            answered_by=None,
            answer=None,
            talk=None,
        ),
        worked(at(24, 9), category="咨詢"),  # the next day
        worked(at(23, 9, 30), staff_no="1002", category="建議"),
        ReportCall(record=abandoned(at(23, 9, 45), 20.0)),  # nobody's work
    ]
    table = workload(calls, ROSTER, categories=DEFAULT_CATEGORIES, timezone=TZ)
    rows = {(r["period"], r["staff_no"]): r for r in table.rows}
    assert set(rows) == {("2026-11-23", "1001"), ("2026-11-23", "1002"), ("2026-11-24", "1001")}
    day = rows[("2026-11-23", "1001")]
    assert (day["name"], day["shift"]) == ("Wang", "A")
    assert day["answered"] == 4  # inbound answered, not the callbacks
    assert (day["cat:咨詢"], day["cat:查詢"], day["cat:投訴"], day["cat:建議"]) == (1, 2, 1, 0)
    assert day["no_wrapup"] == 1
    assert (day["proactive"], day["proactive_answered"]) == (2, 1)
    assert day["talk_seconds"] == 100 + 50 + 300 + 30 + 40
    # AHT = (talk + wrap-up) / calls handled (4 inbound + 1 answered callback).
    assert day["aht_seconds"] == pytest.approx((520 + 20 + 10 + 60 + 5) / 5, abs=0.1)
    assert rows[("2026-11-23", "1002")]["cat:建議"] == 1
    assert table.extra["totals"]["answered"] == 6
    keys = [c.key for c in table.columns]
    assert keys.index("cat:咨詢") < keys.index("cat:查詢") < keys.index("cat:投訴")


def test_weekly_workload_per_shift_uses_the_roster_then_the_hours() -> None:
    calls = [
        worked(at(23, 9)),  # Monday, 1001 rostered on A
        worked(at(29, 21), category="查詢"),  # Sunday: same ISO week
        worked(at(23, 13), staff_no="1002"),  # no roster shift: the shift covering 13:00
        worked(at(23, 23), staff_no="1002"),  # no shift covers 23:00
        worked(at(30, 9)),  # the next ISO week
    ]

    def shift_at(epoch: float) -> str | None:
        return "B" if 12 <= datetime.fromtimestamp(epoch, SHANGHAI).hour < 20 else None

    table = workload(
        calls,
        ROSTER,
        categories=DEFAULT_CATEGORIES,
        timezone=TZ,
        period="week",
        by="shift",
        shift_at=shift_at,
    )
    rows = {(r["period"], r["shift"]): r for r in table.rows}
    assert set(rows) == {("2026-W48", "A"), ("2026-W48", "B"), ("2026-W48", "-"), ("2026-W49", "A")}
    assert rows[("2026-W48", "A")]["answered"] == 2
    assert rows[("2026-W48", "A")]["cat:查詢"] == 1
    assert "staff_no" not in [c.key for c in table.columns]
    assert table.kind == "workload-weekly-by-shift"


def test_a_category_no_longer_configured_still_shows() -> None:
    table = workload(
        [worked(at(23, 9), category="退貨")], ROSTER, categories=("咨詢",), timezone=TZ
    )
    assert table.rows[0]["cat:退貨"] == 1
    assert [c.key for c in table.columns if c.key.startswith("cat:")] == ["cat:咨詢", "cat:退貨"]


# -- complaints ---------------------------------------------------------------------------


def test_weekly_complaints_by_type_with_resolution_and_share() -> None:
    calls = [
        worked(at(23, 9), category="投訴", subcategory="配送", case_status="open"),
        worked(at(24, 9), category="投訴", subcategory="配送", case_status="closed"),
        worked(at(24, 10), category="投訴", subcategory=" 配送 ", resolved=True),
        worked(at(25, 9), category="投訴", subcategory="收費", case_status="resolved"),
        worked(at(25, 10), category="投訴"),  # no type, no case: open
        worked(at(25, 11), category="咨詢"),
        worked(at(30, 9), category="投訴", subcategory="收費", case_status="open"),  # next week
    ]
    table = complaints(calls, complaint_category="投訴", timezone=TZ)
    week = [r for r in table.rows if r["week"] == "2026-W48"]
    assert [(r["subcategory"], r["count"]) for r in week] == [("配送", 3), ("-", 1), ("收費", 1)]
    delivery = week[0]
    assert delivery["share"] == pytest.approx(3 / 5, abs=1e-4)
    assert (delivery["open"], delivery["resolved"], delivery["closed"]) == (1, 1, 1)
    assert delivery["resolved_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert week[1]["open"] == 1 and week[2]["resolved"] == 1
    assert table.extra["complaints_per_week"] == {"2026-W48": 5, "2026-W49": 1}
    by_category = {(r["week"], r["category"]): r["share"] for r in table.extra["by_category"]}
    assert by_category[("2026-W48", "投訴")] == pytest.approx(5 / 6, abs=1e-4)
    assert by_category[("2026-W48", "咨詢")] == pytest.approx(1 / 6, abs=1e-4)


def test_no_complaints_is_an_empty_table_not_an_error() -> None:
    table = complaints([worked(at(23, 9))], complaint_category="投訴", timezone=TZ)
    assert table.rows == []
    assert table.extra["complaints_per_week"] == {}


# -- service level -----------------------------------------------------------------------


def test_service_level_by_hour_uses_the_dashboards_definitions() -> None:
    calls = [
        ReportCall(record=record(at(23, 9, 0), answer=4.0)),  # within three rings
        ReportCall(record=record(at(23, 9, 10), answer=14.0)),  # third ring: within
        ReportCall(record=record(at(23, 9, 20), answer=16.0)),  # fourth ring: not
        ReportCall(  # the system answered at the budget; the caller gave up while held
            record=record(
                at(23, 9, 30),
                outcome=Outcome.ANSWERED_BY_SYSTEM,
                answered_by=Party.SYSTEM,
                answer=15.0,
                agent=None,
            )
        ),
        ReportCall(record=abandoned(at(23, 9, 40), 2.0)),  # a short abandon
        ReportCall(record=abandoned(at(23, 9, 50), 12.0)),
        ReportCall(record=record(at(23, 10, 5), answer=3.0)),
        # Outbound and after-hours calls are not offered calls.
        ReportCall(record=record(at(23, 10, 10), direction=Direction.OUTBOUND)),
        ReportCall(record=abandoned(at(23, 22), 30.0), after_hours=True),
    ]
    table = service_level_by_hour(calls, ring=RING, timezone=TZ)
    nine, ten = table.rows
    assert (nine["date"], nine["hour"], ten["hour"]) == ("2026-11-23", "09:00", "10:00")
    assert nine["offered"] == 6
    assert (nine["answered_by_agent"], nine["within_budget"]) == (3, 2)
    assert nine["answered_by_system"] == 1
    # Abandoned: two while ringing (one short) and the one held by the system.
    assert (nine["abandoned"], nine["short_abandoned"]) == (3, 1)
    assert nine["sl_answered"] == pytest.approx(2 / 4, abs=1e-4)  # within / answered
    # within / (answered + ringing abandons - short abandons)
    assert nine["sl_offered"] == pytest.approx(2 / (4 + 2 - 1), abs=1e-4)
    assert nine["abandon_rate"] == pytest.approx(3 / 6, abs=1e-4)
    assert nine["asa_seconds"] == pytest.approx((4 + 14 + 16) / 3, abs=0.01)
    assert ten["offered"] == 1 and ten["sl_answered"] == 1.0
    assert table.extra["after_hours"] == 1
    assert table.extra["overall"]["offered"] == 7


def test_a_press_one_callback_is_not_an_abandon() -> None:
    held = record(
        at(23, 9),
        outcome=Outcome.ANSWERED_BY_SYSTEM,
        answered_by=Party.SYSTEM,
        answer=15.0,
        agent=None,
    )
    table = service_level_by_hour(
        [ReportCall(record=held, callback_requested=True)], ring=RING, timezone=TZ
    )
    (row,) = table.rows
    assert (row["abandoned"], row["callbacks"], row["abandon_rate"]) == (0, 1, 0.0)


# -- records, filters ----------------------------------------------------------------------


def test_who_worked_a_call_wrap_up_first_then_the_state_log_then_the_endpoint() -> None:
    def who(**kw: str | None) -> str | None:
        args: dict[str, str | None] = {
            "wrap_staff_no": None,
            "on_call_staff_no": None,
            "agent": None,
            "agent_name": None,
        }
        args.update(kw)
        return resolve_staff(roster=ROSTER, **args)  # type: ignore[arg-type]

    assert who(wrap_staff_no="1002", on_call_staff_no="1001", agent="1001") == "1002"
    assert who(on_call_staff_no="1001", agent="ep-1002") == "1001"
    assert who(agent="ep-1002", agent_name="1002") == "1002"
    assert who(agent="ep-1002") == "1002"  # a hot-desking agent's endpoint
    assert who(agent="9999") == "9999"  # a removed agent: as the log says
    assert who() is None


def test_days_and_weeks_are_the_centers_not_utc() -> None:
    zone = local_zone(TZ)
    late = at(23, 7, 30)  # 23:30 UTC the day before
    assert period_key(late, zone, "day") == "2026-11-23"
    assert period_key(at(29, 23, 59), zone, "week") == "2026-W48"
    assert period_key(at(30, 0, 1), zone, "week") == "2026-W49"
    start, end = day_bounds(date(2026, 11, 23), date(2026, 11, 24), zone)
    assert (start, end) == (at(23, 0), at(25, 0))
    calls = [worked(at(22, 23, 59)), worked(at(23, 0)), worked(at(24, 23, 59)), worked(at(25, 0))]
    assert len(select(calls, start=start, end=end)) == 2
    assert len(select(calls, start=start, end=end, agent="1002")) == 0
    assert len(select(calls, start=start, end=end, queue="other")) == 0


def test_report_queries_default_and_refuse_bad_filters_clearly() -> None:
    today = date(2026, 11, 24)
    q = parse_query("workload", {}, today)
    assert (q.start, q.end, q.period, q.by, q.format) == (
        date(2026, 11, 18),
        today,
        "day",
        "agent",
        "json",
    )
    assert parse_query("complaints", {}, today).period == "week"
    assert parse_query("qa", {}, today).month == "2026-11"
    q = parse_query(
        "workload",
        {
            "from": "2026-11-01",
            "to": "2026-11-07",
            "queue": "support",
            "agent": "1001",
            "period": "week",
            "by": "shift",
            "format": "csv",
        },
        today,
    )
    assert (q.queue, q.agent, q.period, q.by, q.format) == (
        "support",
        "1001",
        "week",
        "shift",
        "csv",
    )

    def refused(kind: str, query: dict[str, str]) -> ReportError:
        with pytest.raises(ReportError) as caught:
            parse_query(kind, query, today)
        return caught.value

    assert refused("sales", {}).error_id == "unknown-report"
    assert refused("sales", {}).kind is Kind.NOT_FOUND
    bad_date = refused("workload", {"from": "23/11/2026"})
    assert (bad_date.error_id, bad_date.details["field"]) == ("bad-date", "from")
    assert refused("workload", {"from": "2026-11-10", "to": "2026-11-01"}).error_id == "bad-range"
    too_long = refused("workload", {"from": "2020-01-01", "to": "2026-11-01"})
    assert (too_long.error_id, too_long.details["max_days"]) == ("range-too-long", MAX_DAYS)
    assert refused("workload", {"form": "2026-11-01"}).error_id == "unknown-parameter"
    assert refused("workload", {"period": "month"}).details["allowed"] == ["day", "week"]
    assert refused("workload", {"by": "team"}).error_id == "bad-parameter"
    assert refused("workload", {"format": "xlsx"}).details["field"] == "format"
    assert refused("workload", {"agent": "1001; drop"}).details["field"] == "agent"
    assert refused("workload", {"queue": "a b"}).details["field"] == "queue"
    assert refused("qa", {"month": "2026-13"}).details["field"] == "month"
    assert refused("service-level", {"short_abandon": "-1"}).details["field"] == "short_abandon"
    assert refused("service-level", {"short_abandon": "soon"}).error_id == "bad-parameter"


# -- CSV and the QA table ---------------------------------------------------------------------


def test_csv_has_a_bom_bilingual_headers_and_no_formulas() -> None:
    table = Table(
        "demo",
        [Column("who", "姓名", "name"), Column("n", "件數", "count", numeric=True)],
        [{"who": "王先生", "n": 3}, {"who": '=HYPERLINK("x")', "n": -2}, {"who": None, "n": 0.5}],
    )
    data = to_csv(table)
    assert data.startswith(BOM.encode("utf-8"))
    text = data.decode("utf-8")[1:]
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["姓名 / name", "件數 / count"]
    assert rows[1] == ["王先生", "3"]
    assert rows[2] == ['\'=HYPERLINK("x")', "-2"]  # text defused, numbers kept
    assert rows[3] == ["", "0.5"]
    assert "\r\n" in text
    assert filename("workload-daily-by-agent", "2026-11-01", "2026-11-07", "", "a/b") == (
        "workload-daily-by-agent-2026-11-01-2026-11-07-a_b.csv"
    )


def test_the_qa_summary_becomes_one_row_per_agent_with_item_columns() -> None:
    summary = {
        "month": "2026-11",
        "form": {
            "items": [
                {"key": "wording", "label_zh": "服務用語", "label_en": "Service wording"},
                {"key": "tone", "label_zh": "語氣語調", "label_en": "Tone"},
            ]
        },
        "defect_below": 3,
        "agents": [
            {
                "agent": "1001",
                "samples": 3,
                "evaluations": 2,
                "total": 82.5,
                "total_min": 80,
                "total_max": 85,
                "items": {"wording": 4.5, "tone": 3.0},
                "defects": 1,
            },
            {"agent": "1002", "samples": 1, "evaluations": 0},
        ],
    }
    table = qa_table(summary)
    assert [c.key for c in table.columns][5:9] == [
        "total_min",
        "total_max",
        "item:wording",
        "item:tone",
    ]
    first, second = table.rows
    assert (first["item:wording"], first["item:tone"], first["defects"]) == (4.5, 3.0, 1)
    assert (second["evaluations"], second["total"], second["item:tone"]) == (0, None, None)
    assert [r["agent"] for r in qa_table(summary, agent="1002").rows] == ["1002"]
