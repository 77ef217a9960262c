"""Click-to-call from the agent panel: the agent's own softphone first, then the number.

The same agent-first pattern as the callback dialler: an `Originate` rings
the agent's phone into `[callcenter-click-to-call]`, which (once the agent
answers) marks the call outbound in the call log (`ClickToCall` user event),
records it and dials the number with the company's caller ID. The agent is
offered the call on the board first (state `ringing`), so the router does not
ring them with an inbound call meanwhile; if the agent does not answer their
own phone, the offer is withdrawn (their choice, not a missed call).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from callcenter.agents.domain import AgentError
from callcenter.agents.service import AgentService
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiError
from callcenter.ami.message import Message
from callcenter.kernel.errors import DomainError, Kind

log = logging.getLogger(__name__)

CONTEXT = "callcenter-click-to-call"


class ClickToCallError(DomainError):
    def __init__(self, kind: Kind, error_id: str, message: str, /) -> None:
        super().__init__(error_id, message)
        self.kind = kind


@dataclass(frozen=True)
class Placed:
    staff_no: str
    number: str
    offer: str  # the board's call id until the agent answers
    action_id: str


class ClickToCall:
    def __init__(self, agents: AgentService, ami: AmiClient, *, agent_ring_seconds: int) -> None:
        self._agents = agents
        self._ami = ami
        self._agent_ring = agent_ring_seconds
        self._pending: dict[str, Placed] = {}  # ActionID -> placed, until OriginateResponse

    async def call(self, staff_no: str, number: str) -> Placed:
        """Ring the agent, then `number` (already normalised and checked against the
        do-not-call list)."""
        if not self._ami.connected:
            raise ClickToCallError(
                Kind.UNAVAILABLE, "asterisk-unavailable", "Asterisk is not connected"
            )
        agent = self._agents.board.agents.get(staff_no)
        if agent is None:
            raise ClickToCallError(
                Kind.NOT_FOUND, "unknown-agent", f"no agent with staff number {staff_no}"
            )
        offer = f"click-{uuid.uuid4().hex[:12]}"
        try:
            self._agents.offer(staff_no, offer)
        except AgentError as exc:
            raise ClickToCallError(
                Kind.CONFLICT,
                "agent-unavailable",
                f"agent {staff_no} must be available to place a call ({exc})",
            ) from None
        try:
            _, action_id = await self._ami.tracked_action(
                "Originate",
                {
                    "Channel": f"PJSIP/{agent.endpoint}",
                    "Context": CONTEXT,
                    "Exten": "s",
                    "Priority": "1",
                    "Timeout": str(self._agent_ring * 1000),
                    # What the agent's phone shows; also the call log's number for the call.
                    "CallerID": f'"Call {number}" <{number}>',
                    "Async": "true",
                    "Variable": [f"CC_NUMBER={number}", f"CC_AGENT={staff_no}"],
                },
            )
        except AmiError as exc:
            self._agents.withdraw(staff_no, offer)
            raise ClickToCallError(
                Kind.UPSTREAM_FAILED, "originate-failed", f"Asterisk refused the call: {exc}"
            ) from None
        placed = Placed(staff_no, number, offer, action_id)
        self._pending[action_id] = placed
        log.info("click-to-call: agent %s rung to call %s", staff_no, number)
        return placed

    def on_event(self, event: Message) -> None:
        if event.name != "OriginateResponse":
            return
        placed = self._pending.pop(event.get("ActionID") or "", None)
        if placed is None:
            return
        if (event.get("Response") or "").lower() != "success":
            # The agent did not pick up their own call: back to available.
            self._agents.withdraw(placed.staff_no, placed.offer)
