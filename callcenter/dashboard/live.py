"""The live dashboard model, built in memory from the AMI stream and the agent board.

Pure: events, finished records, agent transitions, cases and callback counts
go in through methods that take the time; `snapshot()` reads it all out as
JSON-ready data. No database reads here (VICIdial's real-time screen, which
polls its database, is what overloads it); the service feeds this model.

Where each number comes from:
- waiting calls: AMI (`Newchannel` of an inbound caller, `Routing`/
  `QueueCallerJoin` for the queue, `SystemAnswer` = held by the system,
  `DialBegin` = ringing an agent, `AgentConnected`/`AgentConnect` = talking,
  `Hangup` of the caller's channel = gone), merged with what the router holds
  (`Router.waiting`: its arrival times survive a restart of the backend, since
  held callers ask the router again every round);
- agents: the router's `AgentBoard` (read at snapshot time) and its
  transitions (wrap-up time per call);
- finished calls: the record sink, classified by `definitions.classify` and
  counted in rolling windows (`windows.RollingTotals`);
- callbacks pending/overdue: the dialler's counts; open complaint cases: the
  service loads them at start, after wrap-ups and on a slow reconciliation.
"""

from __future__ import annotations

import bisect
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from callcenter.agents.domain import AgentBoard, AgentState, Transition
from callcenter.ami.channel import channel_endpoint
from callcenter.ami.message import Message
from callcenter.calls.record import CallRecord
from callcenter.dashboard.definitions import (
    METRICS,
    CallFacts,
    MetricSettings,
    Totals,
    average_handle_time,
    classify,
    compute,
)
from callcenter.dashboard.windows import ALL, DAY, THIRTY_MINUTES, RollingTotals
from callcenter.routing.decide import WaitingCall

WINDOWS = {"30m": THIRTY_MINUTES, "24h": DAY}
_EXTRAS_LIMIT = 20_000
_UP = "6"


@dataclass
class LiveCall:
    """An inbound call in progress, as the AMI stream shows it."""

    linkedid: str
    arrived_at: float
    queue: str
    caller_number: str | None = None
    caller_name: str | None = None
    held: bool = False  # the system answered: greeting, hold music
    ringing: str | None = None  # endpoint being rung
    agent: str | None = None  # staff number (or endpoint) once an agent answered
    answered_at: float | None = None

    @property
    def waiting(self) -> bool:
        return self.agent is None


@dataclass
class _Extras:
    """Facts about a call the record does not carry, kept until its record arrives."""

    callback_requested: bool = False
    after_hours: bool = False
    agent_answered_at: float | None = None
    wrap_seconds: float | None = None


@dataclass(frozen=True)
class CaseView:
    """An open complaint case, as the dashboard lists it."""

    id: int
    owner: str
    caller_number: str
    opened_at: float
    reply_due_at: float | None


@dataclass
class LiveModel:
    settings: MetricSettings
    inbound_contexts: frozenset[str] = frozenset({"from-callers", "inbound"})
    default_queue: str = "support"
    case_warn_seconds: float = 6 * 3600.0
    calls: dict[str, LiveCall] = field(default_factory=dict)
    windows: RollingTotals | None = None
    cases: list[CaseView] = field(default_factory=list)
    callbacks_pending: int | None = None
    callbacks_overdue: int | None = None
    callback_queue: str | None = None
    events_seen: int = 0
    last_event_at: float | None = None

    def __post_init__(self) -> None:
        if self.windows is None:
            self.windows = RollingTotals(self.settings, WINDOWS.values())
        self._extras: OrderedDict[str, _Extras] = OrderedDict()
        self._wrap_started: dict[str, tuple[str, float]] = {}  # staff_no -> (linkedid, at)
        # Compliance flags per agent, (at, flag, linkedid), last 24 hours.
        self._flags: dict[str, list[tuple[float, str, str]]] = {}

    @property
    def rolling(self) -> RollingTotals:
        assert self.windows is not None
        return self.windows

    # -- AMI ---------------------------------------------------------------------------------

    def on_event(self, event: Message, now: float) -> bool:
        """Apply one AMI event; True if the live view changed."""
        name = event.name
        headers = event.headers
        when = event.timestamp or now
        self.events_seen += 1
        self.last_event_at = when
        linkedid = headers.get("Linkedid") or headers.get("Uniqueid") or ""
        if name == "Newchannel":
            uniqueid = headers.get("Uniqueid", "")
            if uniqueid != linkedid or headers.get("Context") not in self.inbound_contexts:
                return False
            if linkedid in self.calls:
                return False
            self.calls[linkedid] = LiveCall(
                linkedid,
                when,
                self.default_queue,
                event.known("CallerIDNum"),
                event.known("CallerIDName"),
            )
            return True
        if name == "Hangup":
            if headers.get("Uniqueid") == linkedid:
                return self.calls.pop(linkedid, None) is not None
            call = self.calls.get(linkedid)
            if (
                call is not None
                and call.ringing
                and channel_endpoint(headers.get("Channel")) == (call.ringing)
            ):
                call.ringing = None
                return True
            return False
        call = self.calls.get(linkedid)
        if name == "UserEvent":
            kind = headers.get("UserEvent")
            if kind == "CallbackRequested":
                self._extra(linkedid).callback_requested = True
            elif kind == "AfterHours":
                self._extra(linkedid).after_hours = True
                return self.calls.pop(linkedid, None) is not None
            if call is None:
                return False
            if kind == "Routing":
                call.queue = headers.get("Queue") or call.queue
            elif kind == "SystemAnswer":
                call.held = True
            elif kind == "AgentConnected":
                self._connected(call, headers.get("Agent") or headers.get("Endpoint"), when)
            elif kind == "CallbackRequested":
                call.held = True
            else:
                return False
            return True
        if call is None:
            return False
        if name == "QueueCallerJoin":
            call.queue = headers.get("Queue") or call.queue
        elif name == "DialBegin":
            call.ringing = channel_endpoint(headers.get("DestChannel"))
        elif name == "DialEnd":
            if headers.get("DialStatus") != "ANSWER":
                call.ringing = None
        elif name == "AgentConnect":
            self._connected(call, headers.get("MemberName") or headers.get("Interface"), when)
        elif name == "Newstate":
            if (
                headers.get("Uniqueid") == linkedid
                and headers.get("ChannelState") == _UP
                and call.ringing is None
                and call.agent is None
            ):
                call.held = True  # answered with no agent leg: the system (IVR) has it
            else:
                return False
        else:
            return False
        return True

    def _connected(self, call: LiveCall, agent: str | None, when: float) -> None:
        call.agent = channel_endpoint(agent) or "?"
        call.answered_at = when
        call.ringing = None
        if call.held:
            self._extra(call.linkedid).agent_answered_at = when

    def reconcile(self, live_linkedids: Iterable[str], now: float) -> bool:
        """Align with Asterisk's live channels (CoreShowChannels): calls gone unseen end."""
        live = set(live_linkedids)
        gone = [linkedid for linkedid in self.calls if linkedid not in live]
        for linkedid in gone:
            del self.calls[linkedid]
        return bool(gone)

    def merge_router(self, waiting: Mapping[str, WaitingCall]) -> bool:
        """Calls the router holds that the stream did not show us (we started mid-call)."""
        changed = False
        for linkedid, routed in waiting.items():
            call = self.calls.get(linkedid)
            if call is None:
                self.calls[linkedid] = LiveCall(
                    linkedid,
                    routed.arrived_at,
                    routed.skill,
                    routed.caller_number,
                    held=routed.system_answered,
                )
                changed = True
            elif call.agent is None and routed.arrived_at < call.arrived_at:
                call.arrived_at = routed.arrived_at  # the dialplan's own arrival time
                changed = True
        return changed

    # -- finished calls, agents, cases ---------------------------------------------------

    def on_record(
        self,
        record: CallRecord,
        now: float,
        staff_of: Callable[[CallRecord], str | None] = lambda r: r.agent,
    ) -> bool:
        self.calls.pop(record.linkedid, None)
        extras = self._extras.get(record.linkedid) or _Extras()
        facts = classify(
            record,
            self.settings.ring,
            callback_requested=extras.callback_requested,
            after_hours=extras.after_hours,
            agent_answered_at=extras.agent_answered_at,
            wrap_seconds=extras.wrap_seconds,
            agent=staff_of(record),
        )
        if facts is None:
            return False
        return self.rolling.put(facts, now)

    def on_transitions(self, transitions: Iterable[Transition], now: float) -> bool:
        """Agent state changes: a wrap-up's length is added to its call's handle time."""
        changed = False
        for t in transitions:
            changed = True
            if t.new is AgentState.WRAP_UP and t.call:
                self._wrap_started[t.staff_no] = (t.call, t.at)
            elif t.old is AgentState.WRAP_UP:
                started = self._wrap_started.pop(t.staff_no, None)
                if started is None or (t.call and t.call != started[0]):
                    continue
                linkedid, at = started
                wrap = round(max(0.0, t.at - at), 3)
                self._extra(linkedid).wrap_seconds = wrap
                facts = self.rolling.get(linkedid)
                if facts is not None:
                    self.rolling.put(_with_wrap(facts, wrap), now)
        return changed

    def on_compliance(self, staff_no: str, flags: Iterable[str], linkedid: str, at: float) -> bool:
        flagged = list(flags)
        if not flagged:
            return False
        entries = self._flags.setdefault(staff_no, [])
        for flag in flagged:
            bisect.insort(entries, (at, flag, linkedid))  # loaded rows may come out of order
        return True

    def set_cases(self, cases: Iterable[CaseView]) -> bool:
        new = sorted(cases, key=lambda c: (c.reply_due_at or float("inf"), c.id))
        changed = new != self.cases
        self.cases = new
        return changed

    def set_callbacks(self, pending: int, overdue: int) -> bool:
        changed = (pending, overdue) != (self.callbacks_pending, self.callbacks_overdue)
        self.callbacks_pending, self.callbacks_overdue = pending, overdue
        return changed

    def advance(self, now: float) -> bool:
        """Move the windows to `now` (calls leave them as they age)."""
        changed = self.rolling.advance(now)
        edge = now - DAY
        for entries in self._flags.values():
            gone = bisect.bisect_left(entries, (edge, "", ""))
            if gone:
                del entries[:gone]
                changed = True
        return changed

    # -- reading -----------------------------------------------------------------------------

    def snapshot(self, board: AgentBoard, now: float) -> dict[str, Any]:
        """Everything the dashboard shows, JSON-ready."""
        started = time.perf_counter()
        self.advance(now)
        queues = self._queue_names(board)
        waiting = [c for c in self.calls.values() if c.waiting]
        talking = [c for c in self.calls.values() if not c.waiting]
        near = [
            c
            for c in self.cases
            if c.reply_due_at is not None and c.reply_due_at - now <= self.case_warn_seconds
        ]
        owners_by_queue: dict[str, int] = {}
        for case in near:
            agent = board.agents.get(case.owner)
            for skill in agent.skills if agent is not None else ():
                owners_by_queue[skill] = owners_by_queue.get(skill, 0) + 1
        out_queues = []
        for queue in queues:
            mine = [c for c in waiting if c.queue == queue]
            oldest = min((c.arrived_at for c in mine), default=None)
            out_queues.append(
                {
                    "queue": queue,
                    "waiting": len(mine),
                    "held_by_system": sum(1 for c in mine if c.held),
                    "longest_wait": None if oldest is None else round(now - oldest, 1),
                    "talking": sum(1 for c in talking if c.queue == queue),
                    "agents": self._agent_counts(board, queue),
                    "windows": self._windows(f"queue:{queue}"),
                    "cases_near_deadline": owners_by_queue.get(queue, 0),
                    "callbacks": self._callbacks() if queue == self.callback_queue else None,
                }
            )
        return {
            "type": "snapshot",
            "server_time": now,
            "settings": {
                "budget_seconds": self.settings.budget_seconds,
                "budget_rings": self.settings.ring.budget_rings,
                "short_abandon_seconds": self.settings.short_abandon_seconds,
                "case_warn_hours": round(self.case_warn_seconds / 3600.0, 2),
                "windows": dict(WINDOWS),
            },
            "center": {
                "waiting": len(waiting),
                "longest_wait": (
                    None if not waiting else round(now - min(c.arrived_at for c in waiting), 1)
                ),
                "agents": self._agent_counts(board, None),
                "windows": self._windows(ALL),
                "callbacks": self._callbacks(),
                "cases_near_deadline": len(near),
            },
            "queues": out_queues,
            "waiting_calls": [_call_json(c, now) for c in sorted(waiting, key=_arrival)],
            "active_calls": [_call_json(c, now) for c in sorted(talking, key=_arrival)],
            "agents": self._agents(board, now),
            "cases": [_case_json(c, now) for c in near],
            "hourly": [{"hour": start, **_hour(t)} for start, t in self.rolling.hourly(now, ALL)],
            "events_seen": self.events_seen,
            "build_ms": round((time.perf_counter() - started) * 1000, 3),
        }

    def _queue_names(self, board: AgentBoard) -> list[str]:
        names = {self.default_queue}
        for agent in board.agents.values():
            names |= agent.skills
        names |= {c.queue for c in self.calls.values()}
        for key in self.rolling.groups(DAY):
            if key.startswith("queue:"):
                names.add(key[len("queue:") :])
        if self.callback_queue:
            names.add(self.callback_queue)
        return sorted(names)

    def _windows(self, key: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for label, span in WINDOWS.items():
            t = self.rolling.totals(span, key)
            out[label] = {"metrics": compute(t), "counts": t.counts()}
        return out

    def _callbacks(self) -> dict[str, int | None]:
        return {"pending": self.callbacks_pending, "overdue": self.callbacks_overdue}

    @staticmethod
    def _agent_counts(board: AgentBoard, queue: str | None) -> dict[str, Any]:
        counts: dict[str, Any] = {s.value: 0 for s in AgentState if s is not AgentState.PAUSED}
        paused: dict[str, int] = {}
        for staff_no, agent in board.agents.items():
            if queue is not None and queue not in agent.skills:
                continue
            status = board.status[staff_no]
            if status.state is AgentState.PAUSED:
                reason = status.pause_reason or "?"
                paused[reason] = paused.get(reason, 0) + 1
            else:
                counts[status.state.value] += 1
        counts["paused"] = paused
        counts["paused_total"] = sum(paused.values())
        return counts

    def _agents(self, board: AgentBoard, now: float) -> list[dict[str, Any]]:
        out = []
        for staff_no, agent in sorted(board.agents.items()):
            status = board.status[staff_no]
            day: Totals = self.rolling.totals(DAY, f"agent:{staff_no}")
            flags: dict[str, int] = {}
            for _, flag, _ in self._flags.get(staff_no, ()):
                flags[flag] = flags.get(flag, 0) + 1
            out.append(
                {
                    "staff_no": staff_no,
                    "name": agent.name,
                    "endpoint": agent.endpoint,
                    "queues": sorted(agent.skills),
                    "state": status.state.value,
                    "since": status.since,
                    "in_state_seconds": round(max(0.0, now - status.since), 1),
                    "pause_reason": status.pause_reason,
                    "pending_pause": status.pending_pause,
                    "call": status.call,
                    "handled": day.handled,
                    "aht": average_handle_time(day),
                    "flags": flags,
                }
            )
        return out

    def _extra(self, linkedid: str) -> _Extras:
        extras = self._extras.get(linkedid)
        if extras is None:
            extras = self._extras[linkedid] = _Extras()
            if len(self._extras) > _EXTRAS_LIMIT:
                self._extras.popitem(last=False)
        return extras


def definitions_json() -> list[dict[str, str]]:
    return [m.to_json() for m in METRICS]


def _with_wrap(facts: CallFacts, wrap: float) -> CallFacts:
    return replace(facts, wrap_seconds=wrap) if facts.talk_seconds is not None else facts


def _hour(t: Totals) -> dict[str, Any]:
    values = compute(t)
    return {
        "offered": t.offered,
        "handled": t.handled,
        "abandoned": t.abandoned,
        "answered_by_system": t.answered_by_system,
        "service_level": values["service_level"],
    }


def _arrival(call: LiveCall) -> float:
    return call.arrived_at


def _call_json(call: LiveCall, now: float) -> dict[str, Any]:
    return {
        "linkedid": call.linkedid,
        "queue": call.queue,
        "caller_number": call.caller_number,
        "caller_name": call.caller_name,
        "arrived_at": call.arrived_at,
        "wait_seconds": round(max(0.0, (call.answered_at or now) - call.arrived_at), 1),
        "state": "talking" if call.agent else "held" if call.held else "ringing",
        "ringing_agent": call.ringing,
        "agent": call.agent,
        "answered_at": call.answered_at,
    }


def _case_json(case: CaseView, now: float) -> dict[str, Any]:
    due = case.reply_due_at
    return {
        "id": case.id,
        "owner": case.owner,
        "caller_number": case.caller_number,
        "opened_at": case.opened_at,
        "reply_due_at": due,
        "seconds_left": None if due is None else round(due - now),
        "overdue": due is not None and due < now,
    }
