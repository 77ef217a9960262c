"""A report request from query parameters, checked: each bad filter gets its own error.

Pure (today's date is passed in). Unknown parameters are refused rather than
ignored, so a typo (`form=` for `from=`) is not a silently unfiltered report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal, cast

from callcenter.kernel.errors import DomainError
from callcenter.reports.records import Period
from callcenter.reports.workload import Grouping

Kind = Literal["workload", "complaints", "service-level", "qa"]
Format = Literal["json", "csv"]
KINDS: Final[tuple[Kind, ...]] = ("workload", "complaints", "service-level", "qa")
MAX_DAYS: Final = 366
DEFAULT_DAYS: Final = 7
_QUEUE = re.compile(r"[0-9A-Za-z_.-]{1,128}")
_STAFF_NO = re.compile(r"[0-9A-Za-z_-]{1,32}")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
PARAMETERS: Final = frozenset(
    {"from", "to", "queue", "agent", "period", "by", "format", "month", "short_abandon", "lang"}
)


class ReportError(DomainError, ValueError):
    """A report request that cannot be served; `error_id` is stable for the API."""

    not_found_ids = frozenset({"unknown-report"})


@dataclass(frozen=True)
class ReportQuery:
    kind: Kind
    start: date
    end: date  # inclusive
    queue: str | None = None
    agent: str | None = None
    period: Period = "day"
    by: Grouping = "agent"
    format: Format = "json"
    month: str | None = None  # YYYY-MM, for the QA summary
    short_abandon: float | None = None


def _date(raw: str, name: str) -> date:
    try:
        found = date.fromisoformat(raw)
    except ValueError:
        found = None
    # Beyond these years a report's day bounds overflow (datetime, epoch seconds).
    if found is None or not 1970 <= found.year <= 2099:
        raise ReportError(
            "bad-date", f"{name} must be a date as YYYY-MM-DD (1970-2099), got {raw!r}", field=name
        )
    return found


def _choice(query: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = query.get(name, default)
    if value not in allowed:
        raise ReportError(
            "bad-parameter",
            f"{name} must be one of {', '.join(allowed)}, got {value!r}",
            field=name,
            allowed=list(allowed),
        )
    return value


def parse_query(kind: str, query: Mapping[str, str], today: date) -> ReportQuery:
    if kind not in KINDS:
        raise ReportError(
            "unknown-report", f"no report {kind!r}; reports: {', '.join(KINDS)}", kinds=KINDS
        )
    unknown = sorted(set(query) - PARAMETERS)
    if unknown:
        raise ReportError(
            "unknown-parameter",
            f"unknown parameter {', '.join(unknown)}; use {', '.join(sorted(PARAMETERS))}",
            unknown=unknown,
        )
    end = _date(query["to"], "to") if query.get("to") else today
    start = (
        _date(query["from"], "from")
        if query.get("from")
        else end - timedelta(days=DEFAULT_DAYS - 1)
    )
    if start > end:
        raise ReportError(
            "bad-range",
            f"from ({start}) is after to ({end})",
            start=start.isoformat(),
            end=end.isoformat(),
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise ReportError(
            "range-too-long",
            f"a report covers at most {MAX_DAYS} days; {start} to {end} is"
            f" {(end - start).days + 1}",
            max_days=MAX_DAYS,
        )
    queue = query.get("queue") or None
    if queue is not None and not _QUEUE.fullmatch(queue):
        raise ReportError("bad-parameter", f"queue {queue!r} is not a queue name", field="queue")
    agent = query.get("agent") or None
    if agent is not None and not _STAFF_NO.fullmatch(agent):
        raise ReportError("bad-parameter", f"agent {agent!r} is not a staff number", field="agent")
    month = query.get("month") or None
    if month is not None:
        found = _MONTH.fullmatch(month)
        if (
            found is None
            or not 1 <= int(found.group(2)) <= 12
            or not 1970 <= int(found.group(1)) <= 2099
        ):
            raise ReportError(
                "bad-parameter", f"month must be YYYY-MM, got {month!r}", field="month"
            )
    short_abandon = None
    if query.get("short_abandon"):
        try:
            short_abandon = float(query["short_abandon"])
        except ValueError:
            short_abandon = -1.0
        if not 0 <= short_abandon <= 600:
            raise ReportError(
                "bad-parameter",
                "short_abandon must be seconds between 0 and 600",
                field="short_abandon",
            )
    period = _choice(query, "period", ("day", "week"), "week" if kind == "complaints" else "day")
    return ReportQuery(
        kind=kind,
        start=start,
        end=end,
        queue=queue,
        agent=agent,
        period=cast(Period, period),
        by=cast(Grouping, _choice(query, "by", ("agent", "shift"), "agent")),
        format=cast(Format, _choice(query, "format", ("json", "csv"), "json")),
        month=month or (today.strftime("%Y-%m") if kind == "qa" else None),
        short_abandon=short_abandon,
    )
