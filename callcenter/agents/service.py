"""The agent board in the app: every change goes through here, is saved and is told.

Agent actions (API, CLI, the supervisor's dashboard), offers (the router, the
callback dialler, click-to-call) and telephony events move the pure
`AgentBoard`; this service logs each transition, writes it to the database
through one ordered queue (retried while the database is down, so no
transition is lost or reordered) and tells the watchers (the live dashboard,
the app_queue projection). The board stays in memory: decisions must not wait
on the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.agents.domain import (
    MISSED_CALLS,
    OFFER_EXPIRED,
    PHONE_NOT_REGISTERED,
    PHONE_UNAVAILABLE,
    Agent,
    AgentBoard,
    AgentError,
    AgentState,
    AgentStatus,
    Case,
    Transition,
    restore,
)
from callcenter.agents.store import AgentRepository, WrapUp
from callcenter.kernel.clock import Clock
from callcenter.kernel.listeners import Listeners

log = logging.getLogger(__name__)

MAX_ALERTS = 200

# Told of every board change; an empty list: a pending pause was set or cleared.
Watcher = Callable[[list[Transition]], None]
# Told of an agent's removal (who, their last status) before it is saved.
RemovalHook = Callable[[Agent, AgentStatus], Awaitable[None]]
# Awaited when a wrap-up opens a case (the callbacks feature queues its reply call).
CaseWatcher = Callable[[Case], Awaitable[None]]
# Is the phone at this PJSIP endpoint registered? None: Asterisk cannot be asked now.
PhoneCheck = Callable[[str], Awaitable[bool | None]]


@dataclass(frozen=True)
class Alert:
    at: float
    kind: str
    staff_no: str
    message: str


class AgentService:
    def __init__(
        self,
        board: AgentBoard,
        repository: AgentRepository,
        *,
        clock: Clock = time.time,
        phones: PhoneCheck | None = None,
    ) -> None:
        self.board = board
        self._repo = repository
        self._clock = clock
        self._phones = phones
        self.alerts: deque[Alert] = deque(maxlen=MAX_ALERTS)
        self._pending: asyncio.Queue[tuple[list[Transition], dict[str, AgentStatus]]] = (
            asyncio.Queue()
        )
        self._watchers: Listeners[Watcher] = Listeners()
        self._removal_hooks: Listeners[RemovalHook] = Listeners()
        self._case_watchers: Listeners[CaseWatcher] = Listeners()

    def watch(self, callback: Watcher) -> Callable[[], None]:
        """Call `callback(transitions)` after every board change; returns the unsubscribe."""
        return self._watchers.add(callback)

    def on_removed(self, hook: RemovalHook) -> Callable[[], None]:
        """Await `hook(agent, last_status)` when an agent is removed (a call ringing them
        must move on); returns the unsubscribe."""
        return self._removal_hooks.add(hook)

    def watch_cases(self, callback: CaseWatcher) -> Callable[[], None]:
        """Await `callback(case)` for every case a wrap-up opens, before the wrap-up is
        answered (its failure fails the request); returns the unsubscribe."""
        return self._case_watchers.add(callback)

    # -- start -----------------------------------------------------------------------------

    async def load(self) -> None:
        """Agents and their last known state from the database: pauses, calls, wrap-up
        ends and offers survive a restart (`domain.restore`). What changed while no
        process listened (a call that ended, an offer that died) is the AMI reconcile's
        to settle; wrap-ups and offers whose time passed end on the first tick."""
        now = self._clock()
        for agent, saved in await self._repo.list_agents():
            status = restore(saved, now, self.board.settings)
            self.board.add(agent, status)
            if status != saved:
                # Saved as restored: a second crash must not restore the old state again.
                self._pending.put_nowait(([], {agent.staff_no: status}))

    # -- agent actions (API, CLI) -----------------------------------------------------------

    async def phone_registered(self, staff_no: str, endpoint: str | None = None) -> bool | None:
        """Whether the agent's phone (or the one at `endpoint`) is registered with
        Asterisk; None: cannot tell now (AMI down, or an app without telephony)."""
        agent = self.board.agents.get(staff_no)
        if agent is None:
            raise AgentError("unknown-agent", f"no agent with staff number {staff_no!r}")
        if self._phones is None:
            return None
        return await self._phones(endpoint or agent.endpoint)

    async def login(self, staff_no: str, endpoint: str | None = None) -> AgentStatus:
        """Log in (at `endpoint`, hot-desking), refused (`phone-not-registered`) while
        Asterisk says the phone there is not registered: the router would offer calls to
        a phone that cannot ring. A refused login moves nobody to another phone.

        When Asterisk cannot be asked (AMI down), the login is accepted: refusing
        would lock every agent out during an outage, and the reconcile on the next AMI
        connect logs out an available agent whose phone is not registered."""
        status = self.board.get(staff_no)
        target = endpoint or self.board.agents[staff_no].endpoint
        if (
            status.state is AgentState.LOGGED_OUT
            and await self.phone_registered(staff_no, target) is False
        ):
            raise AgentError(
                PHONE_NOT_REGISTERED,
                f"agent {staff_no}'s phone ({target}) is not registered with Asterisk:"
                " start the softphone, then log in",
                endpoint=target,
            )
        if target != self.board.agents[staff_no].endpoint:
            await self.rebind(staff_no, target)
        return self.act(staff_no, "login")

    def act(self, staff_no: str, action: str, reason: str | None = None) -> AgentStatus:
        """A state action as it is; the API logs in through `login` (which checks the phone)."""
        now = self._clock()
        if action == "login":
            out = self.board.login(staff_no, now)
        elif action == "logout":
            out = self.board.logout(staff_no, now)
        elif action == "pause":
            if not reason:
                raise AgentError("pause-reason-missing", "a pause needs a reason")
            out = self.board.pause(staff_no, reason, now)
            # A deferred pause is no transition but is state: persist it too.
            self._pending.put_nowait((out, {staff_no: self.board.status[staff_no]}))
            self._tell(out)
            return self.board.status[staff_no]
        elif action == "unpause":
            out = self.board.unpause(staff_no, now)
            self._pending.put_nowait((out, {staff_no: self.board.status[staff_no]}))
            self._tell(out)
            return self.board.status[staff_no]
        else:
            raise AgentError("unknown-action", f"unknown agent action {action!r}")
        self.commit(out)
        return self.board.status[staff_no]

    def finish_wrap_up(self, staff_no: str) -> None:
        self.commit(self.board.finish_wrap_up(staff_no, self._clock()))

    async def file_wrap_up(
        self, wrap: WrapUp, case: tuple[str, float] | None, *, ends_wrap_up: bool
    ) -> Case | None:
        """Save the wrap-up and the case it opens (kind, reply deadline), end the agent's
        wrap-up if it was for their current call, then tell the case watchers."""
        opened = await self._repo.save_wrap_up(wrap, case)
        if ends_wrap_up:
            self.finish_wrap_up(wrap.staff_no)
        if opened is not None:
            for watcher in self._case_watchers:
                await watcher(opened)
        return opened

    async def add_agent(self, agent: Agent) -> None:
        if (
            self.board.by_endpoint(agent.endpoint) is not None
            or agent.staff_no in self.board.agents
        ):
            raise AgentError(
                "agent-exists",
                f"staff number {agent.staff_no} or endpoint {agent.endpoint} is already in use",
            )
        status = AgentStatus(AgentState.LOGGED_OUT, self._clock())
        await self._repo.add_agent(agent, status)
        self.board.add(agent, status)

    async def rebind(self, staff_no: str, endpoint: str) -> None:
        """Move a logged-out agent to another phone (hot-desking)."""
        status = self.board.get(staff_no)
        if status.state is not AgentState.LOGGED_OUT:
            raise AgentError("agent-busy", f"agent {staff_no} must log out before changing phone")
        agent = replace(self.board.agents[staff_no], endpoint=endpoint)
        await self._repo.set_endpoint(staff_no, endpoint)
        self.board.add(agent, status)

    async def remove_agent(self, staff_no: str) -> None:
        status = self.board.get(staff_no)
        agent = self.board.agents[staff_no]
        self.commit(self.board.remove(staff_no, self._clock()))
        for hook in self._removal_hooks:
            await hook(agent, status)
        await self._pending.join()
        await self._repo.remove_agent(staff_no)

    # -- outbound offers (the callback dialler, click-to-call) ------------------------------

    def offer(self, staff_no: str, call: str, ring_seconds: float | None = None) -> None:
        """Mark the agent ringing with `call` for `ring_seconds` (then it expires)."""
        self.commit(self.board.offer(staff_no, call, self._clock(), ring_seconds))

    def withdraw(self, staff_no: str, call: str, why: str | None = None) -> None:
        self.commit(self.board.withdrawn(staff_no, call, self._clock(), why))

    def offer_failed(self, staff_no: str, call: str, why: str, *, counts_as_miss: bool) -> None:
        """An offer that rang the agent's own phone (an Originate) failed with `why`.

        A no-answer is a miss where `counts_as_miss` (the callback dialler; a
        click-to-call the agent placed and did not pick up is their own choice).
        Anything else releases the agent at once with `why` in the state log and
        an alert; a phone that could not be rung at all (`phone-unavailable`:
        not registered) also logs the agent out, as a softphone that unregisters
        does, so no further offer goes to it."""
        if why == "no-answer" and counts_as_miss:
            self.missed(staff_no, call)
            return
        if staff_no not in self.board.agents:
            return
        now = self._clock()
        out = self.board.withdrawn(staff_no, call, now, why)
        self.commit(out)
        if not out:
            return
        if why == PHONE_UNAVAILABLE and self.board.status[staff_no].state is AgentState.AVAILABLE:
            self.commit(self.board.logout(staff_no, now), why=why)
            self.alert(why, staff_no, f"agent {staff_no}'s phone could not be rung: logged out")
        elif why != "no-answer":
            self.alert("offer-failed", staff_no, f"call {call} to agent {staff_no} failed: {why}")

    def missed(self, staff_no: str, call: str) -> None:
        out = self.board.not_answered(staff_no, call, self._clock())
        self.commit(out)
        if any(t.reason == MISSED_CALLS for t in out):
            self.alert(MISSED_CALLS, staff_no, f"agent {staff_no} missed calls in a row: paused")

    # -- what the router asks ---------------------------------------------------------------

    def commit(self, transitions: list[Transition], why: str | None = None) -> None:
        """Log, save and tell `transitions`, made on `board` by the caller (who keeps
        one time for a whole decision); `why` is the reason where they have none."""
        if not transitions:
            return
        if why is not None:
            transitions = [replace(t, reason=t.reason or why) for t in transitions]
        statuses = {
            t.staff_no: self.board.status[t.staff_no]
            for t in transitions
            if t.staff_no in self.board.status
        }
        for t in transitions:
            log.info(
                "agent %s: %s -> %s%s",
                t.staff_no,
                t.old.value,
                t.new.value,
                f" ({t.reason})" if t.reason else "",
            )
        self._pending.put_nowait((transitions, statuses))
        self._tell(transitions)

    def alert(self, kind: str, staff_no: str, message: str) -> None:
        """Tell the supervisors (GET /api/alerts) and the log."""
        log.warning("supervisor alert: %s", message)
        self.alerts.append(Alert(self._clock(), kind, staff_no, message))

    def staff_of(self, endpoint: str) -> str | None:
        """The staff number of the agent at this PJSIP endpoint, if any."""
        agent = self.board.by_endpoint(endpoint)
        return agent.staff_no if agent is not None else None

    async def open_case_owner(self, caller: str) -> str | None:
        return await self._repo.open_case_owner(caller)

    async def list_cases(self, status: str | None = None) -> list[Case]:
        return await self._repo.list_cases(status)

    async def close_case(
        self,
        case_id: int,
        closed_at: float,
        note: str | None = None,
        *,
        session: AsyncSession | None = None,
    ) -> bool:
        """Close an open case (`note` appended to its summary); False: no such open case.
        With `session`, inside the caller's transaction."""
        return await self._repo.close_case(case_id, closed_at, note, session=session)

    async def add_callback_request(
        self,
        caller: str,
        source: str,
        linkedid: str | None,
        requested_at: float,
        message_path: str | None,
    ) -> None:
        await self._repo.add_callback_request(caller, source, linkedid, requested_at, message_path)

    # -- background -------------------------------------------------------------------------

    async def run_ticks(self, interval: float = 0.5) -> None:
        """End the wrap-ups whose time ran out, withdraw the offers nobody resolved."""
        while True:
            await asyncio.sleep(interval)
            self.tick()

    def tick(self) -> list[Transition]:
        out = self.board.expire(self._clock())
        self.commit(out)
        for t in out:
            if t.reason == OFFER_EXPIRED:
                self.alert(
                    OFFER_EXPIRED,
                    t.staff_no,
                    f"offer of {t.call} to agent {t.staff_no} never confirmed: released",
                )
        return out

    async def run_persistence(self, retry_max: float = 10.0) -> None:
        """Write transitions in order; while the database is down, keep them and retry."""
        while True:
            transitions, statuses = await self._pending.get()
            delay = 0.5
            while True:
                try:
                    await self._repo.record(transitions, statuses)
                    break
                except Exception as exc:  # database down: retry, never drop
                    log.warning("agent state not saved (%s); retrying in %.1fs", exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(retry_max, delay * 2)
            self._pending.task_done()

    async def flush(self) -> None:
        await self._pending.join()

    # -- internals --------------------------------------------------------------------------

    def _tell(self, transitions: list[Transition]) -> None:
        for watcher in self._watchers:
            try:
                watcher(transitions)
            except Exception:
                log.exception("agent state watcher failed")
