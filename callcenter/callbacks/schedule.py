"""Outbound callbacks: when to call a customer back, in what order, and what a try changed.

Pure: every function takes the instant it decides at (`now`, epoch seconds) and
returns new frozen values; the service stores them and dials. The rules:

- never call in the customer's rest hours (quiet hours, local wall-clock time
  in the customer's zone when known, else the center's);
- one open callback per number and purpose: a second request merges into the
  first, keeping the earlier turn, due time and deadline;
- complaint replies are due within 48 h of opening, follow-ups (回訪) within
  3 days of the resolution; complaint callbacks with a deadline go first;
- a try that is not answered is retried `retry_spacing` later (out of quiet
  hours) until `max_attempts` tries were made.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.callbacks.numbers import CallbackError as CallbackError  # re-exported
from callcenter.callbacks.numbers import DoNotCallList, normalize_number

HOUR = 3600.0
DAY = 24 * HOUR


class Purpose(enum.StrEnum):
    ABANDONED = "abandoned"
    PRESS_1 = "press-1"  # the value the dialplan's callback AGI sends as its source
    AFTER_HOURS = "after-hours"
    COMPLAINT_REPLY = "complaint-reply"
    COMPLAINT_PROGRESS = "complaint-progress"
    FOLLOW_UP = "follow-up"


# Complaint callbacks whose deadline is a promise to the customer (48 h): dialled first.
COMPLAINT_PURPOSES = frozenset({Purpose.COMPLAINT_REPLY, Purpose.COMPLAINT_PROGRESS})


class Status(enum.StrEnum):
    PENDING = "pending"
    DIALLING = "dialling"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset({Status.PENDING, Status.DIALLING})


class Outcome(enum.StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no-answer"
    BUSY = "busy"
    FAILED = "failed"


MERGED = "merged-duplicate"
PAST_DEADLINE = "past-deadline"


# -- quiet hours ---------------------------------------------------------------------------

_MICROS_PER_DAY = 86_400_000_000
_HH_MM = re.compile(r"\d{1,2}:\d{2}(:\d{2})?")
_WITH_OFFSET = re.compile(r"\d{1,2}:\d{2}(:\d{2})?\s*(Z|[+-]\d{1,2}(:?\d{2})?)", re.IGNORECASE)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CallbackError(
            "timezone-unknown",
            f"unknown time zone {name!r}; use an IANA name such as Asia/Shanghai",
            timezone=name,
        ) from None


def _micros(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _contains(window: tuple[time, time], t: time) -> bool:
    start, end = window
    if start < end:
        return start <= t < end
    return t >= start or t < end  # past midnight (end <= start)


def _wall(epoch: float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(epoch, tz=zone).replace(tzinfo=None)


def _first_instant_at(wall: datetime, zone: ZoneInfo, after: float) -> float:
    """The first instant > `after` whose local wall-clock time in `zone` is `wall` or later."""
    first = wall.replace(tzinfo=zone, fold=0).timestamp()
    second = wall.replace(tzinfo=zone, fold=1).timestamp()
    if first <= second:
        # A normal wall time (both equal) or one the clocks show twice (autumn): the
        # first occurrence unless `after` is already past it.
        return first if first > after else second
    # A wall time the clocks skip (spring): the answer is the instant they jump,
    # between the two readings; transitions fall on whole seconds.
    lo, hi = math.floor(second), math.ceil(first)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _wall(mid, zone) >= wall:
            hi = mid
        else:
            lo = mid
    return float(hi)


@dataclass(frozen=True)
class QuietHours:
    """Local wall-clock windows [start, end) with no calls; end <= start runs past midnight."""

    windows: tuple[tuple[time, time], ...]

    def covers_the_day(self) -> bool:
        spans: list[tuple[int, int]] = []
        for start, end in self.windows:
            s, e = _micros(start), _micros(end)
            if s < e:
                spans.append((s, e))
            else:
                spans += [(s, _MICROS_PER_DAY), (0, e)]
        reach = 0
        for s, e in sorted(spans):
            if s > reach:
                return False
            reach = max(reach, e)
        return reach >= _MICROS_PER_DAY

    def quiet_at(self, epoch: float, tz: str) -> bool:
        local = _wall(epoch, _zone(tz)).time()
        return any(_contains(w, local) for w in self.windows)

    def next_allowed(self, epoch: float, tz: str) -> float:
        """The earliest instant >= `epoch` outside every window, in `tz`'s wall-clock time."""
        if self.covers_the_day():
            raise CallbackError(
                "quiet-hours-cover-the-day",
                "the quiet hours cover the whole day, so no callback could ever be made;"
                " leave some hours free",
                windows=self.spec(),
            )
        zone = _zone(tz)
        t = epoch
        # Each step jumps to the end of a window; chained (adjacent or overlapping)
        # windows take one step each, a day the clocks skip a free hour takes two days.
        for _ in range(4 * len(self.windows) + 4):
            local = _wall(t, zone)
            window = next((w for w in self.windows if _contains(w, local.time())), None)
            if window is None:
                return t
            start, end = window
            day = local.date()
            if end <= start and local.time() >= start:
                day += timedelta(days=1)
            t = _first_instant_at(datetime.combine(day, end), zone, after=t)
        raise CallbackError(  # not reached: a day not covered has a free instant
            "quiet-hours-cover-the-day",
            f"no instant outside the quiet hours {self.spec()} near {epoch} in {tz}",
            windows=self.spec(),
        )

    def spec(self) -> str:
        """The windows as `parse_quiet_hours` reads them ("none" when there are none)."""
        if not self.windows:
            return "none"
        return ",".join(f"{_hh_mm(s)}-{_hh_mm(e)}" for s, e in self.windows)


def _hh_mm(t: time) -> str:
    return t.isoformat(timespec="seconds" if t.second else "minutes")


def _parse_time(text: str, part: str, *, end: bool) -> time:
    text = text.strip()
    if _WITH_OFFSET.fullmatch(text):
        raise CallbackError(
            "quiet-hours-invalid",
            f"quiet hours {part!r}: times are the customer's local HH:MM, without a UTC offset",
            part=part,
        )
    if end and text in ("24:00", "24:00:00"):
        return time(0)  # "until midnight"; an end at 00:00 runs to the end of the day
    if not _HH_MM.fullmatch(text):
        raise CallbackError(
            "quiet-hours-invalid", f"quiet hours {part!r}: times must be HH:MM", part=part
        )
    hour, minute, *second = (int(x) for x in text.split(":"))
    try:
        return time(hour, minute, second[0] if second else 0)
    except ValueError:
        raise CallbackError(
            "quiet-hours-invalid", f"quiet hours {part!r}: {text!r} is not a time of day", part=part
        ) from None


def parse_quiet_hours(spec: str) -> QuietHours:
    """`"12:00-14:00,21:00-09:00"` -> QuietHours; `"none"` for no quiet hours.

    An empty value is refused rather than read as "no quiet hours": calling
    customers in their rest hours has to be asked for explicitly.
    """
    if spec.strip().lower() == "none":
        return QuietHours(())
    windows: list[tuple[time, time]] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        start_s, sep, end_s = part.partition("-")
        if not sep:
            raise CallbackError(
                "quiet-hours-invalid", f"quiet hours {part!r}: expected HH:MM-HH:MM", part=part
            )
        start = _parse_time(start_s, part, end=False)
        end = _parse_time(end_s, part, end=True)
        if start == end:
            raise CallbackError(
                "quiet-hours-invalid",
                f"quiet hours {part!r}: the start and the end must differ",
                part=part,
            )
        windows.append((start, end))
    if not windows:
        raise CallbackError(
            "quiet-hours-invalid",
            f"quiet hours {spec!r}: no window given; write 'none' for no quiet hours",
            part=spec,
        )
    quiet = QuietHours(tuple(windows))
    if quiet.covers_the_day():
        raise CallbackError(
            "quiet-hours-cover-the-day",
            f"quiet hours {spec!r} cover the whole day, so no callback could ever be made",
            windows=quiet.spec(),
        )
    return quiet


DEFAULT_QUIET_HOURS = QuietHours(((time(12), time(14)), (time(21), time(9))))


# -- callbacks -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Callback:
    id: int | None = None
    number: str  # normalised (numbers.normalize_number)
    purpose: Purpose
    priority: int  # lower is dialled first
    due_at: float
    deadline: float | None = None
    status: Status = Status.PENDING
    attempts: int = 0  # tries made, answered or not
    max_attempts: int = 3
    retry_spacing: float = 1800.0
    timezone: str | None = None  # the customer's, when known
    case_id: int | None = None
    linkedid: str | None = None  # the call that asked for it
    requested_at: float  # the caller's turn
    notes: tuple[str, ...] = ()
    last_outcome: Outcome | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


DEFAULT_PRIORITIES: Mapping[Purpose, int] = {
    Purpose.COMPLAINT_REPLY: 0,
    Purpose.COMPLAINT_PROGRESS: 0,
    Purpose.PRESS_1: 1,
    Purpose.ABANDONED: 1,
    Purpose.AFTER_HOURS: 1,
    Purpose.FOLLOW_UP: 2,
}


@dataclass(frozen=True)
class SchedulerSettings:
    quiet_hours: QuietHours = DEFAULT_QUIET_HOURS
    timezone: str = "Asia/Shanghai"  # the center's; used when the customer's is unknown
    max_attempts: int = 3
    retry_spacing: float = 1800.0
    complaint_reply_hours: float = 48.0
    progress_call_before_hours: float = 6.0
    follow_up_days: float = 3.0
    # Purposes missing here take their DEFAULT_PRIORITIES value.
    priorities: Mapping[Purpose, int] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    do_not_call: DoNotCallList = field(default_factory=DoNotCallList)

    def __post_init__(self) -> None:
        _zone(self.timezone)
        problems = [
            f"{name} must be {rule}, got {value}"
            for name, value, ok, rule in (
                ("max_attempts", self.max_attempts, self.max_attempts >= 1, "at least 1"),
                ("retry_spacing", self.retry_spacing, self.retry_spacing >= 0, ">= 0"),
                (
                    "complaint_reply_hours",
                    self.complaint_reply_hours,
                    self.complaint_reply_hours > 0,
                    "> 0",
                ),
                (
                    "progress_call_before_hours",
                    self.progress_call_before_hours,
                    0 <= self.progress_call_before_hours < self.complaint_reply_hours,
                    "from 0 up to complaint_reply_hours",
                ),
                ("follow_up_days", self.follow_up_days, self.follow_up_days > 0, "> 0"),
            )
            if not ok
        ]
        if problems:
            raise CallbackError("scheduler-settings-invalid", "; ".join(problems))

    def priority_of(self, purpose: Purpose) -> int:
        return self.priorities.get(purpose, DEFAULT_PRIORITIES[purpose])


def _purpose(value: Purpose | str) -> Purpose:
    try:
        return Purpose(value)
    except ValueError:
        known = ", ".join(p.value for p in Purpose)
        raise CallbackError(
            "unknown-purpose", f"unknown callback purpose {value!r}; use {known}", purpose=value
        ) from None


def _same_number(stored: str, number: str) -> bool:
    try:
        return normalize_number(stored) == number
    except CallbackError:
        return False  # a stored number that is not one never matches a valid request


def _earlier(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _with_note(notes: tuple[str, ...], note: str) -> tuple[str, ...]:
    return notes if note in notes else (*notes, note)


def request(
    existing_open: Sequence[Callback],
    number: str,
    purpose: Purpose | str,
    now: float,
    settings: SchedulerSettings,
    *,
    timezone: str | None = None,
    case_id: int | None = None,
    linkedid: str | None = None,
    due_at: float | None = None,
    deadline: float | None = None,
) -> tuple[Callback, bool]:
    """The callback to store for a request, and whether it merged into an open one.

    `due_at` defaults to `now` and is moved out of quiet hours. Deadlines: a
    given one wins; else a complaint reply is due `complaint_reply_hours` after
    the case opened (`due_at` when given, else `now`), a follow-up
    `follow_up_days` after `now` (the resolution); other purposes have none.
    Raises CallbackError: invalid-number, do-not-call, unknown-purpose, timezone-unknown.
    """
    normalized = settings.do_not_call.check(number)
    kind = _purpose(purpose)
    tz = timezone if timezone is not None else settings.timezone
    _zone(tz)
    if deadline is None and kind is Purpose.COMPLAINT_REPLY:
        opened = due_at if due_at is not None else now
        deadline = opened + settings.complaint_reply_hours * HOUR
    elif deadline is None and kind is Purpose.FOLLOW_UP:
        deadline = now + settings.follow_up_days * DAY
    due = settings.quiet_hours.next_allowed(due_at if due_at is not None else now, tz)

    same = [
        cb
        for cb in existing_open
        if cb.is_open and cb.purpose is kind and _same_number(cb.number, normalized)
    ]
    if same:
        # Should there be more than one (there never is through this function), the
        # oldest is the one that keeps the caller's turn.
        first = min(same, key=lambda cb: (cb.requested_at, cb.id is None, cb.id or 0))
        note = f"{MERGED} at={now:.0f}"
        if linkedid is not None:
            note += f" linkedid={linkedid}"
        if case_id is not None:
            note += f" case={case_id}"
        merged_deadline = _earlier(first.deadline, deadline)
        merged_due = min(first.due_at, due)
        notes = (*first.notes, note)
        if merged_deadline is not None and merged_due > merged_deadline:
            notes = _with_note(notes, PAST_DEADLINE)
        return (
            replace(
                first,
                priority=min(first.priority, settings.priority_of(kind)),
                requested_at=min(first.requested_at, now),
                due_at=merged_due,
                deadline=merged_deadline,
                timezone=first.timezone if first.timezone is not None else timezone,
                case_id=first.case_id if first.case_id is not None else case_id,
                linkedid=first.linkedid if first.linkedid is not None else linkedid,
                notes=notes,
            ),
            True,
        )

    return (
        Callback(
            number=normalized,
            purpose=kind,
            priority=settings.priority_of(kind),
            due_at=due,
            deadline=deadline,
            max_attempts=settings.max_attempts,
            retry_spacing=settings.retry_spacing,
            timezone=timezone,
            case_id=case_id,
            linkedid=linkedid,
            requested_at=now,
            notes=(PAST_DEADLINE,) if deadline is not None and due > deadline else (),
        ),
        False,
    )


def _turn(cb: Callback) -> tuple[int, float, int, float, bool, int]:
    first = cb.purpose in COMPLAINT_PURPOSES and cb.deadline is not None
    return (
        0 if first else 1,
        cb.deadline if first and cb.deadline is not None else 0.0,
        cb.priority,
        cb.requested_at,
        cb.id is None,
        cb.id or 0,
    )


def next_due(
    callbacks: Sequence[Callback], now: float, settings: SchedulerSettings
) -> list[Callback]:
    """Pending callbacks that may be dialled at `now`, in the order to dial them.

    Complaint callbacks with a deadline come first, earliest deadline first;
    then by priority, then by when the customer asked (their turn), then id.
    One whose customer is in quiet hours at `now` waits, whatever its due time.
    """
    due = [
        cb
        for cb in callbacks
        if cb.status is Status.PENDING
        and cb.due_at <= now
        and not settings.quiet_hours.quiet_at(now, cb.timezone or settings.timezone)
    ]
    return sorted(due, key=_turn)


def after_attempt(
    cb: Callback, outcome: Outcome, now: float, settings: SchedulerSettings
) -> Callback:
    """The callback after a try ended with `outcome` at `now`.

    Answered: done. Otherwise retried `cb.retry_spacing` after `now`, moved out of
    quiet hours, until `cb.max_attempts` tries were made (then failed). A retry
    that lands after the deadline is still made, noted "past-deadline".
    """
    if not cb.is_open:
        raise CallbackError(
            "callback-closed",
            f"callback {cb.id} is {cb.status}; a try cannot be recorded on it",
            callback_id=cb.id,
            status=str(cb.status),
        )
    attempts = cb.attempts + 1
    if outcome is Outcome.ANSWERED:
        return replace(cb, status=Status.DONE, attempts=attempts, last_outcome=outcome)
    if attempts >= cb.max_attempts:
        return replace(cb, status=Status.FAILED, attempts=attempts, last_outcome=outcome)
    tz = cb.timezone or settings.timezone
    due = settings.quiet_hours.next_allowed(now + cb.retry_spacing, tz)
    notes = cb.notes
    if cb.deadline is not None and due > cb.deadline:
        notes = _with_note(notes, PAST_DEADLINE)
    return replace(
        cb,
        status=Status.PENDING,
        attempts=attempts,
        due_at=due,
        notes=notes,
        last_outcome=outcome,
    )


def progress_call_due(
    case_opened_at: float,
    reply_deadline: float | None,
    resolved: bool,
    now: float,
    settings: SchedulerSettings,
) -> bool:
    """Whether an unresolved complaint needs its progress call at `now`.

    Due `progress_call_before_hours` before the reply deadline (by default 48 h
    after opening) and from then on, the deadline passed included, until resolved.
    """
    if resolved:
        return False
    deadline = (
        reply_deadline
        if reply_deadline is not None
        else case_opened_at + settings.complaint_reply_hours * HOUR
    )
    return now >= max(case_opened_at, deadline - settings.progress_call_before_hours * HOUR)


# -- AMI outcomes --------------------------------------------------------------------------

# OriginateResponse `Reason`: the last control frame Asterisk saw on the new
# channel (enum ast_control_frame_type). `None`: the reason alone does not say;
# the hang-up cause decides, else the fallback after the table.
ORIGINATE_REASONS: Mapping[int, Outcome | None] = {
    0: None,  # the channel could not be created or dialled (fallback: failed)
    1: None,  # hung up before answering (fallback: no-answer)
    3: Outcome.NO_ANSWER,  # rang until the originate timeout
    4: Outcome.ANSWERED,
    5: Outcome.BUSY,
    8: Outcome.FAILED,  # congestion: the network, not the customer
}
_REASON_FALLBACK: Mapping[int, Outcome] = {1: Outcome.NO_ANSWER}

# Q.850 hang-up causes (Asterisk's HANGUPCAUSE / the Hangup event's Cause).
HANGUP_CAUSES: Mapping[int, Outcome] = {
    # 16 normal clearing without an answer reason: nobody took the call (some
    # carriers clear a ring timeout this way). An answered call is only ever
    # recorded from Reason 4, so a callback is never closed on a guess.
    16: Outcome.NO_ANSWER,
    17: Outcome.BUSY,  # user busy
    18: Outcome.NO_ANSWER,  # no user responding
    19: Outcome.NO_ANSWER,  # no answer (alerted)
    20: Outcome.NO_ANSWER,  # subscriber absent (phone off, out of coverage)
    # 21 call rejected: the customer declined the call. Busy, not failed: the
    # person is there but cannot talk now, so a later try makes sense.
    21: Outcome.BUSY,
    1: Outcome.FAILED,  # unallocated (invalid) number
    2: Outcome.FAILED,  # no route to the network
    3: Outcome.FAILED,  # no route to the destination
    22: Outcome.FAILED,  # number changed
    27: Outcome.FAILED,  # destination out of order
    28: Outcome.FAILED,  # invalid number format
    34: Outcome.FAILED,  # no circuit available (congestion)
    38: Outcome.FAILED,  # network out of order
    41: Outcome.FAILED,  # temporary failure
    42: Outcome.FAILED,  # switching equipment congestion
}


def _code(value: str | int | None) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = value.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def outcome_from_originate(reason: str | int | None, hangup_cause: int | None) -> Outcome:
    """The outcome of a try from OriginateResponse's `Reason` and the Q.850 hang-up cause.

    A reason that says it (3 no answer, 4 answered, 5 busy, 8 congestion) wins;
    otherwise (0, 1, unknown, missing) the cause decides via HANGUP_CAUSES;
    with neither, 1 means no answer and anything else failed. Never raises: the
    values come off the wire.
    """
    code = _code(reason)
    by_reason = ORIGINATE_REASONS.get(code) if code is not None else None
    if by_reason is not None:
        return by_reason
    by_cause = HANGUP_CAUSES.get(hangup_cause) if hangup_cause is not None else None
    if by_cause is not None:
        return by_cause
    return _REASON_FALLBACK.get(code, Outcome.FAILED) if code is not None else Outcome.FAILED
