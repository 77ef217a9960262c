"""Where callbacks come from: abandoned calls, press 1, after-hours messages, complaints.

Each source turns into a `request` on the callback queue, which merges it with
the open callback for the same number and purpose. A source that cannot be
called back (no caller ID, a caller ID that is no number, the do-not-call
list) is logged with its reason, counted, and skipped: it never stops the call
log, a wrap-up or the router.

Every inbound caller who never talked to a person (rang out, hung up while it
rang or while the system held them, was cut off) gets one abandoned callback,
unless the call already has its own: pressed 1 (press-1) or left an after-hours
message (after-hours).
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Coroutine
from typing import Any, Protocol

from callcenter.agents.domain import Case
from callcenter.callbacks.numbers import CallbackError, is_dialable
from callcenter.callbacks.requests import Purpose, SchedulerSettings, progress_call_due
from callcenter.callbacks.store import CallbackRepository
from callcenter.calls.record import (
    AFTER_HOURS,
    CALLBACK_REQUESTED,
    UNREACHED,
    CallRecord,
    Direction,
    Outcome,
)
from callcenter.kernel.clock import Clock

log = logging.getLogger(__name__)

REQUEST_PURPOSES = {"press-1": Purpose.PRESS_1, "after-hours": Purpose.AFTER_HOURS}


class NoCallback(enum.StrEnum):
    """Why a finished call gets no abandoned callback."""

    NOT_INBOUND = "not-inbound"
    REACHED_PERSON = "reached-a-person"
    PRESSED_1 = "pressed-1"  # its press-1 callback is the one
    AFTER_HOURS = "after-hours"  # its message's callback is the one
    # The caller could not be called back: counted and logged as skipped.
    NO_CALLER_ID = "no-caller-id"
    NOT_DIALLABLE = "invalid-number"  # anonymous, withheld, a trunk's text caller ID


# The reasons that are a caller the center owes a call and cannot make.
UNDIALLABLE = frozenset({NoCallback.NO_CALLER_ID, NoCallback.NOT_DIALLABLE})


def abandoned_callback_for(record: CallRecord) -> NoCallback | None:
    """None when this call gets an abandoned callback, else why not."""
    if record.direction is not Direction.INBOUND:
        return NoCallback.NOT_INBOUND
    if record.outcome not in UNREACHED:
        return NoCallback.REACHED_PERSON
    if CALLBACK_REQUESTED in record.notes:
        return NoCallback.PRESSED_1
    if AFTER_HOURS in record.notes:
        return NoCallback.AFTER_HOURS
    if not record.caller_number or not record.caller_number.strip():
        return NoCallback.NO_CALLER_ID
    if not is_dialable(record.caller_number):
        return NoCallback.NOT_DIALLABLE
    return None


class Cases(Protocol):
    """Where the agents' cases are read (the agents feature owns them)."""

    async def list_cases(self, status: str | None = None) -> list[Case]: ...


def sampled_for_follow_up(linkedid: str, share: float) -> bool:
    """Whether an answered call gets a satisfaction follow-up: a stable draw per call
    (the same call always gives the same answer, so a re-emitted record adds nothing)."""
    if share <= 0:
        return False
    digest = hashlib.sha256(linkedid.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def purpose_for_case(case: Case) -> Purpose | None:
    """A complaint's reply while it is open; a follow-up (回訪) once it is resolved."""
    if case.kind != "complaint":
        return None
    if case.status == "resolved":
        return Purpose.FOLLOW_UP
    if case.status == "open":
        return Purpose.COMPLAINT_REPLY
    return None


class CallbackSources:
    def __init__(
        self,
        callbacks: CallbackRepository,
        cases: Cases,
        settings: SchedulerSettings,
        clock: Clock = time.time,
        follow_up_share: float = 0.0,
    ) -> None:
        self._follow_up_share = follow_up_share
        self._callbacks = callbacks
        self._cases = cases
        self._settings = settings
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self.requested = 0
        self.skipped = 0
        # Skipped requests by reason: "no-caller-id", "invalid-number", "do-not-call", ...
        self.skipped_by_reason: Counter[str] = Counter()

    # -- a RecordSink: callers who reached nobody are called back ----------------------

    def submit(self, record: CallRecord) -> None:
        if record.direction is not Direction.INBOUND:
            return
        number = record.caller_number
        if record.outcome is Outcome.ANSWERED:
            if (
                number
                and not record.reconstructed
                and sampled_for_follow_up(record.linkedid, self._follow_up_share)
            ):
                self._spawn(self._follow_up(number, record.linkedid))
            return
        why_not = abandoned_callback_for(record)
        if why_not in UNDIALLABLE:
            self._skip(
                str(why_not),
                "no abandoned callback for call %s from %r: %s",
                record.linkedid,
                number,
                "no caller ID" if why_not is NoCallback.NO_CALLER_ID else "not a dialable number",
            )
        elif why_not is None and number:
            self._spawn(self._abandoned(number, record.linkedid))
        else:
            log.debug("no abandoned callback for call %s: %s", record.linkedid, why_not)

    async def _abandoned(self, number: str, linkedid: str) -> None:
        # A call rebuilt from Asterisk's trail comes back at every restart (the trail's
        # lookback), and a press-1 whose user event was missed left its request: a call
        # that already has a callback (any purpose, merged included) gets no other.
        if await self._callbacks.known_call(linkedid):
            log.debug("call %s already has a callback", linkedid)
            return
        await self.request(number, Purpose.ABANDONED, linkedid=linkedid)

    async def _follow_up(self, number: str, linkedid: str) -> None:
        await self.request(number, Purpose.FOLLOW_UP, linkedid=linkedid)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- the router's callback requests and the cases ----------------------------------

    async def on_request(self, number: str, source: str, linkedid: str | None) -> None:
        purpose = REQUEST_PURPOSES.get(source)
        if purpose is not None:
            await self.request(number, purpose, linkedid=linkedid)

    async def on_case(self, case: Case) -> None:
        purpose = purpose_for_case(case)
        if purpose is None or not case.caller_number:
            return
        deadline = case.reply_due_at if purpose is Purpose.COMPLAINT_REPLY else None
        await self.request(
            case.caller_number, purpose, case_id=case.id, linkedid=case.linkedid, deadline=deadline
        )

    async def progress_tick(self) -> int:
        """Progress calls for open complaints whose reply deadline approaches unresolved."""
        made = 0
        now = self._clock()
        for case in await self._cases.list_cases("open"):
            if case.kind != "complaint" or not case.caller_number:
                continue
            if progress_call_due(case.opened_at, case.reply_due_at, False, now, self._settings):
                if await self.request(
                    case.caller_number, Purpose.COMPLAINT_PROGRESS, case_id=case.id
                ):
                    made += 1
        return made

    async def run_progress(self, interval: float = 60.0) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.progress_tick()
            except Exception:
                log.exception("complaint progress check failed; trying again later")

    async def request(self, number: str, purpose: Purpose, **details: Any) -> bool:
        try:
            await self._callbacks.request(
                number,
                purpose,
                self._clock(),
                self._settings,
                **details,
            )
        except CallbackError as exc:
            self._skip(exc.error_id, "no %s callback for %r: %s", purpose.value, number, exc)
            return False
        self.requested += 1
        return True

    def _skip(self, reason: str, message: str, *args: object) -> None:
        self.skipped += 1
        self.skipped_by_reason[reason] += 1
        log.info(message, *args)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("callback request failed: %s", task.exception())
