"""The router against Asterisk's view after a (re)connect, and phones that unregister."""

from __future__ import annotations

from collections.abc import Sequence

from callcenter.agents.domain import (
    Agent,
    AgentBoard,
    AgentState,
    AgentStatus,
    LiveChannel,
    Transition,
)
from callcenter.agents.service import AgentService
from callcenter.agi.fastagi import AgiRequest
from callcenter.ami.message import Message
from callcenter.kernel.shifts import OpeningHours
from callcenter.routing.decide import RouteSettings, WaitingCall
from callcenter.routing.service import Router, live_channels

T0 = 1_700_000_000.0


class _Repo:
    async def record(
        self, transitions: Sequence[Transition], statuses: dict[str, AgentStatus]
    ) -> None:
        pass


def _router(*staff_nos: str) -> tuple[Router, AgentService]:
    board = AgentBoard()
    for staff in staff_nos:
        # Endpoint names may hold dashes (`agent-2101`): a device name is not a channel's.
        board.add(Agent(staff, f"Agent {staff}", staff if staff < "1002" else f"agent-{staff}"))
        board.login(staff, T0 - 100)
    agents = AgentService(board, _Repo(), clock=lambda: T0)  # type: ignore[arg-type]
    return Router(agents, RouteSettings(), OpeningHours(()), clock=lambda: T0), agents


async def test_a_reconnect_ends_vanished_calls_and_offers_and_logs_out_phoneless_agents() -> None:
    router, agents = _router("1001", "1002", "1003", "1004")
    board = agents.board
    board.offer("1001", "call-1", T0 - 50, 10.0)
    board.answered("1001", "call-1", T0 - 49)
    board.offer("1002", "call-2", T0 - 5, 10.0)
    board.offer("1003", "call-3", T0 - 5, 10.0)
    router.waiting["call-3"] = WaitingCall("call-3", T0 - 6, dialling="1003")
    router.waiting["call-9"] = WaitingCall("call-9", T0 - 6)
    # As CoreShowChannels lists them: 1003's phone rings (state 5), the caller is up.
    rows = [
        {"Channel": "PJSIP/agent-1003-00000001", "Linkedid": "call-3", "ChannelState": "5"},
        {"Channel": "PJSIP/2001-00000002", "Linkedid": "call-3", "ChannelState": "6"},
    ]
    live = live_channels(Message({"Event": "CoreShowChannel", **row}) for row in rows)
    assert live == [
        LiveChannel("agent-1003", "call-3", up=False),
        LiveChannel("2001", "call-3", up=True),
    ]
    await router.reconcile(live, unregistered={"agent-1004"}, asked_at=T0 - 1)
    states = {s: board.status[s].state for s in ("1001", "1002", "1003", "1004")}
    assert states == {
        "1001": AgentState.WRAP_UP,
        "1002": AgentState.AVAILABLE,
        "1003": AgentState.RINGING,
        "1004": AgentState.LOGGED_OUT,
    }
    assert board.status["1001"].wrap_up_until == T0 + board.settings.wrap_up_seconds
    assert list(router.waiting) == ["call-3"]
    assert [(a.kind, a.staff_no) for a in agents.alerts] == [("device-unavailable", "1004")]


async def test_a_phone_that_unregisters_logs_its_available_agent_out() -> None:
    router, agents = _router("1001", "1002")
    agents.board.offer("1002", "call-2", T0, 10.0)
    # What Asterisk 22.10.1 sends when a softphone's last contact goes.
    for peer in ("PJSIP/1001", "PJSIP/agent-1002"):
        router.on_event(
            Message(
                {
                    "Event": "PeerStatus",
                    "ChannelType": "PJSIP",
                    "Peer": peer,
                    "PeerStatus": "Unreachable",
                }
            )
        )
    assert agents.board.status["1001"].state is AgentState.LOGGED_OUT
    # Ringing: the ring's own end settles it (a Dial to a gone phone fails at once).
    assert agents.board.status["1002"].state is AgentState.RINGING
    router.on_event(
        Message({"Event": "PeerStatus", "Peer": "PJSIP/agent-1002", "PeerStatus": "Reachable"})
    )
    assert agents.board.status["1002"].state is AgentState.RINGING


async def test_a_ring_nobody_confirms_expires_and_its_call_is_forgotten() -> None:
    """A forged (or lost) FastAGI `route` request: the agent rings for nobody."""
    now = [T0]
    board = AgentBoard()
    board.add(Agent("1001", "Agent 1001", "1001"))
    board.login("1001", T0 - 100)
    agents = AgentService(board, _Repo(), clock=lambda: now[0])  # type: ignore[arg-type]
    router = Router(agents, RouteSettings(), OpeningHours(()), clock=lambda: now[0])
    agents.watch(router.on_transitions)
    args = ("forged-1", "2001", f"{T0:.3f}", "support", "", "", "")
    reply = await router.route(AgiRequest("route", args, {}))
    assert (reply["CC_ACTION"], reply["CC_AGENT"]) == ("dial", "1001")
    ring = float(reply["CC_TIMEOUT"])
    assert board.status["1001"].ring_until == T0 + ring + board.settings.offer_margin
    now[0] = T0 + ring + board.settings.offer_margin - 0.1
    assert agents.tick() == []
    now[0] += 0.1
    (expired,) = agents.tick()
    assert (expired.staff_no, expired.new, expired.reason) == (
        "1001",
        AgentState.AVAILABLE,
        "offer-expired",
    )
    assert "forged-1" not in router.waiting
