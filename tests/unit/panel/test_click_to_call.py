"""Click-to-call without Asterisk: a phone known unregistered is refused before anything
is dialled, and an Originate that fails releases the agent at once, with the reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from callcenter.agents.domain import Agent, AgentBoard, AgentState, AgentStatus, Transition
from callcenter.agents.service import AgentService
from callcenter.ami.message import Message
from callcenter.panel.click_to_call import ClickToCall, ClickToCallError, Placed

T0 = 1_700_000_000.0


class _Repo:
    async def record(
        self, transitions: Sequence[Transition], statuses: dict[str, AgentStatus]
    ) -> None:
        pass


class _Ami:
    """Answers the Originate; `reason` set: its failure comes in the same read, before
    `tracked_action` returns (what Asterisk 22 does for an unregistered phone)."""

    connected = True

    def __init__(self, reason: str | None) -> None:
        self.reason = reason
        self.sent: list[str] = []
        self.click: ClickToCall | None = None

    async def tracked_action(self, name: str, fields: dict[str, Any]) -> tuple[None, str]:
        self.sent.append(name)
        if self.reason is not None and self.click is not None:
            self.click.on_event(
                Message(
                    {
                        "Event": "OriginateResponse",
                        "ActionID": "a-1",
                        "Response": "Failure",
                        "Reason": self.reason,
                    }
                )
            )
        return None, "a-1"


def _click(
    registered: bool | None, reason: str | None
) -> tuple[ClickToCall, AgentService, _Ami, list[tuple[Placed, str]]]:
    async def phones(endpoint: str) -> bool | None:
        return registered

    board = AgentBoard()
    board.add(Agent("1001", "A", "1001"))
    board.login("1001", T0 - 10)
    agents = AgentService(board, _Repo(), clock=lambda: T0, phones=phones)  # type: ignore[arg-type]
    ami = _Ami(reason)
    told: list[tuple[Placed, str]] = []
    click = ClickToCall(
        agents,
        ami,  # type: ignore[arg-type]
        agent_ring_seconds=8,
        notify=lambda placed, why: told.append((placed, why)),
    )
    ami.click = click
    return click, agents, ami, told


async def test_a_phone_known_unregistered_is_refused_before_dialling() -> None:
    click, agents, ami, _ = _click(registered=False, reason=None)
    with pytest.raises(ClickToCallError) as refused:
        await click.call("1001", "2001")
    assert (refused.value.error_id, refused.value.kind.value) == (
        "phone-not-registered",
        "conflict",
    )
    assert ami.sent == []
    assert agents.board.status["1001"].state is AgentState.AVAILABLE


@pytest.mark.parametrize(
    ("reason", "why", "state"),
    [
        ("0", "phone-unavailable", AgentState.LOGGED_OUT),
        ("5", "phone-busy", AgentState.AVAILABLE),
        ("3", "no-answer", AgentState.AVAILABLE),
    ],
)
async def test_an_originate_failing_at_once_releases_the_agent_with_the_reason(
    reason: str, why: str, state: AgentState
) -> None:
    # Asterisk could not be asked about the phone (None): the call goes ahead.
    click, agents, ami, told = _click(registered=None, reason=reason)
    placed = await click.call("1001", "2001")
    assert ami.sent == ["Originate"]
    status = agents.board.status["1001"]
    assert (status.state, status.call, status.missed_in_row) == (state, None, 0)
    assert told == [(placed, why)]


async def test_an_answered_own_phone_keeps_the_offer_until_connected() -> None:
    click, agents, _, told = _click(registered=True, reason=None)
    placed = await click.call("1001", "2001")
    assert agents.board.status["1001"].ring_until == T0 + 8 + agents.board.settings.offer_margin
    click.on_event(
        Message({"Event": "OriginateResponse", "ActionID": "a-1", "Response": "Success"})
    )
    assert agents.board.status["1001"].state is AgentState.RINGING
    assert agents.board.status["1001"].call == placed.offer
    assert told == []


async def test_an_agent_who_is_not_free_hears_that_first() -> None:
    click, agents, ami, _ = _click(registered=False, reason=None)
    agents.act("1001", "logout")
    with pytest.raises(ClickToCallError) as refused:
        await click.call("1001", "2001")
    assert refused.value.error_id == "agent-unavailable"
    assert ami.sent == []
