"""The monthly QA draw: which answered calls each agent is inspected on.

Pure and reproducible. Every choice is a sort on
`sha256("<seed>|<agent>|<thing>")`, so the draw depends only on the stored
seed and candidate set (not on Python's `random`, whose algorithms may change
between versions): an auditor re-runs `draw_samples` on the stored inputs and
gets the same picks (`ALGORITHM` names this procedure).

Per agent:
- the random sample: one call per stratum (ISO week x shift) the agent
  worked, at least `min_per_agent`, at most `max_per_agent`, never more
  than the candidates (an agent with fewer gets all); strata are visited
  round-robin in a diagonal order (every week once, the shift rotating
  from week to week) before any stratum gives a second call, so the picks
  spread across the month and the shifts;
- targeted samples on top, up to `targeted_max`: complaints, compliance
  flags (agent hung up first, missing greeting, dead air), very long and
  very short calls, in that priority; each keeps its reasons.
Calls sampled before (any earlier draw) are not candidates, and a re-draw of
a month only tops an agent up to what is still missing (`prior`).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.kernel.errors import DomainError
from callcenter.kernel.shifts import Shift

ALGORITHM = "strata-sha256-v1"


class SamplingError(DomainError, ValueError):
    pass


class Reason(enum.StrEnum):
    RANDOM = "random"
    COMPLAINT = "complaint"
    AGENT_HUNG_UP_FIRST = "agent-hung-up-first"
    MISSING_GREETING = "missing-greeting"
    DEAD_AIR = "dead-air"
    LONG_CALL = "long-call"
    SHORT_CALL = "short-call"


# Targeted reasons, most important first.
TARGETED = (
    Reason.COMPLAINT,
    Reason.AGENT_HUNG_UP_FIRST,
    Reason.MISSING_GREETING,
    Reason.DEAD_AIR,
    Reason.LONG_CALL,
    Reason.SHORT_CALL,
)
_PRIORITY = {reason.value: n for n, reason in enumerate(TARGETED)}


@dataclass(frozen=True)
class Candidate:
    """An answered call that may be drawn, with its stratum and targeted reasons."""

    linkedid: str
    agent: str
    week: str  # ISO week of the local arrival date, "2026-W47"
    shift: str
    flags: tuple[str, ...] = ()

    @property
    def stratum(self) -> str:
        return f"{self.week}/{self.shift}"

    def to_json(self) -> dict[str, Any]:
        return {
            "linkedid": self.linkedid,
            "agent": self.agent,
            "week": self.week,
            "shift": self.shift,
            "flags": list(self.flags),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Candidate:
        return cls(
            linkedid=str(data["linkedid"]),
            agent=str(data["agent"]),
            week=str(data["week"]),
            shift=str(data["shift"]),
            flags=tuple(str(f) for f in data.get("flags", ())),
        )


@dataclass(frozen=True)
class DrawSettings:
    min_per_agent: int = 1
    max_per_agent: int = 5
    targeted_max: int = 10  # per agent and month, on top of the random sample; 0: none

    def __post_init__(self) -> None:
        if self.min_per_agent < 0 or self.max_per_agent < self.min_per_agent:
            raise SamplingError(
                "sampling-bounds-invalid",
                "samples per agent need 0 <= min <= max",
                min=self.min_per_agent,
                max=self.max_per_agent,
            )
        if self.targeted_max < 0:
            raise SamplingError("sampling-bounds-invalid", "targeted_max must not be negative")

    def to_json(self) -> dict[str, int]:
        return {
            "min_per_agent": self.min_per_agent,
            "max_per_agent": self.max_per_agent,
            "targeted_max": self.targeted_max,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DrawSettings:
        return cls(
            int(data["min_per_agent"]), int(data["max_per_agent"]), int(data["targeted_max"])
        )


@dataclass(frozen=True)
class Prior:
    """Samples an agent already has for the month from earlier draws."""

    random: int = 0
    targeted: int = 0


@dataclass(frozen=True)
class Pick:
    linkedid: str
    agent: str
    reasons: tuple[str, ...]
    stratum: str

    @property
    def reason(self) -> str:
        return self.reasons[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "linkedid": self.linkedid,
            "agent": self.agent,
            "reasons": list(self.reasons),
            "stratum": self.stratum,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Pick:
        return cls(
            str(data["linkedid"]),
            str(data["agent"]),
            tuple(str(r) for r in data["reasons"]),
            str(data["stratum"]),
        )


def _key(seed: str, agent: str, thing: str) -> str:
    return hashlib.sha256(f"{seed}|{agent}|{thing}".encode()).hexdigest()


def draw_samples(
    candidates: Iterable[Candidate],
    seed: str,
    settings: DrawSettings,
    prior: Mapping[str, Prior] | None = None,
) -> list[Pick]:
    """The picks for every agent, grouped by agent (sorted), random before targeted."""
    if not seed:
        raise SamplingError("seed-missing", "a draw needs a seed")
    by_agent: dict[str, dict[str, Candidate]] = {}
    for candidate in candidates:
        calls = by_agent.setdefault(candidate.agent, {})
        if candidate.linkedid in calls:
            raise SamplingError(
                "candidate-duplicate",
                f"call {candidate.linkedid} is a candidate twice",
                linkedid=candidate.linkedid,
            )
        calls[candidate.linkedid] = candidate
    seen: set[str] = set()
    for calls in by_agent.values():
        clash = seen & calls.keys()
        if clash:
            raise SamplingError(
                "candidate-duplicate",
                "a call is a candidate for two agents",
                linkedids=sorted(clash),
            )
        seen |= calls.keys()
    picks: list[Pick] = []
    for agent in sorted(by_agent):
        before = (prior or {}).get(agent, Prior())
        picks.extend(_draw_agent(agent, list(by_agent[agent].values()), seed, settings, before))
    return picks


def _draw_agent(
    agent: str, calls: list[Candidate], seed: str, settings: DrawSettings, prior: Prior
) -> list[Pick]:
    strata: dict[tuple[str, str], list[Candidate]] = {}
    for call in calls:
        strata.setdefault((call.week, call.shift), []).append(call)
    for members in strata.values():
        members.sort(key=lambda c: _key(seed, agent, c.linkedid))
    wanted = min(max(len(strata), settings.min_per_agent), settings.max_per_agent)
    wanted = min(max(0, wanted - prior.random), len(calls))
    order = _stratum_order(agent, strata, seed)
    picked: list[Candidate] = []
    depth = 0
    while len(picked) < wanted:
        for stratum in order:
            members = strata[stratum]
            if depth < len(members) and len(picked) < wanted:
                picked.append(members[depth])
        depth += 1
    result = [
        Pick(c.linkedid, agent, (Reason.RANDOM.value, *_ordered(c.flags)), c.stratum)
        for c in picked
    ]
    taken = {c.linkedid for c in picked}
    room = max(0, settings.targeted_max - prior.targeted)
    flagged = sorted(
        (c for c in calls if c.linkedid not in taken and _ordered(c.flags)),
        key=lambda c: (_PRIORITY[_ordered(c.flags)[0]], _key(seed, agent, c.linkedid)),
    )
    result.extend(Pick(c.linkedid, agent, _ordered(c.flags), c.stratum) for c in flagged[:room])
    return result


def _ordered(flags: Iterable[str]) -> tuple[str, ...]:
    """Known targeted reasons, most important first (unknown flags are not reasons)."""
    return tuple(sorted({f for f in flags if f in _PRIORITY}, key=_PRIORITY.__getitem__))


def _stratum_order(
    agent: str, strata: Mapping[tuple[str, str], object], seed: str
) -> list[tuple[str, str]]:
    """Diagonal order: each week once with the shift rotating, then the next diagonal."""
    weeks = sorted({w for w, _ in strata}, key=lambda w: _key(seed, agent, "week:" + w))
    shifts = sorted({s for _, s in strata}, key=lambda s: _key(seed, agent, "shift:" + s))
    order: list[tuple[str, str]] = []
    for diagonal in range(len(shifts)):
        for n, week in enumerate(weeks):
            stratum = (week, shifts[(n + diagonal) % len(shifts)])
            if stratum in strata:
                order.append(stratum)
    return order


# -- strata and flags from call facts -------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    short_call_seconds: float = 15.0
    long_call_seconds: float = 900.0


@dataclass(frozen=True)
class CallFacts:
    """What the draw needs to know about one answered call."""

    linkedid: str
    agent: str
    arrived_at: float
    talk_seconds: float | None = None
    complaint: bool = False
    compliance_flags: tuple[str, ...] = ()
    failed_checks: tuple[str, ...] = field(default=())


# Compliance flags (callcenter.compliance.facts) and check names (ASR) -> reasons.
_FLAG_REASONS = {
    "dead-air": Reason.DEAD_AIR,
    "agent-hung-up-first": Reason.AGENT_HUNG_UP_FIRST,
    "missing-greeting": Reason.MISSING_GREETING,
    "greeting": Reason.MISSING_GREETING,
}


def call_flags(facts: CallFacts, thresholds: Thresholds) -> tuple[str, ...]:
    flags: set[str] = set()
    if facts.complaint:
        flags.add(Reason.COMPLAINT)
    for name in (*facts.compliance_flags, *facts.failed_checks):
        reason = _FLAG_REASONS.get(name)
        if reason is not None:
            flags.add(reason)
    if facts.talk_seconds is not None:
        if facts.talk_seconds >= thresholds.long_call_seconds:
            flags.add(Reason.LONG_CALL)
        elif facts.talk_seconds <= thresholds.short_call_seconds:
            flags.add(Reason.SHORT_CALL)
    return _ordered(flags)


DAY_PARTS = ((0, "00-08"), (8, "08-16"), (16, "16-24"))


def local_time(epoch: float, timezone: str) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC).astimezone(ZoneInfo(timezone))


def week_of(local: datetime) -> str:
    iso = local.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def shift_of(local: datetime, shifts: Sequence[Shift]) -> str:
    """The first configured shift covering the time; without shifts, the 8-hour part of the day."""
    if shifts:
        for shift in shifts:
            if shift.covers(local):
                return shift.name
        return "off-hours"
    return next(label for start, label in reversed(DAY_PARTS) if local.hour >= start)


def candidate_of(
    facts: CallFacts, timezone: str, shifts: Sequence[Shift], thresholds: Thresholds
) -> Candidate:
    local = local_time(facts.arrived_at, timezone)
    return Candidate(
        facts.linkedid,
        facts.agent,
        week_of(local),
        shift_of(local, shifts),
        call_flags(facts, thresholds),
    )


# -- months and weeks -----------------------------------------------------------------------


def parse_month(text: str) -> tuple[int, int]:
    try:
        year_s, month_s = text.split("-")
        year, month = int(year_s), int(month_s)
        date(year, month, 1)
    except (ValueError, AttributeError):
        raise SamplingError("month-invalid", "month must be YYYY-MM", got=text) from None
    if len(year_s) != 4 or len(month_s) != 2 or not 1970 <= year <= 2099:
        # Years beyond these overflow the month's bounds (datetime, epoch seconds).
        raise SamplingError("month-invalid", "month must be YYYY-MM (1970-2099)", got=text)
    return year, month


def month_bounds(month: str, timezone: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in UTC (local month in `timezone`)."""
    year, number = parse_month(month)
    zone = ZoneInfo(timezone)
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def month_of(epoch: float, timezone: str) -> str:
    local = local_time(epoch, timezone)
    return f"{local.year:04d}-{local.month:02d}"


def week_bounds(week: str, timezone: str) -> tuple[datetime, datetime]:
    """ISO week `YYYY-Www` (Monday to Monday, local) in UTC."""
    try:
        year_s, week_s = week.split("-W")
        if not 1970 <= int(year_s) <= 2099:  # beyond, the week's bounds overflow
            raise ValueError(year_s)
        monday = date.fromisocalendar(int(year_s), int(week_s), 1)
    except (ValueError, AttributeError):
        raise SamplingError(
            "week-invalid", "week must be YYYY-Www, e.g. 2026-W47", got=week
        ) from None
    zone = ZoneInfo(timezone)
    start = datetime(monday.year, monday.month, monday.day, tzinfo=zone)
    nxt = monday + timedelta(days=7)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
