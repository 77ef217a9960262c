"""The router: the dialplan asks over FastAGI, the pure decisions answer.

Each inbound call runs `AGI(.../route,...)` on arrival and again after every
failed ring; the reply tells the dialplan to ring one agent for a number of
seconds, to keep ringing, to answer as the system, or that the center is
closed. The agent's answer (`connected`, from the Dial gosub) and the end of
the call (AMI `Hangup`) move the agent board, through the agent service (which
saves every transition and tells the watchers).

The dialplan, not this service, guarantees the ring budget: it answers at the
budget whatever we said, and without us (AGI unreachable) it falls back to
app_queue, whose membership `queue_projection` keeps in line with the board.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from callcenter.agents.domain import MISSED_CALLS, Agent, AgentState, AgentStatus
from callcenter.agents.service import AgentService
from callcenter.agi.fastagi import AgiRequest
from callcenter.ami.channel import channel_endpoint
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiError
from callcenter.ami.message import Message
from callcenter.kernel.clock import Clock
from callcenter.kernel.shifts import OpeningHours
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

log = logging.getLogger(__name__)

PromptFor = Callable[[Agent], str]
NOT_ANSWERED = {"NOANSWER", "BUSY", "CONGESTION", "CHANUNAVAIL"}
MAX_GONE = 10_000


@dataclass
class RouterStats:
    decisions: int = 0
    # seconds from AGI request received to reply ready, for the benchmark and /metrics
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))


class Router:
    def __init__(
        self,
        agents: AgentService,
        settings: RouteSettings,
        hours: OpeningHours,
        *,
        prompt_for: PromptFor = lambda agent: "",
        clock: Clock = time.time,
        ami: AmiClient | None = None,
    ) -> None:
        self._agents = agents
        self._board = agents.board  # read for decisions; moved only through `agents`
        self._settings = settings
        self._hours = hours
        self._prompt_for = prompt_for
        self._clock = clock
        self._ami = ami
        self.waiting: dict[str, WaitingCall] = {}
        self.stats = RouterStats()
        # The callback queue's intake (callcenter.callbacks.sources), wired by the app.
        self.on_callback_request: Callable[[str, str, str | None], Awaitable[None]] | None = None
        # Callers whose channel is gone: their AMI Hangup can overtake (or race) the
        # FastAGI request, which must then not bring the dead call back.
        self._gone: OrderedDict[str, None] = OrderedDict()

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
            self._board,
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
        if staff_no in self._board.agents:
            self._agents.commit(self._board.answered(staff_no, linkedid, now))
        if call is not None and call.dialling not in (None, staff_no):
            self._agents.commit(self._board.withdrawn(call.dialling, linkedid, now))
        return {}

    async def callback(self, request: AgiRequest) -> Mapping[str, str]:
        """args: linkedid, caller number, source (press-1, after-hours), message file."""
        linkedid, caller, source = request.arg(0), request.arg(1), request.arg(2) or "press-1"
        if not caller:
            log.warning("callback request for call %s without a caller number dropped", linkedid)
            return {"CC_CALLBACK": "no-number"}
        await self._agents.add_callback_request(
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
                self._agents.commit(self._board.withdrawn(call.dialling, linkedid, now))
        agent = self._agent_on(event.get("Channel"))
        if agent is None:
            return
        status = self._board.status.get(agent.staff_no)
        if status is not None and status.call == linkedid:
            if status.state is AgentState.ON_CALL:
                self._agents.commit(self._board.call_ended(agent.staff_no, linkedid, now))
            elif status.state is AgentState.RINGING and linkedid not in self.waiting:
                self._agents.commit(self._board.withdrawn(agent.staff_no, linkedid, now))

    def _on_device_state(self, event: Message) -> None:
        agent = self._agent_on(event.get("Device"))
        if agent is None or event.get("State") != "UNAVAILABLE":
            return
        status = self._board.status[agent.staff_no]
        if status.state is AgentState.AVAILABLE:
            # The softphone is gone (unregistered): offering it calls would only burn budget.
            self._agents.commit(
                self._board.logout(agent.staff_no, self._clock()), why="device-gone"
            )
            self._agents.alert(
                "device-unavailable", agent.staff_no, "softphone unregistered: logged out"
            )

    async def reconcile(self, live: Sequence[tuple[str, str]]) -> None:
        """After a (re)connect, from (channel, linkedid) of Asterisk's live channels:
        agents whose call vanished while we were not listening, and calls gone."""
        now = self._clock()
        busy = {channel_endpoint(channel) for channel, _ in live}
        calls = {linkedid for _, linkedid in live}
        for staff_no, status in list(self._board.status.items()):
            endpoint = self._board.agents[staff_no].endpoint
            if endpoint in busy or status.call is None:
                continue
            if status.state is AgentState.ON_CALL:
                self._agents.commit(self._board.call_ended(staff_no, status.call, now))
            elif status.state is AgentState.RINGING:
                self._agents.commit(self._board.withdrawn(staff_no, status.call, now))
        for linkedid in [c for c in self.waiting if c not in calls]:
            del self.waiting[linkedid]

    # -- agents removed (the agent service) -------------------------------------------------

    async def on_agent_removed(self, agent: Agent, status: AgentStatus) -> None:
        """A call ringing a removed agent moves on to the others."""
        call = self.waiting.get(status.call or "")
        if call is not None and call.dialling == agent.staff_no:
            self.waiting[call.linkedid] = replace(call, tried=call.tried | {agent.staff_no})
            # Stop the ring now; the dialplan asks again and the call moves on.
            await self._hang_up_ringing(agent.endpoint)

    async def _hang_up_ringing(self, endpoint: str) -> None:
        if self._ami is None or not self._ami.connected:
            return
        try:
            await self._ami.action(
                "Hangup", {"Channel": f"/^PJSIP\\/{endpoint}-[0-9a-f]+$/", "Cause": "21"}
            )
        except AmiError as exc:
            log.warning("ringing channel of removed endpoint %s not hung up: %s", endpoint, exc)

    # -- internals ---------------------------------------------------------------------

    async def _owner(self, caller: str) -> str | None:
        if not caller:
            return None
        try:
            return await asyncio.wait_for(self._agents.open_case_owner(caller), 0.5)
        except Exception as exc:  # routing must not wait on a slow or absent database
            log.warning("case owner lookup for %s failed (%s); routing without it", caller, exc)
            return None

    def _ring_ended(self, call: WaitingCall, staff_no: str, status: str, now: float) -> WaitingCall:
        if staff_no in self._board.agents:
            if status in NOT_ANSWERED:
                out = self._board.not_answered(staff_no, call.linkedid, now)
                self._agents.commit(out)
                if any(t.reason == MISSED_CALLS for t in out):
                    self._agents.alert(
                        MISSED_CALLS,
                        staff_no,
                        f"agent {staff_no} missed {self._board.settings.max_missed} calls in a row:"
                        " paused",
                    )
            else:
                self._agents.commit(self._board.withdrawn(staff_no, call.linkedid, now))
        return replace(call, dialling=None, tried=call.tried | {staff_no})

    def _apply(self, call: WaitingCall, decision: Decision, now: float) -> dict[str, str]:
        if isinstance(decision, Ring):
            agent = decision.agent
            self._agents.commit(self._board.offer(agent.staff_no, call.linkedid, now))
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

    def _agent_on(self, channel: str | None) -> Agent | None:
        endpoint = channel_endpoint(channel)
        return self._board.by_endpoint(endpoint) if endpoint else None


def _float(raw: str) -> float | None:
    try:
        return float(raw)
    except ValueError:
        return None
