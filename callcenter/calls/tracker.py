"""Events in, call records out: one `CallRecord` per Asterisk `Linkedid`.

Pure: no I/O and no clock of its own. Time is the events' `Timestamp` (or the
`now` given to `expire`/`reconcile`), so recorded transcripts replay offline
to the same records as the live run.

Why the rules are what they are (all seen on a real Asterisk 22):
- `AgentComplete` and the last `Hangup` come in either order, so a call is
  finalised `finalize_grace` seconds (event time) after its last channel goes.
- Who hung up first comes from `AgentComplete`'s `Reason`, not event order;
  the first `HangupRequest` after the answer is the fallback for calls that
  did not go through a queue.
- The caller leg goes Up when an agent answers *and* when the system answers;
  an agent leg already Up tells the two apart, and a `SystemAnswer` user
  event from the dialplan says it outright.
- Recordings are announced by a `CallRecording` user event per leg, keyed by
  the call's Linkedid and the leg's Uniqueid, so they follow the call through
  transfers.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from callcenter.ami.channel import interface_endpoint
from callcenter.ami.message import Message
from callcenter.calls.record import (
    AFTER_HOURS,
    CALLBACK_REQUESTED,
    MAX_NUMBER_LENGTH,
    CallRecord,
    Direction,
    Outcome,
    Party,
    RecordingSegment,
    classify_outcome,
    measure_wait,
)
from callcenter.calls.ring import count_rings
from callcenter.config import RingConfig, TrackerConfig

log = logging.getLogger(__name__)

_UP = "6"
_NO_RECORDS: tuple[CallRecord, ...] = ()
_RECENT_LIMIT = 20_000
# Hostile or broken input (issue 19). A real event is stamped between 2000 and 2100; a
# duration Asterisk reports (HoldTime, TalkTime, Duration) is under a week.
_MIN_EVENT_TIME = 946_684_800.0
_MAX_EVENT_TIME = 4_102_444_800.0
_MAX_DURATION = 7 * 86_400.0
# What one call may hold, so that no stream can grow a single call without bound.
_MAX_LEGS = 64
_MAX_NOTES = 32
_MAX_RECORDINGS = 64
# Idle and orphaned calls are looked for this often (event time).
_SWEEP_INTERVAL = 60.0


@dataclass(frozen=True)
class ChannelSnapshot:
    """One live channel as Asterisk reports it on resync (`CoreShowChannel`)."""

    uniqueid: str
    linkedid: str
    channel: str
    state: str
    caller_number: str | None
    caller_name: str | None
    exten: str | None
    context: str | None
    duration_seconds: float | None

    @classmethod
    def from_event(cls, event: Message) -> ChannelSnapshot:
        return cls(
            uniqueid=event.get("Uniqueid") or "",
            linkedid=event.get("Linkedid") or event.get("Uniqueid") or "",
            channel=event.get("Channel") or "",
            state=event.get("ChannelState") or "",
            caller_number=event.known("CallerIDNum"),
            caller_name=event.known("CallerIDName"),
            exten=event.known("Exten"),
            context=event.known("Context"),
            duration_seconds=_parse_duration(event.get("Duration")),
        )


def _clipped(call: _Call, number: str | None) -> str | None:
    """A number as it came, unless it is longer than the call log keeps."""
    if number is None or len(number) <= MAX_NUMBER_LENGTH:
        return number
    call.note("number-clipped")
    return number[:MAX_NUMBER_LENGTH]


def _parse_duration(raw: str | None) -> float | None:
    """`HH:MM:SS` (CoreShowChannel's Duration); None when absent or absurd."""
    if not raw or len(raw) > 16:
        return None
    try:
        parts = [int(p) for p in raw.split(":")]
    except ValueError:
        return None
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + part
    return float(seconds) if 0 <= seconds <= _MAX_DURATION else None


def _float(raw: str | None) -> float | None:
    """A duration in seconds (HoldTime, TalkTime): None when absent, not finite or absurd,
    so no `inf` reaches the ring count (it raised OverflowError there)."""
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and 0.0 <= value <= _MAX_DURATION else None


@dataclass
class _Call:
    linkedid: str
    direction: Direction = Direction.INBOUND
    caller_number: str | None = None
    caller_name: str | None = None
    dialled_number: str | None = None
    queue: str | None = None
    arrived_at: float | None = None
    answered_at: float | None = None
    # When the caller's own channel was answered: after the agent's pick-up and
    # the staff-number announcement; talk time counts from here.
    caller_up_at: float | None = None
    # A callback: the agent who places it (credited once the customer answers).
    outbound_agent: str | None = None
    answered_by: Party | None = None
    # When an agent took a call the system answered first (its wait ends here).
    agent_connected_at: float | None = None
    agent: str | None = None
    agent_name: str | None = None
    hold_seconds: float | None = None
    hold_started: dict[str, float] = field(default_factory=dict)
    wait_seconds_asterisk: float | None = None
    talk_seconds_asterisk: float | None = None
    talk_ended_at: float | None = None
    hangup_first: Party | None = None
    hangup_first_source: str | None = None
    hangup_cause: int | None = None
    abandoned: bool = False
    caller_requested_hangup: bool = False
    ended_at: float | None = None
    last_time: float | None = None
    seen_origin: bool = False
    live: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)
    agent_legs: set[str] = field(default_factory=set)
    up_legs: set[str] = field(default_factory=set)
    # By (uniqueid, leg): one agent channel announces its mix and each voice alone.
    recordings: dict[tuple[str, str], RecordingSegment] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes and len(self.notes) < _MAX_NOTES:
            self.notes.append(text)


class CallTracker:
    def __init__(
        self,
        ring: RingConfig | None = None,
        config: TrackerConfig | None = None,
    ) -> None:
        self._ring = ring or RingConfig()
        self._config = config or TrackerConfig()
        self._inbound_contexts = frozenset(self._config.inbound_contexts)
        self._calls: dict[str, _Call] = {}
        # Ended calls waiting out the grace period, in order of their deadline.
        self._ending: deque[tuple[float, str]] = deque()
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._clock: float | None = None
        # The wall clock the live service passes to `expire`/`reconcile`; None in a replay.
        self._wall: float | None = None
        # A jump of the event clock beyond max_clock_skew, held until a second event
        # confirms it (a quiet gap in a recorded stream) rather than one bad frame.
        self._pending_jump: float | None = None
        self._next_sweep: float | None = None
        # Calls finished by the sweep or the cap, returned with the next result.
        self._forced: list[CallRecord] = []
        self.late_events = 0
        self.unknown_events = 0
        # Frames the tracker could not use as sent: a Timestamp that is no time (inf, nan,
        # negative, far from the clock), a leg beyond what one call may hold.
        self.frame_errors = 0
        self.expired_calls = 0
        self._handlers: dict[str, Callable[[_Call, Message, float | None], None]] = {
            "Newchannel": self.on_newchannel,
            "Newstate": self.on_newstate,
            "DialBegin": self.on_dial_begin,
            "QueueCallerJoin": self.on_queue_caller_join,
            "QueueCallerAbandon": self.on_queue_caller_abandon,
            "AgentCalled": self.on_agent_called,
            "AgentConnect": self.on_agent_connect,
            "AgentComplete": self.on_agent_complete,
            "UserEvent": self.on_user_event,
            "HangupRequest": self.on_hangup_request,
            "SoftHangupRequest": self.on_hangup_request,
            "Hangup": self.on_hangup,
            "Hold": self.on_hold,
            "Shutdown": self.on_shutdown,
            "Unhold": self.on_unhold,
        }

    # -- public ----------------------------------------------------------------------

    @property
    def settings(self) -> tuple[RingConfig, TrackerConfig]:
        return self._ring, self._config

    @property
    def open_calls(self) -> int:
        return len(self._calls)

    def open_linkedids(self) -> list[str]:
        return list(self._calls)

    def knows(self, linkedid: str) -> bool:
        """Open now, or finished recently (a late copy of it must not start a new call)."""
        return linkedid in self._calls or linkedid in self._recent

    def is_open(self, linkedid: str) -> bool:
        return linkedid in self._calls

    def forget(self, linkedid: str) -> None:
        """Drop an open call whose full story came from elsewhere (the durable trail)."""
        if self._calls.pop(linkedid, None) is not None:
            self._remember(linkedid)

    def note(self, linkedid: str, text: str) -> None:
        call = self._calls.get(linkedid)
        if call is not None:
            call.note(text)

    def feed(self, event: Message) -> Sequence[CallRecord]:
        """Apply one event; returns the calls it let finish (usually none)."""
        headers = event.headers
        handler = self._handlers.get(headers.get("Event", ""))
        if handler is None:
            # Most of the stream (Newexten, VarSet, TestEvent...): only the clock matters,
            # and only while a call waits out its grace period.
            if not self._ending:
                return _NO_RECORDS
            self._advance(self._event_time(event))
            return self._finished_now()
        name = headers["Event"]
        when = self._event_time(event)
        self._advance(when)
        if name == "Shutdown":
            # Asterisk is going down (a restart or a stop): the calls it hangs up
            # now were interrupted, whatever their hang-up events say.
            for open_call in self._calls.values():
                open_call.note("asterisk-shutdown")
            return self._finished_now()
        linkedid = headers.get("Linkedid") or headers.get("Uniqueid")
        if not linkedid:
            self.unknown_events += 1
            log.debug("%s without Linkedid/Uniqueid ignored", name)
            return _NO_RECORDS
        call = self._calls.get(linkedid)
        if call is None:
            if linkedid in self._recent:
                self.late_events += 1
                log.info(
                    "late %s for finished call %s ignored",
                    name,
                    linkedid,
                    extra={"linkedid": linkedid},
                )
                return self._finished_now()
            if len(self._calls) >= self._config.max_open_calls:
                self._evict_oldest()
            call = self._calls[linkedid] = _Call(linkedid)
            if name != "Newchannel":
                call.note("started-mid-call")
        if self._too_many_legs(call, headers):
            return self._finished_now()
        if when is not None:
            call.last_time = when
        elif call.last_time is None:
            call.last_time = self._clock
        handler(call, event, when)
        return self._finished_now()

    def _event_time(self, event: Message) -> float | None:
        """The event's Timestamp when it is a sane time; else counted as a frame error and
        replaced by the tracker's clock (a hang-up with a garbled stamp still ends its leg)."""
        raw = event.headers.get("Timestamp")
        if raw is None:
            return None
        when = event.timestamp  # None for text that is no finite number
        reason = self._time_refusal(when)
        if reason is None:
            return when
        self.frame_errors += 1
        if self.frame_errors == 1 or self.frame_errors % 1000 == 0:
            log.warning(
                "AMI %s with Timestamp %r (%s): applied at the tracker's clock; %d such frames",
                event.name,
                raw[:40],
                reason,
                self.frame_errors,
            )
        return self._clock

    def _time_refusal(self, when: float | None) -> str | None:
        """Why `when` is no time for an event now, or None when it is one."""
        if when is None or not _MIN_EVENT_TIME <= when <= _MAX_EVENT_TIME:
            return "not a time between 2000 and 2100"
        skew = self._config.max_clock_skew
        if self._wall is not None and when > self._wall + skew:
            return "ahead of the wall clock"
        clock = self._clock
        if clock is None:
            return None
        if when < clock - skew - self._config.trail_lookback:
            return "far behind the clock"
        if when > clock + skew:
            pending, self._pending_jump = self._pending_jump, when
            if self._wall is None and pending is not None and abs(when - pending) <= skew:
                return None  # two events agree: a gap in a recorded stream, not a bad frame
            return "far ahead of the clock"
        self._pending_jump = None
        return None

    def _advance(self, when: float | None) -> None:
        if when is not None and (self._clock is None or when > self._clock):
            self._clock = when
            if self._next_sweep is None:
                self._next_sweep = when + _SWEEP_INTERVAL
            elif when >= self._next_sweep:
                self._sweep(when)

    def expire(self, now: float) -> list[CallRecord]:
        """Finalise ended calls whose grace period is over at `now` (wall clock, live), and
        calls left open with no live leg or no event for too long."""
        self._set_wall(now)
        return list(self._finished_now())

    def _set_wall(self, now: float) -> None:
        self._wall = now
        if self._clock is not None and self._clock > now + self._config.max_clock_skew:
            # Only a bad frame (before the wall clock was known) can have put it there.
            log.warning("tracker clock %.0f was ahead of the wall clock; reset", self._clock)
            self._clock = None
            self._next_sweep = None
        self._advance(now)

    def _finished_now(self) -> Sequence[CallRecord]:
        if not self._forced and not self._ending:
            return _NO_RECORDS
        finished, self._forced = self._forced, []
        if self._ending:
            finished.extend(self._expire_due())
        return finished

    # -- bounds: hostile or broken streams --------------------------------------------

    def _too_many_legs(self, call: _Call, headers: dict[str, str]) -> bool:
        """An event that would add a leg beyond `_MAX_LEGS` to one call: a frame error."""
        uniqueid = headers.get("Uniqueid")
        new_leg = bool(uniqueid) and uniqueid not in call.live and uniqueid not in call.gone
        if new_leg and len(call.live) + len(call.gone) >= _MAX_LEGS:
            refused = True
        else:
            dest = headers.get("DestUniqueid")
            refused = bool(dest) and dest not in call.agent_legs
            refused = refused and len(call.agent_legs) >= _MAX_LEGS
        if refused:
            self.frame_errors += 1
            call.note("too-many-legs")
        return refused

    def _sweep(self, clock: float) -> None:
        """Finish calls that cannot end by themselves: no live leg and no final event for
        `orphan_expiry`, or no event at all for `idle_expiry`. Records, never dropped."""
        self._next_sweep = clock + _SWEEP_INTERVAL
        orphan, idle = self._config.orphan_expiry, self._config.idle_expiry
        for linkedid, call in list(self._calls.items()):
            last = call.last_time
            if last is None:
                call.last_time = clock  # no stamped event yet: the wait starts now
                continue
            if call.ended_at is not None:
                continue  # waiting out its grace period
            if not call.live and clock - last >= orphan:
                self._force_finish(linkedid, call, "expired-no-live-leg")
            elif clock - last >= idle:
                self._force_finish(linkedid, call, "expired-idle")
        if len(self._ending) > len(self._calls) + 1000:
            # Entries of calls finished another way: keep the deque as small as the calls.
            self._ending = deque(e for e in self._ending if e[1] in self._calls)

    def _evict_oldest(self) -> None:
        linkedid = next(iter(self._calls))
        log.warning(
            "%d calls open: the oldest, %s, is finished to make room",
            len(self._calls),
            linkedid,
            extra={"linkedid": linkedid},
        )
        self._force_finish(linkedid, self._calls[linkedid], "evicted-too-many-calls")

    def _force_finish(self, linkedid: str, call: _Call, reason: str) -> None:
        call.note(reason)
        call.gone.update(call.live)
        call.live.clear()
        if call.ended_at is None:
            call.ended_at = call.last_time
        record = self._finish(linkedid)
        if record is not None:
            self.expired_calls += 1
            self._forced.append(record)

    def drain(self) -> list[CallRecord]:
        """Finalise every ended call now (end of a replayed transcript)."""
        finished: list[CallRecord] = []
        while self._ending:
            _, linkedid = self._ending.popleft()
            record = self._finish(linkedid)
            if record is not None:
                finished.append(record)
        return finished

    def reconcile(self, channels: Iterable[ChannelSnapshot], now: float) -> list[CallRecord]:
        """Align with what Asterisk says is live (after a reconnect, and periodically).

        Legs we hold that Asterisk no longer has ended while we were not
        listening: they end at `now` with a note. Channels we never saw are
        adopted. Calls that end this way finish at once (no grace).
        """
        live: dict[str, ChannelSnapshot] = {c.uniqueid: c for c in channels if c.uniqueid}
        for snapshot in live.values():
            still = self._calls.get(snapshot.linkedid)
            if still is not None:
                still.last_time = now  # Asterisk still has it: not idle, however quiet
        self._set_wall(now)
        finished, self._forced = self._forced, []  # calls the sweep finished just now
        for linkedid, call in list(self._calls.items()):
            missing = [u for u in call.live if u not in live]
            if not missing:
                continue
            for uniqueid in missing:
                call.live.discard(uniqueid)
                call.gone.add(uniqueid)
            call.note("ended-while-disconnected")
            if not call.live and call.ended_at is None:
                call.ended_at = now
                record = self._finish(linkedid)
                if record is not None:
                    finished.append(record)
        for snapshot in live.values():
            known = self._calls.get(snapshot.linkedid)
            if known is None:
                if snapshot.linkedid in self._recent:
                    continue
                known = self._calls[snapshot.linkedid] = _Call(snapshot.linkedid)
                known.note("adopted")
            call = known
            if snapshot.uniqueid in call.live or snapshot.uniqueid in call.gone:
                continue
            call.live.add(snapshot.uniqueid)
            if snapshot.uniqueid == snapshot.linkedid:
                call.seen_origin = True
                call.caller_number = call.caller_number or snapshot.caller_number
                call.caller_name = call.caller_name or snapshot.caller_name
                call.dialled_number = call.dialled_number or snapshot.exten
                if snapshot.context is not None:
                    call.direction = self._direction(snapshot.context)
                if call.arrived_at is None and snapshot.duration_seconds is not None:
                    call.arrived_at = now - snapshot.duration_seconds
            if snapshot.state == _UP:
                call.up_legs.add(snapshot.uniqueid)
        return finished

    def abandon_all(self, now: float, reason: str) -> list[CallRecord]:
        """Asterisk restarted: every call we hold is over; finish them with `reason` noted."""
        finished: list[CallRecord] = []
        for linkedid, call in list(self._calls.items()):
            call.note(reason)
            call.gone.update(call.live)
            call.live.clear()
            if call.ended_at is None:
                call.ended_at = now
            record = self._finish(linkedid)
            if record is not None:
                finished.append(record)
        self._ending.clear()
        return finished

    # -- handlers ---------------------------------------------------------------------

    def on_shutdown(self, call: _Call, event: Message, when: float | None) -> None:
        """Handled in `feed` (it concerns every call); registered so it is not skipped."""

    def on_newchannel(self, call: _Call, event: Message, when: float | None) -> None:
        uniqueid = event.headers.get("Uniqueid", "")
        if uniqueid in call.gone:
            return
        call.live.add(uniqueid)
        if uniqueid == call.linkedid:
            call.seen_origin = True
            if when is not None:
                call.arrived_at = when if call.arrived_at is None else min(call.arrived_at, when)
            call.caller_number = event.known("CallerIDNum")
            call.caller_name = event.known("CallerIDName")
            call.dialled_number = event.known("Exten")
            call.direction = self._direction(event.get("Context"))
        elif call.arrived_at is None and when is not None:
            call.arrived_at = when

    def on_newstate(self, call: _Call, event: Message, when: float | None) -> None:
        uniqueid = event.headers.get("Uniqueid", "")
        if event.headers.get("ChannelState") != _UP:
            return
        call.up_legs.add(uniqueid)
        if uniqueid == call.linkedid and call.caller_up_at is None:
            call.caller_up_at = when
        if call.answered_at is not None:
            return
        if call.direction is Direction.OUTBOUND and uniqueid != call.linkedid:
            # A callback: the customer's leg answering is the call being answered.
            call.answered_at = when
            call.answered_by = Party.AGENT
            call.agent = call.outbound_agent
            return
        if uniqueid in call.agent_legs and call.direction is Direction.INBOUND:
            # The agent picked up: that ends the caller's ringing, even if the
            # caller's own channel is answered only after the announcement.
            call.answered_at = when
            call.answered_by = Party.AGENT
            return
        if uniqueid != call.linkedid:
            return
        if call.agent_legs & call.up_legs:
            call.answered_at = when
            call.answered_by = Party.AGENT
        elif call.direction is Direction.INBOUND and not call.agent_legs:
            # Up with no agent leg in sight: the system (IVR, announcement) answered.
            call.answered_at = when
            call.answered_by = Party.SYSTEM

    def on_dial_begin(self, call: _Call, event: Message, when: float | None) -> None:
        dest = event.get("DestUniqueid")
        if dest and call.direction is Direction.INBOUND:
            call.agent_legs.add(dest)

    def on_queue_caller_join(self, call: _Call, event: Message, when: float | None) -> None:
        call.queue = event.get("Queue") or call.queue

    def on_queue_caller_abandon(self, call: _Call, event: Message, when: float | None) -> None:
        call.queue = event.get("Queue") or call.queue
        call.abandoned = True
        call.wait_seconds_asterisk = _float(event.get("HoldTime"))

    def on_agent_called(self, call: _Call, event: Message, when: float | None) -> None:
        call.queue = event.get("Queue") or call.queue
        dest = event.get("DestUniqueid")
        if dest:
            call.agent_legs.add(dest)

    def on_agent_connect(self, call: _Call, event: Message, when: float | None) -> None:
        call.queue = event.get("Queue") or call.queue
        dest = event.get("DestUniqueid")
        if dest:
            call.agent_legs.add(dest)
        call.agent = interface_endpoint(event.get("Interface")) or event.known("MemberName")
        call.agent_name = event.known("MemberName")
        call.wait_seconds_asterisk = _float(event.get("HoldTime"))
        if call.answered_by is None or call.answered_by is Party.AGENT:
            call.answered_by = Party.AGENT
            if call.answered_at is None:
                call.answered_at = when
        else:
            call.note("agent-after-system-answer")
            if call.agent_connected_at is None:
                call.agent_connected_at = when

    def on_agent_complete(self, call: _Call, event: Message, when: float | None) -> None:
        call.talk_seconds_asterisk = _float(event.get("TalkTime"))
        if call.agent is None:
            call.agent = interface_endpoint(event.get("Interface")) or event.known("MemberName")
            call.agent_name = event.known("MemberName")
        reason = (event.get("Reason") or "").lower()
        if reason == "caller":
            self._set_hangup_first(call, Party.CALLER, "agent-complete")
        elif reason == "agent":
            self._set_hangup_first(call, Party.AGENT, "agent-complete")
        elif reason == "transfer":
            call.note("transferred")

    def on_user_event(self, call: _Call, event: Message, when: float | None) -> None:
        kind = event.get("UserEvent")
        if kind == "CallRecording":
            uniqueid = event.get("Uniqueid") or ""
            path = event.get("File")
            if not path:
                call.note("recording-event-without-file")
                return
            leg = event.get("Leg") or "unknown"
            if (uniqueid, leg) not in call.recordings and len(call.recordings) >= _MAX_RECORDINGS:
                call.note("too-many-recordings")
                return
            call.recordings[(uniqueid, leg)] = RecordingSegment(
                linkedid=call.linkedid,
                uniqueid=uniqueid,
                leg=leg,
                path=path,
                started_at=when,
            )
        elif kind == "SystemAnswer" and call.answered_at is None:
            call.answered_at = when
            call.answered_by = Party.SYSTEM
        elif kind == "CallbackRequested":
            call.note(CALLBACK_REQUESTED)  # pressed 1: the press-1 callback is its callback
        elif kind == "AfterHours":
            call.note(AFTER_HOURS)  # its message is stored as an after-hours callback
        elif kind in ("CallbackDial", "ClickToCall"):
            call.direction = Direction.OUTBOUND
            call.dialled_number = event.get("Number") or call.dialled_number
            call.outbound_agent = event.get("Agent") or None
            if kind == "ClickToCall":
                call.note("click-to-call")  # placed by the agent from the panel
            else:
                call.note(f"callback {event.get('Callback') or '?'}")
        elif kind == "Routing":
            call.queue = event.get("Queue") or call.queue
        elif kind == "AgentConnected":
            # The router's Dial: its gosub says which agent answered, as
            # AgentConnect does for app_queue.
            agent = event.get("Agent") or ""
            self.on_agent_connect(
                call,
                Message(
                    {
                        "Event": "AgentConnect",
                        "Queue": event.get("Queue") or "",
                        "DestUniqueid": event.get("Uniqueid") or "",
                        "Interface": f"PJSIP/{event.get('Endpoint')}"
                        if event.get("Endpoint")
                        else "",
                        "MemberName": agent,
                    }
                ),
                when,
            )

    def on_hangup_request(self, call: _Call, event: Message, when: float | None) -> None:
        uniqueid = event.headers.get("Uniqueid", "")
        if uniqueid == call.linkedid and call.answered_at is None:
            # The caller's own hang-up (HangupRequest) stands: the SoftHangupRequest
            # that Dial sends after it when it gives up must not undo it.
            call.caller_requested_hangup = (
                call.caller_requested_hangup or event.name == "HangupRequest"
            )
        if call.answered_at is None or call.hangup_first is not None:
            return
        # HangupRequest: the leg's far end hung up. SoftHangupRequest: Asterisk
        # itself ended the leg (dialplan Hangup(), the bridge breaking up).
        remote = event.name == "HangupRequest"
        if uniqueid == call.linkedid:
            if remote:
                self._set_hangup_first(call, Party.CALLER, "hangup-request")
            elif call.answered_by is Party.SYSTEM:
                self._set_hangup_first(call, Party.SYSTEM, "hangup-request")
        elif uniqueid in call.agent_legs and uniqueid in call.up_legs and remote:
            self._set_hangup_first(call, Party.AGENT, "hangup-request")

    def on_hold(self, call: _Call, event: Message, when: float | None) -> None:
        if when is not None:
            call.hold_started[event.headers.get("Uniqueid", "")] = when

    def on_unhold(self, call: _Call, event: Message, when: float | None) -> None:
        started = call.hold_started.pop(event.headers.get("Uniqueid", ""), None)
        if started is not None and when is not None:
            call.hold_seconds = round((call.hold_seconds or 0.0) + max(0.0, when - started), 3)

    def on_hangup(self, call: _Call, event: Message, when: float | None) -> None:
        uniqueid = event.headers.get("Uniqueid", "")
        if uniqueid in call.gone:
            log.debug(
                "duplicate Hangup for %s ignored", uniqueid, extra={"linkedid": call.linkedid}
            )
            return
        call.live.discard(uniqueid)
        call.gone.add(uniqueid)
        is_talker = uniqueid == call.linkedid or (
            uniqueid in call.agent_legs and uniqueid in call.up_legs
        )
        if call.answered_at is not None and call.talk_ended_at is None and is_talker:
            call.talk_ended_at = when
        if uniqueid == call.linkedid:
            cause = event.get("Cause")
            if cause and cause.isascii() and cause.isdigit() and len(cause) <= 3:
                call.hangup_cause = int(cause)
            if call.answered_at is None:
                call.caller_requested_hangup = call.caller_requested_hangup or cause == "16"
        if not call.live and call.ended_at is None:
            call.ended_at = when
            deadline = (when if when is not None else self._clock or 0.0) + (
                self._config.finalize_grace
            )
            self._ending.append((deadline, call.linkedid))

    # -- finishing --------------------------------------------------------------------

    def _expire_due(self) -> list[CallRecord]:
        clock = self._clock
        finished: list[CallRecord] = []
        ending = self._ending
        while ending and clock is not None and ending[0][0] <= clock:
            _, linkedid = ending.popleft()
            record = self._finish(linkedid)
            if record is not None:
                finished.append(record)
        return finished

    def _finish(self, linkedid: str) -> CallRecord | None:
        call = self._calls.get(linkedid)
        if call is None:
            return None
        if call.live:
            # A leg came back (e.g. a transfer created a new channel): not over yet.
            call.ended_at = None
            return None
        del self._calls[linkedid]
        self._remember(linkedid)
        return self._to_record(call)

    def _remember(self, linkedid: str) -> None:
        self._recent[linkedid] = None
        if len(self._recent) > _RECENT_LIMIT:
            self._recent.popitem(last=False)

    def _to_record(self, call: _Call) -> CallRecord:
        answer_seconds: float | None = None
        if call.answered_at is not None and call.arrived_at is not None:
            answer_seconds = round(max(0.0, call.answered_at - call.arrived_at), 3)
        elif call.answered_by is not None and call.wait_seconds_asterisk is not None:
            answer_seconds = call.wait_seconds_asterisk
        rings = (
            count_rings(answer_seconds, self._ring.cadence_seconds)
            if answer_seconds is not None
            else None
        )
        talk: float | None = None
        if call.answered_at is not None:
            end = call.talk_ended_at if call.talk_ended_at is not None else call.ended_at
            start = call.answered_at
            if call.caller_up_at is not None and call.caller_up_at > start:
                start = call.caller_up_at
            if end is not None:
                talk = round(max(0.0, end - start), 3)
        if talk is None and call.answered_by is Party.AGENT:
            talk = call.talk_seconds_asterisk
        agent_took_it = call.answered_by is Party.AGENT or call.agent is not None
        system_answered = call.answered_by is Party.SYSTEM
        outcome = classify_outcome(
            agent_took_it=agent_took_it,
            system_answered=system_answered,
            caller_hung_up_first=call.hangup_first is Party.CALLER,
            caller_hung_up_unanswered=call.abandoned or call.caller_requested_hangup,
            notes=call.notes,
        )
        answered_by: Party | None = None
        if agent_took_it:
            answered_by = call.answered_by or Party.AGENT
        elif system_answered:
            answered_by = Party.SYSTEM
        hangup_first = call.hangup_first
        if outcome is Outcome.ABANDONED:
            hangup_first = Party.CALLER
        elif outcome is Outcome.ANSWERED_BY_SYSTEM and hangup_first is None:
            hangup_first = Party.SYSTEM
        wait_seconds = system_wait = None
        # answered_at is the system's answer when it answered first, else the agent's.
        reached_at = call.agent_connected_at if system_answered else call.answered_at
        if call.direction is Direction.INBOUND and not (agent_took_it and reached_at is None):
            wait_seconds, system_wait = measure_wait(
                arrived_at=call.arrived_at,
                system_answered_at=call.answered_at if system_answered else None,
                agent_answered_at=reached_at if agent_took_it else None,
                ended_at=call.ended_at,
            )
        if not call.seen_origin:
            call.note("origin-unseen")
        return CallRecord(
            linkedid=call.linkedid,
            direction=call.direction,
            caller_number=_clipped(call, call.caller_number),
            caller_name=call.caller_name,
            dialled_number=_clipped(call, call.dialled_number),
            queue=call.queue,
            arrived_at=call.arrived_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at,
            answer_seconds=answer_seconds,
            rings_to_answer=rings,
            answered_by=answered_by,
            agent=call.agent,
            agent_name=call.agent_name,
            hold_seconds=call.hold_seconds,
            talk_seconds=talk,
            hangup_first=hangup_first,
            outcome=outcome,
            hangup_cause=call.hangup_cause,
            recordings=tuple(
                sorted(
                    call.recordings.values(),
                    key=lambda r: (r.started_at or 0.0, r.uniqueid, r.leg),
                )
            ),
            notes=tuple(call.notes),
            wait_seconds=wait_seconds,
            system_wait_seconds=system_wait,
        )

    @staticmethod
    def _set_hangup_first(call: _Call, party: Party, source: str) -> None:
        # AgentComplete's Reason is authoritative; a hang-up request only fills a gap.
        if call.hangup_first_source == "agent-complete":
            return
        call.hangup_first = party
        call.hangup_first_source = source

    def _direction(self, context: str | None) -> Direction:
        if context is None or context in self._inbound_contexts:
            return Direction.INBOUND
        return Direction.INTERNAL
