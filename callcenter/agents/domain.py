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
  `missed-calls` (the service tells the supervisor);
- every offer has an end (`ring_until`): an offer nobody resolves (a lost or
  forged FastAGI request, an Originate whose answer never came) is withdrawn
  by the ticks with reason `offer-expired` instead of leaving the agent
  `ringing` for good;
- a wrap-up's end is part of the state (saved, restored after a crash), so a
  restarted service ends it when it was due, not never.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
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
OFFER_EXPIRED = "offer-expired"
# Found by the reconcile with Asterisk after a (re)connect.
OFFER_DIED = "offer-died"
CALL_ENDED_UNSEEN = "ended-while-disconnected"
CALL_ADOPTED = "adopted"
DEVICE_GONE = "device-gone"
# The agent's phone could not be rung (an Originate failed, the phone unregistered).
PHONE_UNAVAILABLE = "phone-unavailable"
PHONE_NOT_REGISTERED = "phone-not-registered"


class AgentError(DomainError, ValueError):
    """An agent action that cannot be done now; `error_id` is stable for the API."""

    not_found_ids = frozenset({"unknown-agent"})
    # "Not now" rather than "no such thing" / "bad request".
    conflict_ids = frozenset(
        {
            "agent-busy",
            "agent-exists",
            "endpoint-taken",
            "wrap-up-exists",
            "agent-unavailable",
            PHONE_NOT_REGISTERED,
        }
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
    # Until when an offer may ring before the ticks withdraw it (unresolved offers).
    ring_until: float | None = None


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
        "ring_until": status.ring_until,
    }


@dataclass(frozen=True)
class LiveChannel:
    """One of Asterisk's live channels at an endpoint, as the reconcile reads them."""

    endpoint: str
    linkedid: str
    up: bool  # answered (talking), not just ringing


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
    # Added to an offer's ring time before it expires: the FastAGI round trip after
    # the ring and the staff-number prompt the agent hears before `connected`.
    offer_margin: float = 5.0
    # The ring time of an offer made without one.
    default_ring_seconds: float = 15.0


def restore(status: AgentStatus, now: float, settings: BoardSettings) -> AgentStatus:
    """A state saved by an earlier process, made whole for this one.

    A wrap-up saved without its end (rows from before the end was saved) ends
    `wrap_up_seconds` after it began. An offer past its end, or saved without
    one, died with the previous process: the agent is free again (or paused,
    if they asked for it). An offer still within its time is kept: the ticks
    or the AMI reconcile settle it. A call in progress is kept for the
    reconcile to check against Asterisk's live channels.
    """
    if status.state is AgentState.WRAP_UP and status.wrap_up_until is None:
        return replace(status, wrap_up_until=status.since + settings.wrap_up_seconds)
    if status.state is AgentState.RINGING and (
        status.ring_until is None or status.ring_until <= now
    ):
        if status.pending_pause is not None:
            return AgentStatus(
                AgentState.PAUSED,
                now,
                pause_reason=status.pending_pause,
                missed_in_row=status.missed_in_row,
            )
        return AgentStatus(
            AgentState.AVAILABLE,
            now,
            idle_since=status.idle_since,
            missed_in_row=status.missed_in_row,
        )
    return status


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

    def offer(
        self, staff_no: str, call: str, now: float, ring_seconds: float | None = None
    ) -> list[Transition]:
        """Ring the agent with `call` for `ring_seconds` (the settings' default if None);
        unresolved `offer_margin` seconds after that, the offer expires."""
        current = self.get(staff_no)
        if current.state is not AgentState.AVAILABLE:
            raise AgentError("agent-unavailable", f"agent {staff_no} is {current.state}")
        ring = self.settings.default_ring_seconds if ring_seconds is None else ring_seconds
        until = now + max(0.0, ring) + self.settings.offer_margin
        return self._set(
            staff_no,
            now,
            replace(current, state=AgentState.RINGING, since=now, call=call, ring_until=until),
        )

    def answered(self, staff_no: str, call: str, now: float) -> list[Transition]:
        current = self.get(staff_no)
        if current.state is AgentState.ON_CALL and current.call == call:
            return []
        return self._set(
            staff_no,
            now,
            replace(
                current,
                state=AgentState.ON_CALL,
                since=now,
                call=call,
                missed_in_row=0,
                ring_until=None,
            ),
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
                current,
                state=AgentState.AVAILABLE,
                since=now,
                call=None,
                missed_in_row=missed,
                ring_until=None,
            ),
        )

    def withdrawn(
        self, staff_no: str, call: str, now: float, why: str | None = None
    ) -> list[Transition]:
        """The offer ended through no fault of the agent (caller hung up, another took it,
        the phone could not be rung: `why` says which, for the state log)."""
        current = self.get(staff_no)
        if current.state is not AgentState.RINGING or current.call != call:
            return []
        return self._release(staff_no, current, now, why)

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
        """Wrap-ups whose time limit passed end here (the limit is counted, not trusted),
        and offers nobody resolved within their ring time are withdrawn."""
        out: list[Transition] = []
        for staff_no, current in list(self.status.items()):
            if (
                current.state is AgentState.WRAP_UP
                and current.wrap_up_until is not None
                and current.wrap_up_until <= now
            ):
                out += self._after_work(staff_no, current, now, "wrap-up-timeout")
            elif (
                current.state is AgentState.RINGING
                and current.ring_until is not None
                and current.ring_until <= now
            ):
                out += self._release(staff_no, current, now, OFFER_EXPIRED)
        return out

    def reconcile(
        self,
        channels: Iterable[LiveChannel],
        unregistered: set[str] | None,
        asked_at: float,
        now: float,
    ) -> list[Transition]:
        """Agents against what Asterisk says after a (re)connect: its live `channels`
        and the endpoints with no phone registered (`unregistered`; None: not known).

        Only states older than `asked_at` (when Asterisk was asked) are judged: what
        this process did since is its own. For those, a call whose agent has no
        channel on it any more ended while nobody listened: wrap-up, counted from now
        (we learn it ended now). An agent talking on another call (app_queue, the
        dialplan's fallback, connected them while we were down) is on that call. An
        offer whose agent has no channel at all died and is released (an Originate's
        channel carries no call id of ours: any channel keeps the offer, its own end
        settles it). Then an available agent whose phone is not registered is logged
        out (`device-gone`), as when the phone unregisters while we listen."""
        ringing: dict[str, set[str]] = {}
        talking: dict[str, set[str]] = {}
        for channel in channels:
            ringing.setdefault(channel.endpoint, set()).add(channel.linkedid)
            if channel.up:
                talking.setdefault(channel.endpoint, set()).add(channel.linkedid)
        out: list[Transition] = []
        for staff_no, status in list(self.status.items()):
            endpoint = self.agents[staff_no].endpoint
            busy, up = ringing.get(endpoint, set()), sorted(talking.get(endpoint, set()))
            if status.since > asked_at:
                pass
            elif status.state is AgentState.ON_CALL and status.call not in busy:
                ended = self.call_ended(staff_no, status.call or "", now)
                out += [replace(t, reason=t.reason or CALL_ENDED_UNSEEN) for t in ended]
                if up:  # and another began: logged as both, the wrap-up lasting no time
                    out += self._adopt(staff_no, up[0], now)
            elif status.state is AgentState.RINGING and not busy:
                out += self._release(staff_no, status, now, OFFER_DIED)
            elif status.state is AgentState.AVAILABLE and up:
                out += self._adopt(staff_no, up[0], now)
            if (
                unregistered is not None
                and endpoint in unregistered
                and self.status[staff_no].state is AgentState.AVAILABLE
            ):
                left = self.logout(staff_no, now)
                out += [replace(t, reason=DEVICE_GONE) for t in left]
        return out

    def _adopt(self, staff_no: str, call: str, now: float) -> list[Transition]:
        current = self.status[staff_no]
        return self._set(
            staff_no,
            now,
            replace(current, state=AgentState.ON_CALL, since=now, call=call, ring_until=None),
            reason=CALL_ADOPTED,
        )

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

    def _release(
        self, staff_no: str, current: AgentStatus, now: float, why: str | None
    ) -> list[Transition]:
        if current.pending_pause is not None:
            reason = current.pending_pause
            nxt = AgentStatus(
                AgentState.PAUSED, now, pause_reason=reason, missed_in_row=current.missed_in_row
            )
            return self._set(staff_no, now, nxt, reason=reason)
        return self._set(
            staff_no,
            now,
            replace(current, state=AgentState.AVAILABLE, since=now, call=None, ring_until=None),
            reason=why,
        )

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
