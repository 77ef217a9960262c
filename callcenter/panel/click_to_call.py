"""Click-to-call from the agent panel: the agent's own softphone first, then the number.

The same agent-first pattern as the callback dialler: an `Originate` rings
the agent's phone into `[callcenter-click-to-call]`, which (once the agent
answers) marks the call outbound in the call log (`ClickToCall` user event),
records it and dials the number with the company's caller ID. The agent is
offered the call on the board first (state `ringing`), so the router does not
ring them with an inbound call meanwhile; if the agent does not answer their
own phone, the offer is withdrawn (their choice, not a missed call).

A phone Asterisk knows to be unregistered is refused before anything is
dialled (`phone-not-registered`). An Originate that fails anyway (busy,
rejected, unregistered meanwhile) releases the agent at once; the reason goes
to the state log, the supervisors' alerts and the agent's panel (`notify`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from callcenter.agents.domain import PHONE_NOT_REGISTERED, AgentError, AgentState
from callcenter.agents.originate import OriginateResponses
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


# (placed call, why it failed): the panel tells the agent.
Notify = Callable[[Placed, str], None]


class ClickToCall:
    def __init__(
        self,
        agents: AgentService,
        ami: AmiClient,
        *,
        agent_ring_seconds: int,
        notify: Notify | None = None,
    ) -> None:
        self._agents = agents
        self._ami = ami
        self._agent_ring = agent_ring_seconds
        self._notify = notify
        self._responses = OriginateResponses()

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
        state = self._agents.board.status[staff_no].state
        if state is not AgentState.AVAILABLE:
            raise ClickToCallError(
                Kind.CONFLICT,
                "agent-unavailable",
                f"agent {staff_no} must be available to place a call (now {state.value})",
            )
        if await self._agents.phone_registered(staff_no) is False:
            raise ClickToCallError(
                Kind.CONFLICT,
                PHONE_NOT_REGISTERED,
                f"agent {staff_no}'s phone ({agent.endpoint}) is not registered:"
                " start the softphone first",
            )
        offer = f"click-{uuid.uuid4().hex[:12]}"
        try:
            self._agents.offer(staff_no, offer, self._agent_ring)
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
        log.info("click-to-call: agent %s rung to call %s", staff_no, number)
        self._responses.expect(action_id, lambda failure: self._ended(placed, failure))
        return placed

    def on_event(self, event: Message) -> None:
        self._responses.on_event(event)

    def _ended(self, placed: Placed, failure: str | None) -> None:
        if failure is None:
            return  # the agent answered; `connected` puts them on the call
        log.info("click-to-call: agent %s's phone not answered (%s)", placed.staff_no, failure)
        # Not picking up their own call is the agent's choice, not a missed call.
        self._agents.offer_failed(placed.staff_no, placed.offer, failure, counts_as_miss=False)
        if self._notify is not None:
            self._notify(placed, failure)
