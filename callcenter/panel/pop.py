"""The screen pop: what an agent sees when a call rings their softphone.

Pure. SERVICE_RULES section 3: a repeat caller is greeted by name and the
agent sees the history first (針對再次撥打的客戶,首先要稱呼客戶的姓名). The pop
holds the caller's number and name, their earlier calls (most recent first,
with the wrap-ups' categories and notes) and their open cases (owner,
deadline), and says how to greet them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from callcenter.callbacks.numbers import is_dialable

MAX_HISTORY = 20


@dataclass(frozen=True)
class Contact:
    number: str
    name: str | None = None
    notes: str = ""
    member: bool = False
    name_source: str | None = None  # "caller-id" or "agent"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HistoryItem:
    """An earlier call with this number, and its wrap-up when one was filed."""

    linkedid: str
    at: float
    direction: str
    outcome: str
    agent: str | None
    category: str | None = None
    subcategory: str | None = None
    notes: str | None = None
    resolved: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OpenCase:
    id: int
    kind: str
    owner: str
    status: str
    opened_at: float
    reply_due_at: float | None
    summary: str

    def to_json(self, now: float) -> dict[str, Any]:
        data = asdict(self)
        data["overdue"] = self.reply_due_at is not None and self.reply_due_at < now
        return data


@dataclass(frozen=True)
class ScreenPop:
    linkedid: str
    staff_no: str
    number: str | None
    caller_id_name: str | None
    queue: str | None
    at: float
    contact: Contact | None
    history: tuple[HistoryItem, ...]
    cases: tuple[OpenCase, ...]

    @property
    def name(self) -> str | None:
        """The contact's name (an agent's correction wins), else the caller ID's."""
        if self.contact is not None and self.contact.name:
            return self.contact.name
        return self.caller_id_name

    @property
    def repeat(self) -> bool:
        return bool(self.history)

    @property
    def dialable(self) -> bool:
        """Whether the caller ID is a number to call back (anonymous, withheld or a trunk's
        text is shown as it came, with no contact, history or callback)."""
        return is_dialable(self.number)

    @property
    def greeting(self) -> str | None:
        """How to address a caller whose name is known (SERVICE_RULES section 3)."""
        if not self.name:
            return None
        if self.repeat:
            return f"{self.name},您好!歡迎再次來電。"
        return f"{self.name},您好!"

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            "linkedid": self.linkedid,
            "staff_no": self.staff_no,
            "number": self.number,
            "dialable": self.dialable,
            "name": self.name,
            "caller_id_name": self.caller_id_name,
            "queue": self.queue,
            "at": self.at,
            "repeat": self.repeat,
            "greeting": self.greeting,
            "contact": self.contact.to_json() if self.contact is not None else None,
            "history": [h.to_json() for h in self.history],
            "cases": [c.to_json(now) for c in self.cases],
        }


def build_pop(
    *,
    linkedid: str,
    staff_no: str,
    number: str | None,
    caller_id_name: str | None,
    queue: str | None,
    at: float,
    contact: Contact | None,
    history: Iterable[HistoryItem],
    cases: Iterable[OpenCase],
    max_history: int = MAX_HISTORY,
) -> ScreenPop:
    """The pop for one offer: the current call left out of the history, most recent first;
    cases by deadline, the most urgent first."""
    earlier = sorted(
        (h for h in history if h.linkedid != linkedid), key=lambda h: h.at, reverse=True
    )
    urgent = sorted(
        cases, key=lambda c: (c.reply_due_at is None, c.reply_due_at or 0.0, c.opened_at)
    )
    return ScreenPop(
        linkedid=linkedid,
        staff_no=staff_no,
        number=number,
        caller_id_name=clean_caller_id_name(caller_id_name),
        queue=queue,
        at=at,
        contact=contact,
        history=tuple(earlier[:max_history]),
        cases=tuple(urgent),
    )


def clean_caller_id_name(raw: str | None) -> str | None:
    """Asterisk's placeholders and a name that is just the number are no name."""
    if raw is None:
        return None
    name = raw.strip().strip('"').strip()
    if not name or name.lower() in {"<unknown>", "unknown", "anonymous"} or name.isdigit():
        return None
    return name
