"""Callback requests: when to call a customer back, in what order, and what a try changed.

Pure: every function takes the instant it decides at (`now`, epoch seconds) and
returns new frozen values; the service stores them and dials. The rules:

- never call in the customer's quiet hours (see `quiet_hours`);
- one open callback per number and purpose: a second request merges into the
  first, keeping the earlier turn, due time and deadline;
- complaint replies are due within 48 h of opening, follow-ups (回訪) within
  3 days of the resolution; complaint callbacks with a deadline go first;
- a try that is not answered is retried `retry_spacing` later (out of quiet
  hours) until `max_attempts` tries were made.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from callcenter.callbacks.numbers import CallbackError, DoNotCallList, normalize_number
from callcenter.callbacks.outcomes import Outcome
from callcenter.callbacks.quiet_hours import DEFAULT_QUIET_HOURS, QuietHours, time_zone

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


MERGED = "merged-duplicate"
PAST_DEADLINE = "past-deadline"


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


def callback_json(cb: Callback) -> dict[str, Any]:
    """A callback as the API and the agent panel show it."""
    return {
        "id": cb.id,
        "number": cb.number,
        "purpose": cb.purpose.value,
        "priority": cb.priority,
        "due_at": cb.due_at,
        "deadline": cb.deadline,
        "status": cb.status.value,
        "attempts": cb.attempts,
        "max_attempts": cb.max_attempts,
        "requested_at": cb.requested_at,
        "case_id": cb.case_id,
        "linkedid": cb.linkedid,
        "last_outcome": cb.last_outcome.value if cb.last_outcome else None,
        "notes": list(cb.notes),
    }


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
        time_zone(self.timezone)
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
    time_zone(tz)
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
