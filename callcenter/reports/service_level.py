"""Service level by hour (SERVICE_RULES sections 1 and 6).

Pure. Inbound calls are grouped by local date and hour of arrival and counted
with the dashboard's metric definitions (`callcenter.dashboard.definitions`:
`classify`, `Totals` and the metric functions), so a report's service level,
abandon rate and ASA mean exactly what the live dashboard shows. Both service
level variants are side by side: within the budget / answered, and within the
budget / (answered + abandoned while ringing - short abandons).
"""

from __future__ import annotations

from collections.abc import Iterable

from callcenter.config import RingConfig
from callcenter.dashboard.definitions import (
    MetricSettings,
    Totals,
    abandon_rate,
    average_speed_of_answer,
    classify,
    service_level_answered,
    service_level_offered,
)
from callcenter.reports.records import ReportCall, local_time, local_zone
from callcenter.reports.table import Table, count, number, text

DEFAULT_SHORT_ABANDON = 5.0  # seconds, as the dashboard's default


def _row(t: Totals) -> dict[str, int | float | None]:
    return {
        "offered": t.offered,
        "answered_by_agent": t.answered_by_agent,
        "within_budget": t.within_budget,
        "answered_by_system": t.answered_by_system,
        "handled": t.handled,
        "abandoned": t.abandoned,
        "short_abandoned": t.short_abandoned,
        "callbacks": t.callbacks,
        "sl_answered": service_level_answered(t),
        "sl_offered": service_level_offered(t),
        "abandon_rate": abandon_rate(t),
        "asa_seconds": average_speed_of_answer(t),
    }


def service_level_by_hour(
    calls: Iterable[ReportCall],
    *,
    ring: RingConfig,
    timezone: str,
    short_abandon_seconds: float = DEFAULT_SHORT_ABANDON,
) -> Table:
    zone = local_zone(timezone)
    settings = MetricSettings(ring=ring, short_abandon_seconds=short_abandon_seconds)
    hours: dict[tuple[str, int], Totals] = {}
    overall = Totals()
    after_hours = 0
    for call in calls:
        facts = classify(
            call.record,
            ring,
            callback_requested=call.callback_requested,
            after_hours=call.after_hours,
            wrap_seconds=call.wrap_seconds,
            agent=call.staff_no,
        )
        if facts is None:
            continue  # outbound and internal calls are not offered calls
        if facts.after_hours:
            after_hours += 1
            continue
        local = local_time(facts.arrived_at, zone)
        hours.setdefault((local.date().isoformat(), local.hour), Totals()).add(facts, settings)
        overall.add(facts, settings)
    columns = [
        text("date", "日期", "date"),
        text("hour", "時段", "hour"),
        count("offered", "來電", "offered"),
        count("answered_by_agent", "座席接聽", "answered by agents"),
        count("within_budget", "三聲內接聽", "within budget"),
        count("answered_by_system", "系統接聽", "answered by system"),
        count("handled", "接通", "handled"),
        count("abandoned", "放棄", "abandoned"),
        count("short_abandoned", "短時放棄", "short abandons"),
        count("callbacks", "回撥請求", "callback requests"),
        number("sl_answered", "服務水平(接通)", "service level (answered)"),
        number("sl_offered", "服務水平(來電)", "service level (offered)"),
        number("abandon_rate", "放棄率", "abandon rate"),
        number("asa_seconds", "平均應答秒數", "ASA seconds"),
    ]
    rows = [
        {"date": day, "hour": f"{hour:02d}:00", **_row(t)}
        for (day, hour), t in sorted(hours.items())
    ]
    return Table(
        "service-level-by-hour",
        columns,
        rows,
        {
            "budget_seconds": ring.budget_seconds,
            "short_abandon_seconds": short_abandon_seconds,
            "after_hours": after_hours,
            "overall": _row(overall),
        },
    )
