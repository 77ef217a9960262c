"""The agent-first callback dialer: claim a due callback, ring an agent, then the customer.

Every `poll` it looks for a free agent with the outbound skill; a callback is
never dialled while callers wait live for an agent (they keep their turn). It
claims one due callback (the repository's `FOR UPDATE SKIP LOCKED`: two
instances never take the same one), offers it to the agent (the board marks
the agent ringing, so the router does not offer them an inbound call too) and
originates the agent's phone into `[callcenter-callback]`, which dials the
customer with the company's caller ID once the agent answers. The outcome of
the attempt comes back from the dialplan's hang-up handler (`callback-result`
over FastAGI); if the agent does not answer, the callback goes back to the
queue untouched (no attempt counted against the customer). An Originate that
fails for another reason (the phone unregistered, busy, rejecting) releases
the agent at once with that reason (`AgentService.offer_failed`: an
unregistered phone also logs the agent out, so the next poll does not pick
them again) and puts the callback back too.

Every task it starts (releasing a missed offer, saving outcomes after a
database outage) runs under the app's TaskSupervisor, so none outlives the app.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from callcenter.agents.domain import Agent, AgentError
from callcenter.agents.originate import OriginateResponses
from callcenter.agents.service import AgentService
from callcenter.agi.fastagi import AgiRequest
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiError
from callcenter.ami.message import Message
from callcenter.callbacks.outcomes import Outcome, outcome_of
from callcenter.callbacks.requests import Callback, Purpose, SchedulerSettings
from callcenter.callbacks.store import CallbackRepository
from callcenter.kernel.clock import Clock
from callcenter.kernel.supervisor import TaskSupervisor
from callcenter.routing.decide import WaitingCall

log = logging.getLogger(__name__)


class Dialer:
    def __init__(
        self,
        repository: CallbackRepository,
        agents: AgentService,
        ami: AmiClient,
        settings: SchedulerSettings,
        *,
        waiting: Callable[[], Mapping[str, WaitingCall]],
        skill: str,
        instance: str,
        agent_ring_seconds: int,
        caller_id: str,
        supervisor: TaskSupervisor,
        clock: Clock = time.time,
    ) -> None:
        self._repo = repository
        self._supervisor = supervisor
        self._agents = agents
        self._waiting = waiting  # the router's callers waiting for an agent
        self._ami = ami
        self._settings = settings
        self._skill = skill
        self._instance = instance
        self._agent_ring = agent_ring_seconds
        self._caller_id = caller_id
        self._clock = clock
        # Originates waiting for their OriginateResponse (early answers included).
        self._responses = OriginateResponses()
        self.dialled = 0
        # Attempt outcomes the database refused (an outage), oldest first.
        self.unsaved: list[tuple[int, Outcome, float, str, str | None]] = []
        self._retrying: asyncio.Task[None] | None = None
        # The queue as /metrics shows it, counted on every poll.
        self.backlog = 0
        self.overdue = 0

    async def recover(self) -> int:
        """After a restart: our claims still `dialling` were cut off mid-dial.

        A dial the call log saw is recorded as its attempt (answered if the
        customer answered, else no answer), so it is not dialled twice; a
        claim that never reached the customer goes back to the queue."""
        recovered = 0
        for callback in await self._repo.claimed_by(self._instance):
            assert callback.id is not None
            seen = await self._repo.call_for(callback.id)
            if seen is None:
                await self._repo.release(callback.id)
            else:
                linkedid, outcome = seen
                await self._repo.record_attempt(
                    callback.id,
                    Outcome.ANSWERED if outcome == "answered" else Outcome.NO_ANSWER,
                    self._clock(),
                    self._settings,
                    reason="recovered after a restart",
                    linkedid=linkedid,
                )
            recovered += 1
        if recovered:
            log.info("callbacks: %d interrupted dials recovered after a restart", recovered)
        return recovered

    async def run(self, poll: float) -> None:
        try:
            await self.recover()
        except Exception:
            log.exception("interrupted callback dials not recovered; they stay claimed")
        while True:
            await asyncio.sleep(poll)
            try:
                await self.tick()
            except Exception:
                log.exception("callback dialler tick failed; trying again in %.1fs", poll)

    async def tick(self) -> Callback | None:
        """Dial at most one callback now, if an agent is free and nobody waits live."""
        self.backlog, self.overdue = await self._repo.counts(self._clock())
        if not self._ami.connected or any(c.dialling is None for c in self._waiting().values()):
            return None
        free = self._agents.board.available(self._skill)
        if not free:
            return None
        agent = free[0][0]
        claimed = await self._repo.claim(self._clock(), self._settings, self._instance)
        if not claimed:
            return None
        callback = claimed[0]
        try:
            self._agents.offer(agent.staff_no, f"callback-{callback.id}", self._agent_ring)
        except AgentError:
            await self._repo.release(callback.id or 0)
            return None
        try:
            _, action_id = await self._ami.tracked_action(
                "Originate",
                {
                    "Channel": f"PJSIP/{agent.endpoint}",
                    "Context": "callcenter-callback",
                    "Exten": "s",
                    "Priority": "1",
                    "Timeout": str(self._agent_ring * 1000),
                    "CallerID": f'"Callback {callback.purpose.value}" <{callback.number}>',
                    "Async": "true",
                    "Variable": [
                        f"CC_CALLBACK_ID={callback.id}",
                        f"CC_NUMBER={callback.number}",
                        f"CC_AGENT={agent.staff_no}",
                        f"CC_SURVEY={1 if callback.purpose is Purpose.FOLLOW_UP else 0}",
                    ],
                },
            )
        except AmiError as exc:
            log.warning("callback %s not originated (%s); back in the queue", callback.id, exc)
            self._agents.withdraw(agent.staff_no, f"callback-{callback.id}")
            await self._repo.release(callback.id or 0)
            return None
        self.dialled += 1
        log.info(
            "callback %s (%s) offered to agent %s", callback.id, callback.purpose, agent.staff_no
        )
        self._responses.expect(
            action_id, lambda failure: self._agent_leg_ended(callback, agent, failure)
        )
        return callback

    def on_event(self, event: Message) -> None:
        self._responses.on_event(event)

    def _agent_leg_ended(self, callback: Callback, agent: Agent, failure: str | None) -> None:
        if failure is None:
            return  # the agent answered; the dialplan takes it from here
        log.info("callback %s: agent %s not reached (%s)", callback.id, agent.staff_no, failure)
        # The agent's phone was not answered: their miss (or their phone's), not the
        # customer's; the callback keeps its turn.
        self._agents.offer_failed(
            agent.staff_no, f"callback-{callback.id}", failure, counts_as_miss=True
        )
        self._supervisor.spawn(
            f"callback-{callback.id}-release", self._release_missed(callback.id or 0)
        )

    async def _release_missed(self, callback_id: int) -> None:
        # A warning, not the supervisor's error: the claim is not lost, recover()
        # releases it after a restart.
        try:
            await self._repo.release(callback_id)
        except Exception as exc:
            log.warning("callback release failed: %s", exc)

    async def result(self, request: AgiRequest) -> Mapping[str, str]:
        """args: callback id, DIALSTATUS, HANGUPCAUSE, linkedid (the hang-up handler)."""
        try:
            callback_id = int(request.arg(0))
        except ValueError:
            raise ValueError(f"callback-result: bad callback id {request.arg(0)!r}") from None
        outcome = outcome_of(request.arg(1))
        if outcome is None:
            # The agent hung up before the customer was dialled: the customer's turn stays.
            await self._repo.release(callback_id)
            return {}
        attempt = (
            callback_id,
            outcome,
            self._clock(),
            f"DIALSTATUS={request.arg(1)} cause={request.arg(2)}",
            request.arg(3) or None,
        )
        try:
            await self._record(*attempt)
        except Exception as exc:  # the database is down: keep the outcome, retry
            log.warning(
                "callback %s: outcome %s not saved (%s); kept and retried",
                callback_id,
                outcome.value,
                exc,
            )
            self.unsaved.append(attempt)
            if self._retrying is None or self._retrying.done():
                self._retrying = self._supervisor.spawn(
                    "callback-outcome-retry", self._retry_unsaved()
                )
        return {}

    async def _record(
        self, callback_id: int, outcome: Outcome, at: float, reason: str, linkedid: str | None
    ) -> None:
        updated = await self._repo.record_attempt(
            callback_id, outcome, at, self._settings, reason=reason, linkedid=linkedid
        )
        log.info(
            "callback %s: %s -> %s (attempt %d)",
            callback_id,
            outcome.value,
            updated.status.value,
            updated.attempts,
        )

    async def _retry_unsaved(self, low: float = 0.5, high: float = 10.0) -> None:
        """Outcomes that met a database outage: saved in order once it is back.

        The callback stays `dialling` meanwhile, so no instance dials it again."""
        delay = low
        while self.unsaved:
            try:
                await self._record(*self.unsaved[0])
            except Exception:
                await asyncio.sleep(delay)
                delay = min(high, delay * 2)
                continue
            self.unsaved.pop(0)
            delay = low
