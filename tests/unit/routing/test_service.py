"""The router service without Asterisk: FastAGI over loopback, AMI events as messages."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from callcenter.agents.domain import Agent, AgentBoard, AgentState, AgentStatus, Transition
from callcenter.agents.service import AgentService
from callcenter.agi.fastagi import AgiRequest, FastAgiServer
from callcenter.ami.message import Message
from callcenter.kernel.shifts import OpeningHours
from callcenter.routing.decide import RouteSettings
from callcenter.routing.service import Router

T0 = 1_700_000_000.0


class _Repo:
    """The repository methods the router and the agent service call, in memory."""

    def __init__(self, owner_delay: float = 0.0) -> None:
        self.owner_delay = owner_delay
        self.recorded: list[Transition] = []
        self.callbacks: list[tuple[str, str]] = []

    async def open_case_owner(self, caller: str) -> str | None:
        await asyncio.sleep(self.owner_delay)
        return None

    async def record(
        self, transitions: Sequence[Transition], statuses: dict[str, AgentStatus]
    ) -> None:
        self.recorded.extend(transitions)

    async def add_callback_request(self, caller: str, source: str, *args: Any) -> None:
        self.callbacks.append((caller, source))

    async def remove_agent(self, staff_no: str) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def _router(repo: _Repo, clock: _Clock, *staff_nos: str) -> tuple[Router, AgentService]:
    board = AgentBoard()
    for staff in staff_nos:
        board.add(Agent(staff, f"Agent {staff}", staff))
        board.login(staff, T0 - 100 + int(staff) % 100)
    agents = AgentService(board, repo, clock=clock)  # type: ignore[arg-type]
    return Router(agents, RouteSettings(), OpeningHours(()), clock=clock), agents


def _route(linkedid: str, *, status: str = "", rung: str = "", answered: str = "") -> AgiRequest:
    args = (linkedid, "13800138000", f"{T0:.3f}", "support", status, rung, answered)
    return AgiRequest("route", args, {})


async def test_a_ring_reserves_the_agent_and_a_miss_moves_the_call_on() -> None:
    repo, clock = _Repo(), _Clock()
    router, agents = _router(repo, clock, "1001", "1002", "1003")
    first = await router.route(_route("c1"))
    assert first["CC_ACTION"] == "dial" and first["CC_AGENT"] == "1001"
    assert agents.board.status["1001"].state is AgentState.RINGING
    # Another call meanwhile gets the other agent, never the reserved one.
    other = await router.route(_route("c2"))
    assert other["CC_AGENT"] == "1002"
    clock.now = T0 + 9.6
    again = await router.route(_route("c1", status="NOANSWER", rung="1001"))
    assert agents.board.status["1001"].missed_in_row == 1
    # 1002 is reserved for c2 and 1001 just missed c1: the next agent, for what is left.
    assert again["CC_ACTION"] == "dial" and again["CC_AGENT"] == "1003"
    assert float(again["CC_TIMEOUT"]) <= 15.0 - 9.6 - RouteSettings().margin


async def test_a_caller_whose_hangup_overtook_the_request_is_not_brought_back() -> None:
    repo, clock = _Repo(owner_delay=0.05), _Clock()
    router, agents = _router(repo, clock, "1001")
    pending = asyncio.create_task(router.route(_route("c1")))
    await asyncio.sleep(0.01)  # the request waits on the case-owner lookup...
    router.on_event(Message({"Event": "Hangup", "Uniqueid": "c1", "Linkedid": "c1"}))
    reply = await pending
    assert reply == {"CC_ACTION": "gone"}
    assert router.waiting == {}
    assert agents.board.status["1001"].state is AgentState.AVAILABLE
    # ...and one that arrives after the Hangup entirely.
    router.on_event(Message({"Event": "Hangup", "Uniqueid": "c2", "Linkedid": "c2"}))
    assert await router.route(_route("c2")) == {"CC_ACTION": "gone"}


async def test_the_agents_hangup_starts_the_wrap_up() -> None:
    repo, clock = _Repo(), _Clock()
    router, agents = _router(repo, clock, "1001")
    await router.route(_route("c1"))
    await router.connected(AgiRequest("connected", ("c1", "1001"), {}))
    assert agents.board.status["1001"].state is AgentState.ON_CALL
    router.on_event(
        Message(
            {"Event": "Hangup", "Uniqueid": "c1.1", "Linkedid": "c1", "Channel": "PJSIP/1001-0a"}
        )
    )
    assert agents.board.status["1001"].state is AgentState.WRAP_UP


async def test_a_call_ringing_a_removed_agent_moves_on_to_the_others() -> None:
    repo, clock = _Repo(), _Clock()
    router, agents = _router(repo, clock, "1001", "1002")
    unsubscribe = agents.on_removed(router.on_agent_removed)  # as routing.setup wires it
    persistence = asyncio.create_task(agents.run_persistence())
    try:
        assert (await router.route(_route("c1")))["CC_AGENT"] == "1001"
        await agents.remove_agent("1001")
        # The ring was hung up; the dialplan asks again and the call goes to the next agent.
        again = await router.route(_route("c1", status="CANCEL", rung="1001"))
        assert again["CC_ACTION"] == "dial" and again["CC_AGENT"] == "1002"
        await agents.flush()
        assert [(t.staff_no, t.new) for t in repo.recorded] == [
            ("1001", AgentState.RINGING),
            ("1001", AgentState.LOGGED_OUT),
            ("1002", AgentState.RINGING),
        ]
    finally:
        unsubscribe()
        persistence.cancel()


async def test_fastagi_answers_with_set_variable_commands_one_at_a_time() -> None:
    async def handler(request: AgiRequest) -> Mapping[str, str]:
        return {"CC_ACTION": "dial", "CC_NOTE": f'say "{request.arg(0)}"'}

    server = FastAgiServer("127.0.0.1", 0, {"route": handler}, key="k")
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"agi_network_script: route?key=k\nagi_arg_1: x1\nagi_channel: PJSIP/2001-1\n\n"
        )
        await writer.drain()
        commands = []
        for _ in range(2):  # one command, one reply: as res_agi does
            commands.append(await reader.readline())
            writer.write(b"200 result=1\n")
            await writer.drain()
        assert await reader.read() == b""  # the server hangs up: AGI done
        writer.close()
    finally:
        await server.close()
    assert commands == [
        b'SET VARIABLE CC_ACTION "dial"\n',
        b'SET VARIABLE CC_NOTE "say \\"x1\\""\n',
    ]
    assert server.requests == 1 and server.failures == 0


async def test_fastagi_refuses_an_unknown_script_without_crashing() -> None:
    server = FastAgiServer("127.0.0.1", 0, {}, key="k")
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"agi_network_script: nope?key=k\n\n")
        await writer.drain()
        line = await reader.readline()
        writer.close()
    finally:
        await server.close()
    assert line.startswith(b"VERBOSE") and b"nope" in line
    assert server.failures == 1
