"""Daily and weekly workload per agent or per shift (SERVICE_RULES section 6).

Pure. A row counts what one agent (or one shift) did in one day or ISO week:
inbound calls answered, wrap-ups by category (咨詢 inquiries, 查詢 lookups,
投訴 complaints, ...), calls handled without a wrap-up, proactive calls
(outbound: callbacks and click-to-call) placed and answered, talk time and the
average handle time (talk, hold included, + wrap-up over the calls handled, as the
dashboard's `average_handle_time`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from callcenter.reports.records import (
    NO_SHIFT,
    Period,
    ReportCall,
    RosterEntry,
    local_zone,
    period_key,
)
from callcenter.reports.table import (
    Column,
    Table,
    category_column,
    count,
    number,
    text,
    totals,
)

Grouping = Literal["agent", "shift"]
ShiftAt = Callable[[float], str | None]


@dataclass
class _Tally:
    answered: int = 0
    categories: dict[str, int] = field(default_factory=dict)
    no_wrapup: int = 0
    proactive: int = 0
    proactive_answered: int = 0
    talk: float = 0.0
    handle: float = 0.0
    handled: int = 0


def shift_of(call: ReportCall, roster: Mapping[str, RosterEntry], shift_at: ShiftAt) -> str:
    """The agent's rostered shift; else the configured shift the call arrived in."""
    entry = roster.get(call.staff_no or "")
    if entry is not None and entry.shift:
        return entry.shift
    return shift_at(call.arrived_at) or NO_SHIFT


def workload(
    calls: Iterable[ReportCall],
    roster: Mapping[str, RosterEntry],
    *,
    categories: Sequence[str],
    timezone: str,
    period: Period = "day",
    by: Grouping = "agent",
    shift_at: ShiftAt = lambda epoch: None,
) -> Table:
    zone = local_zone(timezone)
    tallies: dict[tuple[str, str], _Tally] = {}
    for call in calls:
        if call.staff_no is None:
            continue  # nobody worked it (abandoned, answered by the system alone)
        handled = call.answered_by_agent or call.proactive
        if not handled and call.category is None:
            continue  # rung but not taken: not this agent's work
        group = call.staff_no if by == "agent" else shift_of(call, roster, shift_at)
        tally = tallies.setdefault((period_key(call.arrived_at, zone, period), group), _Tally())
        if call.proactive:
            tally.proactive += 1
            tally.proactive_answered += call.answered_by_agent
        elif call.answered_by_agent:
            tally.answered += 1
        if call.category is not None:
            tally.categories[call.category] = tally.categories.get(call.category, 0) + 1
        elif call.answered_by_agent:
            tally.no_wrapup += 1
        if call.answered_by_agent:
            # As the dashboard's AHT: talk is the wall time with the agent (hold included).
            talk = call.record.talk_seconds or 0.0
            tally.handled += 1
            tally.talk += talk
            tally.handle += talk + (call.wrap_seconds or 0.0)
    known = list(categories)
    extra_categories = sorted(
        {c for t in tallies.values() for c in t.categories} - set(known)
    )  # categories configured once and since removed still show
    category_columns = [category_column(c) for c in known + extra_categories]
    columns: list[Column] = [text("period", "日期" if period == "day" else "週", period)]
    if by == "agent":
        columns += [
            text("staff_no", "工號", "agent"),
            text("name", "姓名", "name"),
            text("shift", "班次", "shift"),
        ]
    else:
        columns.append(text("shift", "班次", "shift"))
    columns += [
        count("answered", "接聽", "answered"),
        *category_columns,
        count("no_wrapup", "未小結", "no wrap-up"),
        count("proactive", "主動外呼", "proactive calls"),
        count("proactive_answered", "外呼接通", "proactive answered"),
        count("talk_seconds", "通話秒數", "talk seconds"),
        number("aht_seconds", "平均處理秒數", "AHT seconds"),
    ]
    rows = []
    for (key, group), tally in sorted(tallies.items()):
        row: dict[str, str | int | float | None] = {"period": key}
        if by == "agent":
            entry = roster.get(group)
            row.update(
                staff_no=group,
                name=entry.name if entry else None,
                shift=entry.shift if entry else None,
            )
        else:
            row["shift"] = group
        row.update(answered=tally.answered)
        row.update({f"cat:{c}": tally.categories.get(c, 0) for c in known + extra_categories})
        row.update(
            no_wrapup=tally.no_wrapup,
            proactive=tally.proactive,
            proactive_answered=tally.proactive_answered,
            talk_seconds=round(tally.talk, 1),
            aht_seconds=round(tally.handle / tally.handled, 1) if tally.handled else None,
        )
        rows.append(row)
    kind = f"workload-{'daily' if period == 'day' else 'weekly'}-by-{by}"
    return Table(kind, columns, rows, {"totals": totals(columns, rows)})
