"""Push, not poll: a freed agent goes to the oldest waiting call at once.

Waiting callers ask the router only between their own steps: a ringing caller
every `wait_step`, a held one between its music rounds and announcements
(~9 s with the position read out). So an agent coming free is told to the
waiting calls here: every transition to `available` wakes one pass that
offers the agent to each call `decide.pushes` gives one (the router reserves
the agent and keeps the dial reply) and AMI-redirects that call's channel to
the dialplan's push step (`from-callers,push,1`), which asks `route` at once
and dials. A pass also runs once a second whatever happened, for anything a
wake missed (it costs one `pushes` scan, which stops at once when nobody is
free).

Wrap-ups are ended here on time as well (the agent service's tick runs every
half second), so the agent is offered the moment the wrap-up is over.

Races, and who settles them:
- two agents freeing at once, or a free during a pass: the wake is a flag,
  and a pass reserves synchronously, so each agent is offered once;
- the caller hanging up meanwhile: the Redirect fails, the router's Hangup
  handler frees the agent, the sweep forgets the push;
- a Redirect that fails for a live call: logged; the call's own next ask
  collects the dial (`Router.push_failed`);
- the call's loop asking while the Redirect is under way: it is told to wait
  half a second (the Redirect must land on a wait, never on a Dial);
- a push never collected: the sweep frees the agent after a few seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from callcenter.agents.domain import AgentState, Transition
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiError
from callcenter.routing.service import PushOrder, Router

log = logging.getLogger(__name__)

PUSH_CONTEXT = "from-callers"
PUSH_EXTEN = "push"
# A Redirect lands in milliseconds; the push step asks at once.
SENT_WITHIN = 3.0
# After a failed Redirect the call's loop asks between its announcements (~10 s).
FAILED_WITHIN = 15.0
SWEEP_EVERY = 1.0
REDIRECT_TIMEOUT = 2.0


class Pusher:
    def __init__(self, router: Router, ami: AmiClient | None) -> None:
        self._router = router
        self._ami = ami
        self._wake = asyncio.Event()

    def on_transitions(self, transitions: Sequence[Transition]) -> None:
        """The agent service's watcher: an agent became free (wrap-up over, unpause,
        login, an offer withdrawn or missed): push on the next loop turn."""
        if any(t.new is AgentState.AVAILABLE for t in transitions):
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Push on every wake and at every wrap-up's end; sweep uncollected pushes every
        second."""
        while True:
            timeout = SWEEP_EVERY
            due = self._router.seconds_to_wrap_up_end()
            if due is not None:
                timeout = max(0.0, min(timeout, due + 0.001))
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass
            try:
                self._router.expire_wrap_ups()
                self._wake.clear()
                self._router.sweep_pushes(SENT_WITHIN, FAILED_WITHIN)
                await self.push_now()
            except Exception:  # one bad pass must not end pushing: the asks still work
                log.exception("push pass failed; the next wake or second tries again")

    async def push_now(self) -> list[PushOrder]:
        orders = self._router.reserve_pushes()
        if orders:
            await asyncio.gather(*(self._redirect(order) for order in orders))
        return orders

    async def _redirect(self, order: PushOrder) -> None:
        if self._ami is None or not self._ami.connected:
            self._router.push_failed(order.linkedid)
            return
        try:
            await self._ami.action(
                "Redirect",
                {
                    "Channel": order.channel,
                    "Context": PUSH_CONTEXT,
                    "Exten": PUSH_EXTEN,
                    "Priority": "1",
                },
                timeout=REDIRECT_TIMEOUT,
            )
        except AmiError as exc:
            # Also when the caller just hung up: their Hangup event frees the agent.
            log.warning(
                "push of call %s to agent %s: Redirect of %s failed (%s); its next ask dials",
                order.linkedid,
                order.staff_no,
                order.channel,
                exc,
            )
            self._router.push_failed(order.linkedid)
            return
        self._router.push_sent(order.linkedid)
