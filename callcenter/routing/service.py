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
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from callcenter.agents.domain import (
    DEVICE_GONE,
    MISSED_CALLS,
    OFFER_EXPIRED,
    Agent,
    AgentState,
    AgentStatus,
    LiveChannel,
    Transition,
)
from callcenter.agents.service import AgentService
from callcenter.agi.fastagi import AgiRequest
from callcenter.ami.channel import channel_endpoint, interface_endpoint
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
    pushes,
)

log = logging.getLogger(__name__)

PromptFor = Callable[[Agent], str]
NOT_ANSWERED = {"NOANSWER", "BUSY", "CONGESTION", "CHANUNAVAIL"}
MAX_GONE = 10_000


@dataclass
class Reservation:
    """An agent offered to a waiting call by a push, until the call's channel collects it.

    While the Redirect is under way (`sent` false, `failed` false) the call's own loop
    ask gets a short wait, so the Redirect never lands on a Dial; once the Redirect
    failed, that ask gets the dial instead."""

    staff_no: str
    reply: dict[str, str]
    at: float
    sent: bool = False
    failed: bool = False


@dataclass(frozen=True)
class PushOrder:
    """Redirect `channel` (the caller of `linkedid`) into the dialplan's push step."""

    linkedid: str
    channel: str
    staff_no: str


@dataclass
class RouterStats:
    decisions: int = 0
    pushes: int = 0  # held or ringing callers handed to a freed agent (push.py)
    push_failures: int = 0  # Redirects that failed: the call's next ask took over
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
        # Each waiting call's channel (agi_channel), for the push's Redirect.
        self.channels: dict[str, str] = {}
        # Pushed calls: the agent offered and the dial reply the push step collects.
        self._reserved: dict[str, Reservation] = {}

    def handlers(self) -> Mapping[str, Callable[[AgiRequest], Awaitable[Mapping[str, str]]]]:
        return {"route": self.route, "connected": self.connected, "callback": self.callback}

    # -- FastAGI ----------------------------------------------------------------------------

    async def route(self, request: AgiRequest) -> Mapping[str, str]:
        """args: linkedid, caller number, arrival epoch, skill, DIALSTATUS, agent rung, answered,
        and "push" when the dialplan's push step asks (push.py redirected the caller)."""
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
        if request.channel:
            self.channels[linkedid] = request.channel
        if linkedid not in self.waiting:
            self._reserved.pop(linkedid, None)  # a push for a call we forgot (reconcile)
        held = self._reserved.get(linkedid)
        if held is not None:
            if request.arg(6) == "1" and not call.system_answered:
                self.waiting[linkedid] = replace(call, system_answered=True)
            return self._claim(linkedid, held, pushed=request.arg(7) == "push")
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
        elif name == "PeerStatus":
            self._on_peer_status(event)

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
        """`DeviceStateChange` (with res_manager_devicestate loaded; our modules.conf
        does not load it, so on the shipped Asterisk `PeerStatus` is what comes)."""
        if event.get("State") == "UNAVAILABLE":
            self._phone_gone(self._agent_at(event.get("Device")))

    def _on_peer_status(self, event: Message) -> None:
        """`PeerStatus: Unreachable` for `PJSIP/<endpoint>`: its last contact was removed
        (the softphone unregistered or expired), seen on 22.10.1."""
        if event.get("PeerStatus") == "Unreachable":
            self._phone_gone(self._agent_at(event.get("Peer")))

    def _phone_gone(self, agent: Agent | None) -> None:
        if agent is None:
            return
        status = self._board.status[agent.staff_no]
        if status.state is AgentState.AVAILABLE:
            # The softphone is gone (unregistered): offering it calls would only burn budget.
            self._agents.commit(self._board.logout(agent.staff_no, self._clock()), why=DEVICE_GONE)
            self._agents.alert(
                "device-unavailable", agent.staff_no, "softphone unregistered: logged out"
            )

    async def reconcile(
        self,
        live: Sequence[LiveChannel],
        unregistered: set[str] | None = None,
        asked_at: float | None = None,
    ) -> None:
        """After a (re)connect, from Asterisk's live channels and the endpoints without a
        registered phone (None: not known), both read from `asked_at` on: agents whose
        call or offer changed while we were not listening (`AgentBoard.reconcile`),
        available agents without a phone, and calls gone."""
        now = self._clock()
        calls = {channel.linkedid for channel in live}
        out = self._board.reconcile(live, unregistered, now if asked_at is None else asked_at, now)
        self._agents.commit(out)
        for t in out:
            if t.reason == DEVICE_GONE:
                self._agents.alert(
                    "device-unavailable", t.staff_no, "softphone not registered: logged out"
                )
        for linkedid in [c for c in self.waiting if c not in calls]:
            del self.waiting[linkedid]

    # -- offers that expired (the agent service's ticks) ------------------------------------

    def on_transitions(self, transitions: list[Transition]) -> None:
        """An offer of ours that expired (`offer-expired`: no answer to it came, a lost or
        forged request) no longer holds its call: the call is forgotten, so a forged
        one does not stay "waiting"; a real one asks again when its ring ends."""
        for t in transitions:
            if t.reason != OFFER_EXPIRED or t.call is None:
                continue
            call = self.waiting.get(t.call)
            if call is not None and call.dialling == t.staff_no:
                log.warning("call %s: the ring of agent %s expired unconfirmed", t.call, t.staff_no)
                del self.waiting[t.call]
                self._reserved.pop(t.call, None)
                self.channels.pop(t.call, None)

    # -- agents removed (the agent service) -------------------------------------------------

    async def on_agent_removed(self, agent: Agent, status: AgentStatus) -> None:
        """A call ringing a removed agent moves on to the others."""
        call = self.waiting.get(status.call or "")
        if call is not None and call.dialling == agent.staff_no:
            self._reserved.pop(call.linkedid, None)  # a pushed call must not dial them
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

    # -- push: freed agents go to waiting calls at once (push.py sends the Redirects) ---------

    def reserve_pushes(self) -> list[PushOrder]:
        """Offer a free agent to every waiting call that `pushes` gives one now and keep
        the dial reply for the call's push step; the caller redirects the channels.

        Synchronous from decision to offer: a route request or another push cannot
        take the same agent in between."""
        now = self._clock()
        orders: list[PushOrder] = []
        for push in pushes(
            list(self.waiting.values()),
            self._board,
            now,
            self._settings,
            open_now=self._hours.open_at(now),
            on_shift=lambda agent: self._hours.in_shift(agent.shift, now),
        ):
            call = push.call
            channel = self.channels.get(call.linkedid)
            if channel is None or call.linkedid in self._reserved or call.linkedid in self._gone:
                continue  # its own next ask picks the agent up
            reply = self._apply(call, push.ring, now)
            staff_no = push.ring.agent.staff_no
            self._reserved[call.linkedid] = Reservation(staff_no, reply, now)
            orders.append(PushOrder(call.linkedid, channel, staff_no))
        self.stats.pushes += len(orders)
        return orders

    def seconds_to_wrap_up_end(self) -> float | None:
        """Until the earliest wrap-up ends (None: nobody is in wrap-up)."""
        ends = [
            s.wrap_up_until
            for s in self._board.status.values()
            if s.state is AgentState.WRAP_UP and s.wrap_up_until is not None
        ]
        return min(ends) - self._clock() if ends else None

    def expire_wrap_ups(self) -> None:
        """End the wrap-ups due now, on time: the agent service's tick runs only every half
        second, and an agent freed late is an agent idle while callers wait."""
        self._agents.commit(self._board.expire(self._clock()))

    def push_sent(self, linkedid: str) -> None:
        held = self._reserved.get(linkedid)
        if held is not None:
            held.sent = True

    def push_failed(self, linkedid: str) -> None:
        """The Redirect failed: the call's next loop ask collects the dial instead."""
        self.stats.push_failures += 1
        held = self._reserved.get(linkedid)
        if held is not None:
            held.failed = True

    def sweep_pushes(self, sent_within: float, failed_within: float) -> None:
        """Forget pushes of calls gone, and free the agent of a push never collected
        (`sent_within` after a Redirect that succeeded, `failed_within` after one that
        failed): a lost Redirect must not keep an agent ringing for nobody."""
        now = self._clock()
        for linkedid in [c for c in self.channels if c not in self.waiting]:
            del self.channels[linkedid]
        for linkedid, held in list(self._reserved.items()):
            call = self.waiting.get(linkedid)
            if call is None or call.dialling != held.staff_no:
                del self._reserved[linkedid]  # hung up (its hang-up freed the agent) or moved on
                continue
            if now - held.at < (failed_within if held.failed or not held.sent else sent_within):
                continue
            log.warning(
                "push of call %s to agent %s never collected; agent freed", linkedid, held.staff_no
            )
            del self._reserved[linkedid]
            self.waiting[linkedid] = replace(call, dialling=None)
            self._agents.commit(self._board.withdrawn(held.staff_no, linkedid, now))

    def _claim(self, linkedid: str, held: Reservation, *, pushed: bool) -> dict[str, str]:
        if pushed or held.failed:
            del self._reserved[linkedid]
            return held.reply
        # The loop asked while the Redirect is under way: wait a moment for it.
        return {"CC_ACTION": "wait", "CC_TIMEOUT": "0.5", "CC_POSITION": "1"}

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
            self._agents.commit(
                self._board.offer(agent.staff_no, call.linkedid, now, decision.seconds)
            )
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

    def _agent_at(self, device: str | None) -> Agent | None:
        """`PJSIP/agent-2101` (a device or peer: no channel suffix to cut off)."""
        endpoint = interface_endpoint(device)
        return self._board.by_endpoint(endpoint) if endpoint else None


def live_channels(rows: Iterable[Message]) -> list[LiveChannel]:
    """`CoreShowChannel` events -> the channels the reconcile reads (`ChannelState` 6:
    up, i.e. answered)."""
    out: list[LiveChannel] = []
    for row in rows:
        endpoint = channel_endpoint(row.get("Channel"))
        if endpoint:
            up = (row.get("ChannelState") or "") == "6"
            out.append(LiveChannel(endpoint, row.get("Linkedid") or "", up))
    return out


def _float(raw: str) -> float | None:
    try:
        return float(raw)
    except ValueError:
        return None
