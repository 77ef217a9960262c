"""The router: the dialplan asks over FastAGI, the pure decisions answer.

Each inbound call runs `AGI(.../route,...)` on arrival and again after every
failed ring; the reply tells the dialplan to ring one agent for a number of
seconds, to keep ringing, to answer as the system, or that the center is
closed. The agent's answer (`connected`, from the Dial gosub) and the end of
the call (AMI `Hangup`) move the agent board; ticks end timed-out wrap-ups.

The dialplan, not this service, guarantees the ring budget: it answers at the
budget whatever we said, and without us (AGI unreachable) it falls back to
app_queue, whose membership this service keeps in line with the board.

Every agent transition is written to the database through one ordered queue
(retried while the database is down, so no transition is lost or reordered).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from callcenter.agents.domain import (
    MISSED_CALLS,
    Agent,
    AgentBoard,
    AgentError,
    AgentState,
    AgentStatus,
    Transition,
)
from callcenter.agents.store import AgentRepository
from callcenter.agi.fastagi import AgiRequest
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiError
from callcenter.ami.message import Message
from callcenter.routing.decide import (
    Closed,
    Decision,
    Ring,
    RouteSettings,
    SystemAnswer,
    Wait,
    WaitingCall,
    decide,
)
from callcenter.routing.hours import OpeningHours

log = logging.getLogger(__name__)

Clock = Callable[[], float]
PromptFor = Callable[[Agent], str]
NOT_ANSWERED = {"NOANSWER", "BUSY", "CONGESTION", "CHANUNAVAIL"}
MAX_ALERTS = 200
MAX_GONE = 10_000


@dataclass(frozen=True)
class Alert:
    at: float
    kind: str
    staff_no: str
    message: str


@dataclass
class RouterStats:
    decisions: int = 0
    # seconds from AGI request received to reply ready, for the benchmark and /metrics
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))


class Router:
    def __init__(
        self,
        board: AgentBoard,
        repository: AgentRepository,
        settings: RouteSettings,
        hours: OpeningHours,
        *,
        prompt_for: PromptFor = lambda agent: "",
        clock: Clock = time.time,
        ami: AmiClient | None = None,
    ) -> None:
        self.board = board
        self._repo = repository
        self._settings = settings
        self._hours = hours
        self._prompt_for = prompt_for
        self._clock = clock
        self._ami = ami
        self.waiting: dict[str, WaitingCall] = {}
        self.alerts: deque[Alert] = deque(maxlen=MAX_ALERTS)
        self.stats = RouterStats()
        # The callback queue's intake (callcenter.callbacks.sources), wired by the app.
        self.on_callback_request: Callable[[str, str, str | None], Awaitable[None]] | None = None
        self._pending: asyncio.Queue[tuple[list[Transition], dict[str, AgentStatus]]] = (
            asyncio.Queue()
        )
        # Callers whose channel is gone: their AMI Hangup can overtake (or race) the
        # FastAGI request, which must then not bring the dead call back.
        self._gone: OrderedDict[str, None] = OrderedDict()
        # Told of every agent state change (the live dashboard, screen pops); see watch().
        self._watchers: list[Callable[[list[Transition]], None]] = []

    def watch(self, callback: Callable[[list[Transition]], None]) -> Callable[[], None]:
        """Call `callback(transitions)` after every board change (an empty list: a pending
        pause was set or cleared); returns the unsubscribe."""
        self._watchers.append(callback)

        def unwatch() -> None:
            if callback in self._watchers:
                self._watchers.remove(callback)

        return unwatch

    # -- start -----------------------------------------------------------------------------

    async def load(self) -> None:
        """Agents and their last known state from the database (pauses survive restarts)."""
        now = self._clock()
        for agent, status in await self._repo.list_agents():
            if status.state is AgentState.RINGING:
                # The offer died with the previous process; the call has moved on.
                status = AgentStatus(AgentState.AVAILABLE, now, idle_since=status.idle_since)
            self.board.add(agent, status)

    def handlers(self) -> Mapping[str, Callable[[AgiRequest], Awaitable[Mapping[str, str]]]]:
        return {"route": self.route, "connected": self.connected, "callback": self.callback}

    # -- FastAGI ----------------------------------------------------------------------------

    async def route(self, request: AgiRequest) -> Mapping[str, str]:
        """args: linkedid, caller number, arrival epoch, skill, DIALSTATUS, agent rung, answered"""
        started = time.perf_counter()
        linkedid = request.arg(0)
        if not linkedid:
            raise ValueError("route: no linkedid argument")
        call = self.waiting.get(linkedid)
        if call is None:
            owner = await self._owner(request.arg(1))
            call = WaitingCall(
                linkedid=linkedid,
                arrived_at=_float(request.arg(2)) or self._clock(),
                skill=request.arg(3) or "support",
                caller_number=request.arg(1) or None,
                owner=owner,
            )
        if linkedid in self._gone:
            self.waiting.pop(linkedid, None)
            return {"CC_ACTION": "gone"}
        now = self._clock()  # after the owner lookup: the budget is counted from here
        rung = request.arg(5)
        if rung and call.dialling == rung:
            call = self._ring_ended(call, rung, request.arg(4), now)
        if request.arg(6) == "1" and not call.system_answered:
            call = replace(call, system_answered=True)
        self.waiting[linkedid] = call
        decision = decide(
            call,
            list(self.waiting.values()),
            self.board,
            now,
            self._settings,
            open_now=self._hours.open_at(now),
            on_shift=lambda agent: self._hours.in_shift(agent.shift, now),
        )
        reply = self._apply(call, decision, now)
        self.stats.decisions += 1
        self.stats.latencies.append(time.perf_counter() - started)
        return reply

    async def connected(self, request: AgiRequest) -> Mapping[str, str]:
        """args: linkedid, staff number (the Dial gosub, on the agent's channel)."""
        linkedid, staff_no = request.arg(0), request.arg(1)
        now = self._clock()
        call = self.waiting.pop(linkedid, None)
        if staff_no in self.board.agents:
            self._commit(self.board.answered(staff_no, linkedid, now))
        if call is not None and call.dialling not in (None, staff_no):
            self._commit(self.board.withdrawn(call.dialling, linkedid, now))
        return {}

    async def callback(self, request: AgiRequest) -> Mapping[str, str]:
        """args: linkedid, caller number, source (press-1, after-hours), message file."""
        linkedid, caller, source = request.arg(0), request.arg(1), request.arg(2) or "press-1"
        if not caller:
            log.warning("callback request for call %s without a caller number dropped", linkedid)
            return {"CC_CALLBACK": "no-number"}
        await self._repo.add_callback_request(
            caller, source, linkedid or None, self._clock(), request.arg(3) or None
        )
        if self.on_callback_request is not None:
            await self.on_callback_request(caller, source, linkedid or None)
        return {"CC_CALLBACK": "stored"}

    # -- AMI -----------------------------------------------------------------------------------

    def on_event(self, event: Message) -> None:
        name = event.name
        if name == "Hangup":
            self._on_hangup(event)
        elif name == "DeviceStateChange":
            self._on_device_state(event)

    def _on_hangup(self, event: Message) -> None:
        now = self._clock()
        uniqueid, linkedid = event.get("Uniqueid") or "", event.get("Linkedid") or ""
        if uniqueid and uniqueid == linkedid:
            self._gone[linkedid] = None
            if len(self._gone) > MAX_GONE:
                self._gone.popitem(last=False)
            call = self.waiting.pop(linkedid, None)
            if call is not None and call.dialling is not None:
                self._commit(self.board.withdrawn(call.dialling, linkedid, now))
        agent = self.board.by_endpoint(_endpoint(event.get("Channel") or ""))
        if agent is None:
            return
        status = self.board.status.get(agent.staff_no)
        if status is not None and status.call == linkedid:
            if status.state is AgentState.ON_CALL:
                self._commit(self.board.call_ended(agent.staff_no, linkedid, now))
            elif status.state is AgentState.RINGING and linkedid not in self.waiting:
                self._commit(self.board.withdrawn(agent.staff_no, linkedid, now))

    def _on_device_state(self, event: Message) -> None:
        agent = self.board.by_endpoint(_endpoint(event.get("Device") or ""))
        if agent is None or event.get("State") != "UNAVAILABLE":
            return
        status = self.board.status[agent.staff_no]
        if status.state is AgentState.AVAILABLE:
            # The softphone is gone (unregistered): offering it calls would only burn budget.
            self._commit(self.board.logout(agent.staff_no, self._clock()), why="device-gone")
            self._alert("device-unavailable", agent.staff_no, "softphone unregistered: logged out")

    async def reconcile(self, live: Sequence[tuple[str, str]]) -> None:
        """After a (re)connect, from (channel, linkedid) of Asterisk's live channels:
        agents whose call vanished while we were not listening, and calls gone."""
        now = self._clock()
        busy = {_endpoint(channel) for channel, _ in live}
        calls = {linkedid for _, linkedid in live}
        for staff_no, status in list(self.board.status.items()):
            endpoint = self.board.agents[staff_no].endpoint
            if endpoint in busy or status.call is None:
                continue
            if status.state is AgentState.ON_CALL:
                self._commit(self.board.call_ended(staff_no, status.call, now))
            elif status.state is AgentState.RINGING:
                self._commit(self.board.withdrawn(staff_no, status.call, now))
        for linkedid in [c for c in self.waiting if c not in calls]:
            del self.waiting[linkedid]

    # -- agent actions (API, CLI) ---------------------------------------------------------------

    def act(self, staff_no: str, action: str, reason: str | None = None) -> AgentStatus:
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
            self._project(out)
            return self.board.status[staff_no]
        elif action == "unpause":
            out = self.board.unpause(staff_no, now)
            self._pending.put_nowait((out, {staff_no: self.board.status[staff_no]}))
            self._project(out)
            return self.board.status[staff_no]
        else:
            raise AgentError("unknown-action", f"unknown agent action {action!r}")
        self._commit(out)
        return self.board.status[staff_no]

    # -- outbound offers (the callback dialler) -------------------------------------------

    def offer(self, staff_no: str, call: str) -> None:
        self._commit(self.board.offer(staff_no, call, self._clock()))

    def withdraw(self, staff_no: str, call: str) -> None:
        self._commit(self.board.withdrawn(staff_no, call, self._clock()))

    def missed(self, staff_no: str, call: str) -> None:
        out = self.board.not_answered(staff_no, call, self._clock())
        self._commit(out)
        if any(t.reason == MISSED_CALLS for t in out):
            self._alert(MISSED_CALLS, staff_no, f"agent {staff_no} missed calls in a row: paused")

    def finish_wrap_up(self, staff_no: str) -> None:
        self._commit(self.board.finish_wrap_up(staff_no, self._clock()))

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
        endpoint = self.board.agents[staff_no].endpoint
        call = self.waiting.get(status.call or "")
        self._commit(self.board.remove(staff_no, self._clock()))
        if call is not None and call.dialling == staff_no:
            self.waiting[call.linkedid] = replace(call, tried=call.tried | {staff_no})
            # Stop the ring now; the dialplan asks again and the call moves on.
            await self._hang_up_ringing(endpoint)
        await self._pending.join()
        await self._repo.remove_agent(staff_no)

    async def _hang_up_ringing(self, endpoint: str) -> None:
        if self._ami is None or not self._ami.connected:
            return
        try:
            await self._ami.action(
                "Hangup", {"Channel": f"/^PJSIP\\/{endpoint}-[0-9a-f]+$/", "Cause": "21"}
            )
        except AmiError as exc:
            log.warning("ringing channel of removed endpoint %s not hung up: %s", endpoint, exc)

    # -- background -------------------------------------------------------------------------------

    async def run_ticks(self, interval: float = 0.5) -> None:
        while True:
            await asyncio.sleep(interval)
            self._commit(self.board.expire(self._clock()))

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

    # -- internals ---------------------------------------------------------------------

    async def _owner(self, caller: str) -> str | None:
        if not caller:
            return None
        try:
            return await asyncio.wait_for(self._repo.open_case_owner(caller), 0.5)
        except Exception as exc:  # routing must not wait on a slow or absent database
            log.warning("case owner lookup for %s failed (%s); routing without it", caller, exc)
            return None

    def _ring_ended(self, call: WaitingCall, staff_no: str, status: str, now: float) -> WaitingCall:
        if staff_no in self.board.agents:
            if status in NOT_ANSWERED:
                out = self.board.not_answered(staff_no, call.linkedid, now)
                self._commit(out)
                if any(t.reason == MISSED_CALLS for t in out):
                    self._alert(
                        MISSED_CALLS,
                        staff_no,
                        f"agent {staff_no} missed {self.board.settings.max_missed} calls in a row:"
                        " paused",
                    )
            else:
                self._commit(self.board.withdrawn(staff_no, call.linkedid, now))
        return replace(call, dialling=None, tried=call.tried | {staff_no})

    def _apply(self, call: WaitingCall, decision: Decision, now: float) -> dict[str, str]:
        if isinstance(decision, Ring):
            agent = decision.agent
            self._commit(self.board.offer(agent.staff_no, call.linkedid, now))
            self.waiting[call.linkedid] = replace(call, dialling=agent.staff_no)
            return {
                "CC_ACTION": "dial",
                "CC_AGENT": agent.staff_no,
                "CC_ENDPOINT": agent.endpoint,
                "CC_TIMEOUT": f"{decision.seconds:.1f}",
                "CC_PROMPT": self._prompt_for(agent),
                "CC_OWNER": "1" if decision.to_owner else "0",
            }
        if isinstance(decision, Wait):
            return {
                "CC_ACTION": "wait",
                "CC_TIMEOUT": f"{decision.seconds:.1f}",
                "CC_POSITION": str(decision.position),
            }
        if isinstance(decision, SystemAnswer):
            self.waiting[call.linkedid] = replace(call, system_answered=True)
            return {"CC_ACTION": "system"}
        assert isinstance(decision, Closed)
        self.waiting.pop(call.linkedid, None)
        return {"CC_ACTION": "closed"}

    def _commit(self, transitions: list[Transition], why: str | None = None) -> None:
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
        self._project(transitions)

    def _project(self, transitions: list[Transition]) -> None:
        """Keep app_queue's members (the dialplan's fallback) in line with the board."""
        for watcher in list(self._watchers):
            try:
                watcher(transitions)
            except Exception:
                log.exception("agent state watcher failed")
        if self._ami is None or not self._ami.connected:
            return
        for t in transitions:
            agent = self.board.agents.get(t.staff_no)
            if agent is None:
                continue
            asyncio.get_running_loop().create_task(self._project_one(agent, t.new, t.reason))

    async def _project_one(self, agent: Agent, state: AgentState, reason: str | None) -> None:
        assert self._ami is not None
        interface = f"PJSIP/{agent.endpoint}"
        try:
            for queue in sorted(agent.skills):
                if state is AgentState.LOGGED_OUT:
                    await self._ami.action("QueueRemove", {"Queue": queue, "Interface": interface})
                    continue
                if state is AgentState.AVAILABLE:
                    await self._ami.action(
                        "QueueAdd",
                        {"Queue": queue, "Interface": interface, "MemberName": agent.staff_no},
                    )
                paused = state in (AgentState.PAUSED, AgentState.WRAP_UP)
                if state in (AgentState.AVAILABLE, AgentState.PAUSED, AgentState.WRAP_UP):
                    await self._ami.action(
                        "QueuePause",
                        {
                            "Queue": queue,
                            "Interface": interface,
                            "Paused": "true" if paused else "false",
                            "Reason": reason or state.value,
                        },
                    )
        except AmiError as exc:
            # "Already there" / "not there" are fine; anything else is logged once here.
            log.debug("app_queue projection for %s: %s", agent.staff_no, exc)

    def _alert(self, kind: str, staff_no: str, message: str) -> None:
        log.warning("supervisor alert: %s", message)
        self.alerts.append(Alert(self._clock(), kind, staff_no, message))


def _float(raw: str) -> float | None:
    try:
        return float(raw)
    except ValueError:
        return None


def _endpoint(channel: str) -> str:
    """`PJSIP/1001-0000000a` -> `1001` (and `PJSIP/1001` -> `1001`)."""
    name = channel.split("/", 1)[-1]
    return name.rsplit("-", 1)[0] if "-" in name else name
