"""Metric definitions as code: what each dashboard number counts, in one place.

Pure: finished calls (`CallRecord` plus the few facts the record does not
carry) in, counts and ratios out. The live model, the reports and the
definitions page all use these functions, so a number means the same thing
everywhere. The definitions page is generated from `METRICS` below.

Vocabulary (SERVICE_RULES section 1):
- *budget*: three rings (`RingConfig`: cadence x rings, 15 s by default). An
  agent can answer only inside it; at the budget the system answers itself.
- *first answer*: who picked the call up first, an agent or the system.
- *reached an agent*: an agent talked to the caller (at once, or later after
  the system held the call).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields

from callcenter.calls.record import CallRecord, Direction, Outcome, Party
from callcenter.calls.ring import count_rings
from callcenter.config import RingConfig


class Result(enum.StrEnum):
    """How an offered call ended, from the caller's side."""

    HANDLED = "handled"  # an agent talked to the caller
    CALLBACK = "callback"  # the caller asked to be called back (press 1), never an abandon
    ABANDONED = "abandoned"  # the caller hung up before reaching an agent
    OTHER = "other"  # failed, interrupted (Asterisk restart), the system hung up


@dataclass(frozen=True)
class CallFacts:
    """One inbound call, classified once; everything the metrics count."""

    linkedid: str
    queue: str
    arrived_at: float
    first_answer: Party | None  # AGENT or SYSTEM; None: nobody answered
    result: Result
    within_budget: bool  # an agent answered first, within the ring budget
    agent_answer_seconds: float | None  # arrival to the agent's answer (None: unknown/none)
    abandon_wait: float | None  # how long an abandoning caller waited
    abandoned_ringing: bool  # hung up before any answer (not while held by the system)
    talk_seconds: float | None  # the agent's part, hold included (wall time)
    hold_seconds: float
    wrap_seconds: float | None  # after-call work; None until the wrap-up ended
    agent: str | None  # staff number (or endpoint) of the agent who took it
    after_hours: bool = False  # the center was closed: not offered


@dataclass(frozen=True)
class MetricSettings:
    ring: RingConfig = field(default_factory=RingConfig)
    short_abandon_seconds: float = 5.0

    @property
    def budget_seconds(self) -> float:
        return self.ring.budget_seconds


def classify(
    record: CallRecord,
    ring: RingConfig,
    *,
    queue: str | None = None,
    callback_requested: bool = False,
    after_hours: bool = False,
    agent_answered_at: float | None = None,
    wrap_seconds: float | None = None,
    agent: str | None = None,
) -> CallFacts | None:
    """The facts of an inbound call; None for outbound and internal calls.

    `callback_requested` (the dialplan's `CallbackRequested` event),
    `after_hours` (`AfterHours`), `agent_answered_at` (`AgentConnected` on a
    call the system held first) and `wrap_seconds` (the agent board) are not
    in the record; the live model supplies them from the event stream.
    """
    if record.direction is not Direction.INBOUND:
        return None
    arrived = record.arrived_at if record.arrived_at is not None else record.ended_at
    if arrived is None:
        return None
    # A held caller who hung up (ABANDONED_AFTER_SYSTEM) was answered first by the system.
    answered = record.outcome in (
        Outcome.ANSWERED,
        Outcome.ANSWERED_BY_SYSTEM,
        Outcome.ABANDONED_AFTER_SYSTEM,
    )
    first = record.answered_by if answered else None
    if answered and first is None:
        first = Party.AGENT if record.outcome is Outcome.ANSWERED else Party.SYSTEM
    reached = record.outcome is Outcome.ANSWERED
    if reached:
        result = Result.HANDLED
    elif callback_requested:
        result = Result.CALLBACK
    elif record.outcome is Outcome.ABANDONED:
        result = Result.ABANDONED
    elif first is Party.SYSTEM and record.hangup_first is Party.CALLER:
        result = Result.ABANDONED  # hung up while held, before an agent was free
    else:
        result = Result.OTHER
    within = (
        first is Party.AGENT
        and record.answer_seconds is not None
        and count_rings(record.answer_seconds, ring.cadence_seconds) <= ring.budget_rings
    )
    agent_wait: float | None = None
    talk = record.talk_seconds
    if reached and first is Party.AGENT:
        agent_wait = record.answer_seconds
    elif reached and agent_answered_at is not None and record.arrived_at is not None:
        agent_wait = round(max(0.0, agent_answered_at - record.arrived_at), 3)
        if record.ended_at is not None:
            talk = round(max(0.0, record.ended_at - agent_answered_at), 3)
    abandon_wait = None
    if result is Result.ABANDONED and record.ended_at is not None:
        abandon_wait = round(max(0.0, record.ended_at - arrived), 3)
    return CallFacts(
        linkedid=record.linkedid,
        queue=queue or record.queue or "none",
        arrived_at=arrived,
        first_answer=first,
        result=result,
        within_budget=within,
        agent_answer_seconds=agent_wait,
        abandon_wait=abandon_wait,
        abandoned_ringing=result is Result.ABANDONED and first is None,
        talk_seconds=talk if reached else None,
        hold_seconds=record.hold_seconds or 0.0,
        wrap_seconds=wrap_seconds if reached else None,
        agent=agent or record.agent,
        after_hours=after_hours,
    )


@dataclass
class Totals:
    """Additive counts over a set of calls: add and subtract keep windows incremental."""

    offered: int = 0
    answered: int = 0  # first answered by anyone (agent or system)
    answered_by_agent: int = 0  # an agent answered first
    answered_by_system: int = 0  # the system answered first (budget spent)
    handled: int = 0  # reached an agent (first, or after the system held them)
    within_budget: int = 0
    abandoned: int = 0
    abandoned_ringing: int = 0
    short_abandoned: int = 0  # ringing abandons shorter than the threshold
    callbacks: int = 0  # press-1 callback requests (not abandons)
    other: int = 0
    after_hours: int = 0
    asa_sum: float = 0.0
    asa_count: int = 0
    talk_sum: float = 0.0  # hold included (wall time with the agent)
    hold_sum: float = 0.0
    wrap_sum: float = 0.0
    wrap_count: int = 0
    handle_count: int = 0

    def add(self, facts: CallFacts, settings: MetricSettings, sign: int = 1) -> None:
        """Count `facts` in (sign=1) or out (sign=-1)."""
        if facts.after_hours:
            self.after_hours += sign
            return
        self.offered += sign
        if facts.first_answer is not None:
            self.answered += sign
            if facts.first_answer is Party.AGENT:
                self.answered_by_agent += sign
            else:
                self.answered_by_system += sign
        self.within_budget += sign * facts.within_budget
        if facts.result is Result.HANDLED:
            self.handled += sign
            if facts.agent_answer_seconds is not None:
                self.asa_sum += sign * facts.agent_answer_seconds
                self.asa_count += sign
            if facts.talk_seconds is not None:
                self.talk_sum += sign * facts.talk_seconds
                self.hold_sum += sign * facts.hold_seconds
                self.handle_count += sign
            if facts.wrap_seconds is not None:
                self.wrap_sum += sign * facts.wrap_seconds
                self.wrap_count += sign
        elif facts.result is Result.ABANDONED:
            self.abandoned += sign
            if facts.abandoned_ringing:
                self.abandoned_ringing += sign
                if (
                    facts.abandon_wait is not None
                    and facts.abandon_wait < settings.short_abandon_seconds
                ):
                    self.short_abandoned += sign
        elif facts.result is Result.CALLBACK:
            self.callbacks += sign
        else:
            self.other += sign

    def merged(self, other: Totals) -> Totals:
        out = Totals()
        for f in fields(self):
            setattr(out, f.name, getattr(self, f.name) + getattr(other, f.name))
        return out

    def counts(self) -> dict[str, float]:
        return {f.name: round(getattr(self, f.name), 3) for f in fields(self)}


def totals(facts: Iterable[CallFacts], settings: MetricSettings) -> Totals:
    out = Totals()
    for one in facts:
        out.add(one, settings)
    return out


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else round(numerator / denominator, 4)


def service_level_answered(t: Totals) -> float | None:
    """Answered by an agent within the budget / calls answered (by an agent or the system).

    The system answers at the budget, so counting agent answers alone would
    always give 100%: a call the system had to take is a miss here.
    """
    return _ratio(t.within_budget, t.answered)


def service_level_offered(t: Totals) -> float | None:
    """Answered by an agent within the budget / (answered + abandoned while ringing),
    leaving out abandons shorter than the short-abandon threshold (wrong numbers,
    callers who changed their mind before the first ring ended)."""
    return _ratio(t.within_budget, t.answered + t.abandoned_ringing - t.short_abandoned)


def abandon_rate(t: Totals) -> float | None:
    """Callers who hung up before reaching an agent (ringing, or held by the system) /
    calls offered. A caller who asked for a callback (press 1) did not abandon."""
    return _ratio(t.abandoned, t.offered)


def answered_by_system_share(t: Totals) -> float | None:
    """Calls the system answered first (no agent free within the budget) / calls answered."""
    return _ratio(t.answered_by_system, t.answered)


def answered_by_agent_share(t: Totals) -> float | None:
    """Calls an agent answered first / calls answered."""
    return _ratio(t.answered_by_agent, t.answered)


def average_speed_of_answer(t: Totals) -> float | None:
    """Mean seconds from arrival to an agent's answer, over calls an agent answered only
    (abandoned calls are not in it; a call the system held first counts with its time to
    the agent, when the event stream said when the agent picked up)."""
    return None if t.asa_count <= 0 else round(t.asa_sum / t.asa_count, 2)


def average_handle_time(t: Totals) -> float | None:
    """Mean of talk + hold + wrap-up seconds over calls an agent handled; talk and hold
    are the agent's wall time on the call, wrap-up counts once it has ended."""
    if t.handle_count <= 0:
        return None
    return round((t.talk_sum + t.wrap_sum) / t.handle_count, 2)


@dataclass(frozen=True)
class Metric:
    """A dashboard number: its key in the API, labels, unit, and how it is computed."""

    key: str
    label_en: str
    label_zh: str
    unit: str  # "ratio", "seconds", "calls"
    formula: str
    compute: Callable[[Totals], float | None]

    @property
    def doc(self) -> str:
        """The computing function's docstring: the definitions page prints it."""
        return " ".join((self.compute.__doc__ or "").split())

    def value(self, t: Totals) -> float | None:
        return self.compute(t)

    def to_json(self) -> dict[str, str]:
        return {
            "key": self.key,
            "label_en": self.label_en,
            "label_zh": self.label_zh,
            "unit": self.unit,
            "formula": self.formula,
            "doc": self.doc,
        }


def _count(name: str, doc: str) -> Callable[[Totals], float | None]:
    def read(t: Totals) -> float:
        return float(getattr(t, name))

    read.__doc__ = doc
    return read


METRICS: tuple[Metric, ...] = (
    Metric(
        "service_level",
        "Service level (answered)",
        "服務水平(接通)",
        "ratio",
        "answered by an agent within the ring budget / answered",
        service_level_answered,
    ),
    Metric(
        "service_level_offered",
        "Service level (offered)",
        "服務水平(來電)",
        "ratio",
        "answered by an agent within the ring budget / (answered + abandoned while ringing"
        " - short abandons)",
        service_level_offered,
    ),
    Metric(
        "abandon_rate",
        "Abandon rate",
        "放棄率",
        "ratio",
        "abandoned / offered (callback requests are not abandons)",
        abandon_rate,
    ),
    Metric(
        "asa",
        "Average speed of answer",
        "平均應答速度",
        "seconds",
        "sum(arrival to agent answer) / calls answered by an agent",
        average_speed_of_answer,
    ),
    Metric(
        "aht",
        "Average handle time",
        "平均處理時長",
        "seconds",
        "sum(talk + hold + wrap-up) / calls handled",
        average_handle_time,
    ),
    Metric(
        "answered_by_agent_share",
        "Answered by an agent",
        "座席接聽佔比",
        "ratio",
        "first answered by an agent / answered",
        answered_by_agent_share,
    ),
    Metric(
        "answered_by_system_share",
        "Answered by the system",
        "系統接聽佔比",
        "ratio",
        "first answered by the system / answered",
        answered_by_system_share,
    ),
    Metric(
        "offered",
        "Calls offered",
        "來電量",
        "calls",
        "inbound calls in opening hours",
        _count(
            "offered",
            "Inbound calls that arrived while the center was open, whatever became of them"
            " (after-hours calls are counted apart).",
        ),
    ),
    Metric(
        "handled",
        "Calls handled",
        "接通量",
        "calls",
        "calls an agent talked on",
        _count(
            "handled",
            "Calls where an agent talked to the caller, answered at once or taken over from"
            " the system's hold.",
        ),
    ),
    Metric(
        "abandoned",
        "Calls abandoned",
        "放棄量",
        "calls",
        "callers who hung up before reaching an agent",
        _count(
            "abandoned",
            "Callers who hung up before reaching an agent: while it rang, or while the system"
            " held them (no callback requested).",
        ),
    ),
    Metric(
        "callbacks",
        "Callback requests",
        "回撥請求",
        "calls",
        "callers who pressed 1 for a callback",
        _count(
            "callbacks",
            "Held callers who asked to be called back (press 1); they are neither abandoned"
            " nor answered by an agent.",
        ),
    ),
)


def compute(t: Totals) -> dict[str, float | None]:
    """Every metric's value over `t`, by key."""
    return {m.key: m.value(t) for m in METRICS}
