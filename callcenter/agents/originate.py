"""Offers that ring the agent's own phone first (callbacks, click-to-call): the async
`Originate` and the `OriginateResponse` that says how it ended.

Asterisk answers an Originate to an unregistered phone at once: its
`OriginateResponse` (Failure, Reason 0) can come in the same read as the
action's own `Success` response, so it is dispatched before the code awaiting
`tracked_action` has resumed and noted the ActionID. Such an early answer is
kept here (a bounded number of them) and handed over when its ActionID is
expected; without that the failure is lost and the agent stays `ringing`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from callcenter.agents.domain import PHONE_UNAVAILABLE
from callcenter.ami.message import Message

# OriginateResponse `Reason`: the last control frame of the agent's leg (Asterisk's
# AST_CONTROL_*): 0 no channel at all (seen for an unregistered PJSIP phone on
# 22.10.1), 1 hung up, 3 still ringing at the timeout (seen), 5 busy, 8 congestion.
FAILURES: Final = {
    "0": PHONE_UNAVAILABLE,
    "1": "phone-rejected",
    "3": "no-answer",
    "5": "phone-busy",
    "8": "phone-congested",
}
ORIGINATE_FAILED: Final = "originate-failed"

# Told how an Originate ended: None when the agent answered, else why not.
Outcome = Callable[[str | None], None]


def originate_failure(event: Message) -> str | None:
    """Why an `OriginateResponse` says the agent's phone was not answered; None: it was."""
    if (event.get("Response") or "").strip().lower() == "success":
        return None
    return FAILURES.get((event.get("Reason") or "").strip(), ORIGINATE_FAILED)


class OriginateResponses:
    """Hands each `OriginateResponse` to whoever expects its ActionID, early or late."""

    def __init__(self, keep: int = 256) -> None:
        self._expected: dict[str, Outcome] = {}
        self._early: OrderedDict[str, str | None] = OrderedDict()
        self._keep = keep

    def expect(self, action_id: str, outcome: Outcome) -> None:
        """Call `outcome(failure)` once the Originate sent with `action_id` is answered
        (now, if the answer came before this call)."""
        if action_id in self._early:
            outcome(self._early.pop(action_id))
        else:
            self._expected[action_id] = outcome

    def forget(self, action_id: str) -> None:
        self._expected.pop(action_id, None)

    @property
    def pending(self) -> int:
        return len(self._expected)

    def on_event(self, event: Message) -> None:
        if event.name != "OriginateResponse":
            return
        action_id = event.get("ActionID") or ""
        if not action_id:
            return
        failure = originate_failure(event)
        outcome = self._expected.pop(action_id, None)
        if outcome is not None:
            outcome(failure)
            return
        # Not expected (yet): possibly ours, answered before `expect`; or another's.
        self._early[action_id] = failure
        while len(self._early) > self._keep:
            self._early.popitem(last=False)
