"""Screen pops: when a call rings an agent's softphone, push who is calling to their panel.

The trigger is AMI's `DialBegin` whose destination is an agent's endpoint and
whose source is not an agent: it comes for the router's `Dial` and for
app_queue's fallback alike, the moment the phone starts ringing. The pop is
sent at once with what the event carries (number, caller-ID name), then
again complete (contact, history, open cases) once the database answered;
a database that does not answer leaves the first one, marked as such.

Pops are published on the topic `agent:<staff_no>` (the web layer hands them
to its per-client bounded broadcaster: a stalled panel is dropped, never
stalls the others), and the recent ones are kept so a reloaded page gets its
pop back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any

from callcenter.ami.message import Message
from callcenter.kernel.clock import Clock
from callcenter.panel.pop import ScreenPop, build_pop, clean_caller_id_name
from callcenter.panel.store import PanelRepository

log = logging.getLogger(__name__)

Spawn = Callable[[str, Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]
StaffOf = Callable[[str], str | None]  # endpoint -> staff number (None: not an agent)
# (message, topic) -> how many clients got it: the web layer's broadcaster.
Publish = Callable[[str, str], int]
MAX_RECENT = 2000
LOOKUP_TIMEOUT = 3.0


def topic(staff_no: str) -> str:
    return f"agent:{staff_no}"


def endpoint_of(channel: str) -> str:
    """`PJSIP/1001-0000000a` -> `1001`."""
    name = channel.split("/", 1)[-1]
    return name.rsplit("-", 1)[0] if "-" in name else name


class PanelService:
    def __init__(
        self,
        repository: PanelRepository,
        publish: Publish,
        staff_of: StaffOf,
        spawn: Spawn,
        *,
        clock: Clock = time.time,
        max_history: int = 20,
    ) -> None:
        self._repo = repository
        self._send = publish
        self._staff_of = staff_of
        self._spawn = spawn
        self._clock = clock
        self._max_history = max_history
        self._queues: OrderedDict[str, str] = OrderedDict()  # linkedid -> queue (Routing)
        self._recent: OrderedDict[tuple[str, str], ScreenPop] = OrderedDict()
        self.pops = 0  # pops pushed (complete), for tests and metrics
        self.failures = 0

    # -- AMI ------------------------------------------------------------------------------

    def on_event(self, event: Message) -> None:
        if event.name == "DialBegin":
            self._on_dial_begin(event)
        elif event.name == "UserEvent" and event.get("UserEvent") == "Routing":
            linkedid, queue = event.get("Linkedid") or "", event.get("Queue") or ""
            if linkedid and queue:
                _remember(self._queues, linkedid, queue)

    def _on_dial_begin(self, event: Message) -> None:
        source, dest = event.get("Channel") or "", event.get("DestChannel") or ""
        if not source or not dest:
            return  # an Originate's own leg (callbacks, click-to-call): the agent placed it
        staff_no = self._staff_of(endpoint_of(dest))
        if staff_no is None or self._staff_of(endpoint_of(source)) is not None:
            return  # not ringing an agent, or one agent calling another
        linkedid = event.get("Linkedid") or event.get("Uniqueid") or ""
        if not linkedid:
            return
        number = event.known("CallerIDNum")
        name = clean_caller_id_name(event.known("CallerIDName"))
        self._spawn(
            f"screen-pop-{linkedid}-{staff_no}",
            self.pop(linkedid, staff_no, number, name, self._queues.get(linkedid)),
        )

    # -- pops -----------------------------------------------------------------------------

    async def pop(
        self,
        linkedid: str,
        staff_no: str,
        number: str | None,
        caller_id_name: str | None,
        queue: str | None,
    ) -> ScreenPop:
        """Push the pop for an offer: at once from the event, then complete."""
        now = self._clock()
        first = build_pop(
            linkedid=linkedid,
            staff_no=staff_no,
            number=number,
            caller_id_name=caller_id_name,
            queue=queue,
            at=now,
            contact=None,
            history=(),
            cases=(),
        )
        self._publish(first, loading=True)
        try:
            complete = await asyncio.wait_for(
                self.lookup(linkedid, staff_no, number, caller_id_name, queue, now, learn=True),
                LOOKUP_TIMEOUT,
            )
        except Exception as exc:  # the pop must not die with the database: keep the first
            self.failures += 1
            log.warning("screen pop for %s: history not loaded (%s)", linkedid, exc)
            self._keep(first)
            self._publish(first, error="history-unavailable")
            return first
        self._keep(complete)
        self._publish(complete)
        self.pops += 1
        return complete

    async def lookup(
        self,
        linkedid: str,
        staff_no: str,
        number: str | None,
        caller_id_name: str | None,
        queue: str | None,
        at: float,
        *,
        learn: bool = False,
    ) -> ScreenPop:
        """The complete pop from the database; `learn` keeps the caller ID as a contact."""
        contact = None
        history: list[Any] = []
        cases: list[Any] = []
        if number:
            if learn:
                contact = await self._repo.note_caller_id(number, caller_id_name, at)
            else:
                contact = await self._repo.contact(number)
            history = await self._repo.history(number, self._max_history + 1)
            cases = await self._repo.open_cases(number)
        return build_pop(
            linkedid=linkedid,
            staff_no=staff_no,
            number=number,
            caller_id_name=caller_id_name,
            queue=queue,
            at=at,
            contact=contact,
            history=history,
            cases=cases,
            max_history=self._max_history,
        )

    def recent(self, linkedid: str, staff_no: str | None = None) -> ScreenPop | None:
        """The pop kept for a call (for this agent, or the latest for anyone)."""
        if staff_no is not None:
            return self._recent.get((linkedid, staff_no))
        found = [p for (call, _), p in self._recent.items() if call == linkedid]
        return found[-1] if found else None

    async def rebuild(self, linkedid: str, staff_no: str) -> ScreenPop | None:
        """A pop no longer kept (a restart, an old call): from the call log."""
        party = await self._repo.call_party(linkedid)
        if party is None:
            return None
        number, name, queue = party
        return await self.lookup(
            linkedid, staff_no, number, clean_caller_id_name(name), queue, self._clock()
        )

    def refresh(self, pop: ScreenPop) -> None:
        """Keep and push a pop again (the contact was edited from the panel)."""
        self._keep(pop)
        self._publish(pop)

    # -- internals --------------------------------------------------------------------------

    def _keep(self, pop: ScreenPop) -> None:
        _remember(self._recent, (pop.linkedid, pop.staff_no), pop)

    def _publish(self, pop: ScreenPop, *, loading: bool = False, error: str | None = None) -> None:
        message: dict[str, Any] = {"type": "pop", "pop": pop.to_json(self._clock())}
        if loading:
            message["loading"] = True
        if error is not None:
            message["error"] = error
        self._send(json.dumps(message, ensure_ascii=False), topic(pop.staff_no))


def _remember(store: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    store[key] = value
    store.move_to_end(key)
    while len(store) > MAX_RECENT:
        store.popitem(last=False)
