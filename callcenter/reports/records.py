"""What reports are computed from: each call record with its wrap-up, plus the roster.

Pure. The reports repository fills these from the call log, the wrap-ups, the
cases and the agent state log; everything here works on hand-built records
too, which is how the aggregation is unit-tested.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from callcenter.calls.record import CallRecord, Direction, Outcome

Period = Literal["day", "week"]
NO_SHIFT = "-"


@dataclass(frozen=True)
class ReportCall:
    """A call record with what the reports add to it: who worked it (`staff_no`, already
    resolved, see `resolve_staff`), its wrap-up, its case, and the dialplan's callback
    and after-hours marks (from the callback requests)."""

    record: CallRecord
    staff_no: str | None = None
    category: str | None = None  # from the wrap-up
    subcategory: str | None = None
    resolved: bool | None = None
    wrap_seconds: float | None = None
    case_status: str | None = None  # the case the wrap-up opened: open / resolved / closed
    callback_requested: bool = False  # pressed 1 while held
    after_hours: bool = False  # arrived while the center was closed

    @property
    def linkedid(self) -> str:
        return self.record.linkedid

    @property
    def arrived_at(self) -> float:
        return self.record.arrived_at or self.record.ended_at or 0.0

    @property
    def queue(self) -> str | None:
        return self.record.queue

    @property
    def proactive(self) -> bool:
        """Placed by the center (callbacks, click-to-call), not taken."""
        return self.record.direction is Direction.OUTBOUND

    @property
    def answered_by_agent(self) -> bool:
        """An agent talked on it (at once, after the system held it, or an outbound call
        the customer answered)."""
        return self.record.outcome is Outcome.ANSWERED


@dataclass(frozen=True)
class RosterEntry:
    staff_no: str
    name: str
    endpoint: str
    shift: str | None = None


def resolve_staff(
    *,
    wrap_staff_no: str | None,
    on_call_staff_no: str | None,
    agent: str | None,
    agent_name: str | None,
    roster: Mapping[str, RosterEntry],
) -> str | None:
    """The staff number who worked a call.

    The call log names an agent by endpoint (and, for routed calls, the staff
    number as the member name); a hot-desking agent's endpoint is not their
    staff number, and an unanswered outbound call names nobody. So: who filed
    the wrap-up, else who the state log shows on the call, else the member
    name if it is a staff number, else the endpoint's owner, else what the
    log says.
    """
    if wrap_staff_no:
        return wrap_staff_no
    if on_call_staff_no:
        return on_call_staff_no
    if agent_name and agent_name in roster:
        return agent_name
    if agent:
        for entry in roster.values():
            if entry.endpoint == agent:
                return entry.staff_no
        return agent
    return None


def local_zone(timezone: str) -> ZoneInfo:
    return ZoneInfo(timezone)


def local_time(epoch: float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).astimezone(zone)


def period_key(epoch: float, zone: ZoneInfo, period: Period) -> str:
    """`2026-11-23` for a day, `2026-W48` (ISO week) for a week, in the center's time zone."""
    local = local_time(epoch, zone).date()
    if period == "day":
        return local.isoformat()
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def day_bounds(start: date, end: date, zone: ZoneInfo) -> tuple[float, float]:
    """Epoch range [start 00:00, the day after end 00:00) in the center's time zone."""
    low = datetime(start.year, start.month, start.day, tzinfo=zone)
    after = end + timedelta(days=1)
    high = datetime(after.year, after.month, after.day, tzinfo=zone)
    return low.timestamp(), high.timestamp()


def select(
    calls: Iterable[ReportCall],
    *,
    start: float,
    end: float,
    queue: str | None = None,
    agent: str | None = None,
) -> list[ReportCall]:
    """The calls a filter keeps: arrival in [start, end), the queue, the agent."""
    return [
        c
        for c in calls
        if start <= c.arrived_at < end
        and (queue is None or c.queue == queue)
        and (agent is None or c.staff_no == agent)
    ]


def share(part: int, whole: int) -> float | None:
    """A ratio rounded for display; None when there is nothing to divide by."""
    return None if whole == 0 else round(part / whole, 4)
