"""Weekly complaint classification (SERVICE_RULES sections 4 and 6).

Pure. Complaints are the wrap-ups filed with the complaint category; each is
classified by its subcategory (the complaint type the agent chose) and by
where it stands: `open` (the case awaits its reply), `resolved` (resolved on
the call, or the case resolved and awaiting the follow-up), `closed` (the
follow-up confirmed it, 閉環). The share is of the week's complaints. Beside
it, `by_category` gives every wrap-up category's share of the week's
wrapped-up calls, so the complaints' weight among all calls is visible.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from callcenter.reports.records import ReportCall, local_zone, period_key, share
from callcenter.reports.table import Table, count, number, text

NO_SUBCATEGORY = "-"
RESOLUTIONS = ("open", "resolved", "closed")


def resolution(call: ReportCall) -> str:
    if call.case_status is not None and call.case_status in RESOLUTIONS:
        return call.case_status
    return "resolved" if call.resolved else "open"


def complaints(calls: Iterable[ReportCall], *, complaint_category: str, timezone: str) -> Table:
    zone = local_zone(timezone)
    wrapped = [c for c in calls if c.category is not None]
    per_week: Counter[str] = Counter()
    per_type: Counter[tuple[str, str]] = Counter()
    per_state: Counter[tuple[str, str, str]] = Counter()
    per_category: Counter[tuple[str, str]] = Counter()
    all_per_week: Counter[str] = Counter()
    for call in wrapped:
        week = period_key(call.arrived_at, zone, "week")
        all_per_week[week] += 1
        per_category[(week, call.category or "")] += 1
        if call.category != complaint_category:
            continue
        kind = (call.subcategory or "").strip() or NO_SUBCATEGORY
        per_week[week] += 1
        per_type[(week, kind)] += 1
        per_state[(week, kind, resolution(call))] += 1
    columns = [
        text("week", "週", "week"),
        text("subcategory", "投訴類別", "complaint type"),
        count("count", "件數", "count"),
        number("share", "佔比", "share"),
        count("open", "未結", "open"),
        count("resolved", "已解決", "resolved"),
        count("closed", "已結案", "closed"),
        number("resolved_rate", "解決率", "resolved rate"),
    ]
    rows: list[dict[str, str | int | float | None]] = []
    # Largest first within a week: the classification reads as a ranking.
    for (week, kind), n in sorted(per_type.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1])):
        states = {s: per_state[(week, kind, s)] for s in RESOLUTIONS}
        rows.append(
            {
                "week": week,
                "subcategory": kind,
                "count": n,
                "share": share(n, per_week[week]),
                **states,
                "resolved_rate": share(states["resolved"] + states["closed"], n),
            }
        )
    by_category = [
        {
            "week": week,
            "category": category,
            "count": n,
            "share": share(n, all_per_week[week]),
        }
        for (week, category), n in sorted(
            per_category.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1])
        )
    ]
    return Table(
        "complaints-weekly",
        columns,
        rows,
        {
            "complaint_category": complaint_category,
            "complaints_per_week": dict(sorted(per_week.items())),
            "by_category": by_category,
        },
    )
