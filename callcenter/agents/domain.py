"""Agent states: our state machine, not app_queue's.

Pure: every method takes the time it happens at and returns the transitions it
made (for the state log, reports and attendance); nothing here does I/O. The
rules app_queue users keep reporting broken are the reason it exists:

- an agent in wrap-up is never offered a call (only AVAILABLE agents are);
- a pause keeps its reason through a reason change and an unpause (every
  change is a logged transition carrying the reason);
- a pause asked for during a call waits for the end of the call and its
  wrap-up instead of being lost or cutting the call;
- an agent who misses `max_missed` offers in a row is paused with reason
  `missed-calls` (the service tells the supervisor).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any

from callcenter.config import DEFAULT_PAUSE_REASONS
from callcenter.kernel.errors import DomainError


class AgentState(enum.StrEnum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


MISSED_CALLS = "missed-calls"


class AgentError(DomainError, ValueError):
    """An agent action that cannot be done now; `error_id` is stable for the API."""

    not_found_ids = frozenset({"unknown-agent"})
    # "Not now" rather than "no such thing" / "bad request".
    conflict_ids = frozenset(
        {"agent-busy", "agent-exists", "endpoint-taken", "wrap-up-exists", "agent-unavailable"}
    )


@dataclass(frozen=True)
class Agent:
    """Who an agent is: staff number (工號), softphone endpoint, skills."""

    staff_no: str
    name: str
    endpoint: str  # PJSIP endpoint name
    skills: frozenset[str] = frozenset({"support"})
    shift: str | None = None


@dataclass(frozen=True)
class AgentStatus:
    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0
    pause_reason: str | None = None
    # A pause asked for while ringing, on a call or in wrap-up: applied after.
    pending_pause: str | None = None
    # Longest-idle routing: when the agent last became free for calls.
    idle_since: float | None = None
    missed_in_row: int = 0
    call: str | None = None  # linkedid being offered / talked / wrapped up
    wrap_up_until: float | None = None


def agent_status_json(agent: Agent, status: AgentStatus) -> dict[str, Any]:
    """An agent and their live state as the API, the panel and its WebSocket show them."""
    return {
        "staff_no": agent.staff_no,
        "name": agent.name,
        "endpoint": agent.endpoint,
        "skills": sorted(agent.skills),
        "shift": agent.shift,
        "state": status.state.value,
        "since": status.since,
        "pause_reason": status.pause_reason,
        "pending_pause": status.pending_pause,
        "missed_in_row": status.missed_in_row,
        "call": status.call,
        "wrap_up_until": status.wrap_up_until,
    }


@dataclass(frozen=True)
class Transition:
    staff_no: str
    at: float
    old: AgentState
    new: AgentState
    reason: str | None = None  # pause reason, or why (e.g. "wrap-up-timeout")
    call: str | None = None


@dataclass(frozen=True)
class Case:
    """A customer case (a complaint above all), owned by the agent who took it (首問負責制)."""

    id: int
    kind: str
    caller_number: str
    owner: str
    linkedid: str | None
    summary: str
    status: str
    opened_at: float
    reply_due_at: float | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class BoardSettings:
    wrap_up_seconds: float = 30.0
    max_missed: int = 2
    pause_reasons: tuple[str, ...] = DEFAULT_PAUSE_REASONS


@dataclass
class AgentBoard:
    """Every agent's status; the router reads it, events and agent actions move it."""

    settings: BoardSettings = field(default_factory=BoardSettings)
    agents: dict[str, Agent] = field(default_factory=dict)
    status: dict[str, AgentStatus] = field(default_factory=dict)

    # -- roster -----------------------------------------------------------------------

    def add(self, agent: Agent, status: AgentStatus | None = None) -> None:
        for other in self.agents.values():
            if other.endpoint == agent.endpoint and other.staff_no != agent.staff_no:
                raise AgentError(
                    "endpoint-taken",
                    f"endpoint {agent.endpoint} already belongs to agent {other.staff_no}",
                )
        self.agents[agent.staff_no] = agent
        self.status.setdefault(agent.staff_no, status or AgentStatus())

    def remove(self, staff_no: str, now: float) -> list[Transition]:
        """Forget an agent; a call ringing them is left to the router to re-route."""
        self._agent(staff_no)
        out = self._set(staff_no, now, AgentStatus(state=AgentState.LOGGED_OUT, since=now))
        del self.agents[staff_no]
        del self.status[staff_no]
        return out

    def by_endpoint(self, endpoint: str) -> Agent | None:
        for agent in self.agents.values():
            if agent.endpoint == endpoint:
                return agent
        return None

    def get(self, staff_no: str) -> AgentStatus:
        self._agent(staff_no)
        return self.status[staff_no]

    # -- agent actions ---------------------------------------------------------------

    def login(self, staff_no: str, now: float) -> list[Transition]:
        current = self.get(staff_no)
        if current.state is not AgentState.LOGGED_OUT:
            return []
        return self._set(staff_no, now, AgentStatus(AgentState.AVAILABLE, now, idle_since=now))

    def logout(self, staff_no: str, now: float) -> list[Transition]:
        current = self.get(staff_no)
        if current.state in (AgentState.RINGING, AgentState.ON_CALL):
            raise AgentError("agent-busy", f"agent {staff_no} is on a call; log out after it")
        if current.state is AgentState.LOGGED_OUT:
            return []
        return self._set(staff_no, now, AgentStatus(AgentState.LOGGED_OUT, now))

    def pause(self, staff_no: str, reason: str, now: float) -> list[Transition]:
        if reason not in self.settings.pause_reasons:
            known = ", ".join(self.settings.pause_reasons)
            raise AgentError(
                "unknown-pause-reason", f"unknown pause reason {reason!r}; use {known}"
            )
        current = self.get(staff_no)
        if current.state is AgentState.LOGGED_OUT:
            raise AgentError("agent-logged-out", f"agent {staff_no} is logged out")
        if current.state in (AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP):
            self.status[staff_no] = replace(current, pending_pause=reason)
            return []
        if current.state is AgentState.PAUSED and current.pause_reason == reason:
            return []
        return self._set(
            staff_no, now, AgentStatus(AgentState.PAUSED, now, pause_reason=reason), reason=reason
        )

    def unpause(self, staff_no: str, now: float) -> list[Transition]:
        current = self.get(staff_no)
        if current.pending_pause is not None:
            self.status[staff_no] = replace(current, pending_pause=None)
            return []
        if current.state is not AgentState.PAUSED:
            raise AgentError("agent-not-paused", f"agent {staff_no} is not paused")
        # The reason the pause ends is the pause's own: reports see what it was.
        return self._set(
            staff_no,
            now,
            AgentStatus(AgentState.AVAILABLE, now, idle_since=now),
            reason=current.pause_reason,
        )

    def finish_wrap_up(
        self, staff_no: str, now: float, why: str = "wrap-up-done"
    ) -> list[Transition]:
        current = self.get(staff_no)
        if current.state is not AgentState.WRAP_UP:
            return []
        return self._after_work(staff_no, current, now, why)

    # -- telephony events ------------------------------------------------------------

    def offer(self, staff_no: str, call: str, now: float) -> list[Transition]:
        current = self.get(staff_no)
        if current.state is not AgentState.AVAILABLE:
            raise AgentError("agent-unavailable", f"agent {staff_no} is {current.state}")
        return self._set(
            staff_no, now, replace(current, state=AgentState.RINGING, since=now, call=call)
        )

    def answered(self, staff_no: str, call: str, now: float) -> list[Transition]:
        current = self.get(staff_no)
        if current.state is AgentState.ON_CALL and current.call == call:
            return []
        return self._set(
            staff_no,
            now,
            replace(current, state=AgentState.ON_CALL, since=now, call=call, missed_in_row=0),
        )

    def not_answered(self, staff_no: str, call: str, now: float) -> list[Transition]:
        """The offer ended unanswered (no answer, busy, the caller left, the budget ran out)."""
        current = self.get(staff_no)
        if current.state is not AgentState.RINGING or current.call != call:
            return []
        missed = current.missed_in_row + 1
        if current.pending_pause is not None and missed < self.settings.max_missed:
            # The agent asked for a pause while ringing: no call to finish, pause now.
            reason = current.pending_pause
            nxt = AgentStatus(AgentState.PAUSED, now, pause_reason=reason, missed_in_row=missed)
            return self._set(staff_no, now, nxt, reason=reason)
        if missed >= self.settings.max_missed:
            return self._set(
                staff_no,
                now,
                AgentStatus(
                    AgentState.PAUSED, now, pause_reason=MISSED_CALLS, missed_in_row=missed
                ),
                reason=MISSED_CALLS,
            )
        # Back in line where it was: a missed offer does not make an agent "more idle".
        return self._set(
            staff_no,
            now,
            replace(
                current, state=AgentState.AVAILABLE, since=now, call=None, missed_in_row=missed
            ),
        )

    def withdrawn(self, staff_no: str, call: str, now: float) -> list[Transition]:
        """The offer ended through no fault of the agent (caller hung up, another took it)."""
        current = self.get(staff_no)
        if current.state is not AgentState.RINGING or current.call != call:
            return []
        if current.pending_pause is not None:
            reason = current.pending_pause
            nxt = AgentStatus(
                AgentState.PAUSED, now, pause_reason=reason, missed_in_row=current.missed_in_row
            )
            return self._set(staff_no, now, nxt, reason=reason)
        return self._set(
            staff_no, now, replace(current, state=AgentState.AVAILABLE, since=now, call=None)
        )

    def call_ended(self, staff_no: str, call: str, now: float) -> list[Transition]:
        current = self.get(staff_no)
        if current.state is not AgentState.ON_CALL or current.call != call:
            return []
        until = now + self.settings.wrap_up_seconds
        return self._set(
            staff_no,
            now,
            replace(current, state=AgentState.WRAP_UP, since=now, wrap_up_until=until),
        )

    def expire(self, now: float) -> list[Transition]:
        """Wrap-ups whose time limit passed end here (the limit is counted, not trusted)."""
        out: list[Transition] = []
        for staff_no, current in list(self.status.items()):
            if (
                current.state is AgentState.WRAP_UP
                and current.wrap_up_until is not None
                and current.wrap_up_until <= now
            ):
                out += self._after_work(staff_no, current, now, "wrap-up-timeout")
        return out

    # -- queries --------------------------------------------------------------------

    def available(self, skill: str | None = None) -> list[tuple[Agent, AgentStatus]]:
        """Agents free to take a call with `skill`, longest idle first."""
        free = [
            (self.agents[s], st)
            for s, st in self.status.items()
            if st.state is AgentState.AVAILABLE
            and (skill is None or skill in self.agents[s].skills)
        ]
        free.sort(key=lambda pair: (pair[1].idle_since or 0.0, pair[0].staff_no))
        return free

    # -- internals --------------------------------------------------------------------

    def _after_work(
        self, staff_no: str, current: AgentStatus, now: float, why: str
    ) -> list[Transition]:
        if current.pending_pause is not None:
            reason = current.pending_pause
            nxt = AgentStatus(AgentState.PAUSED, now, pause_reason=reason)
            return self._set(staff_no, now, nxt, reason=reason)
        nxt = AgentStatus(
            AgentState.AVAILABLE, now, idle_since=now, missed_in_row=current.missed_in_row
        )
        return self._set(staff_no, now, nxt, reason=why)

    def _agent(self, staff_no: str) -> Agent:
        agent = self.agents.get(staff_no)
        if agent is None:
            raise AgentError("unknown-agent", f"no agent with staff number {staff_no!r}")
        return agent

    def _set(
        self, staff_no: str, now: float, new: AgentStatus, reason: str | None = None
    ) -> list[Transition]:
        old = self.status[staff_no]
        self.status[staff_no] = new
        if old.state is new.state and old.pause_reason == new.pause_reason:
            return []
        return [
            Transition(
                staff_no=staff_no,
                at=now,
                old=old.state,
                new=new.state,
                reason=reason if reason is not None else new.pause_reason,
                call=new.call or old.call,
            )
        ]
