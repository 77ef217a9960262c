"""Opening hours as shifts: is the center open at a given instant?

Pure. Shifts are local times in the center's time zone; a shift whose end is
before its start runs past midnight (e.g. a night shift 22:00-06:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from callcenter.kernel.errors import DomainError

ALL_DAYS = frozenset(range(7))  # Monday = 0


class HoursError(DomainError, ValueError):
    def __init__(self, message: str) -> None:
        super().__init__("hours-invalid", message)


@dataclass(frozen=True)
class Shift:
    name: str
    start: time
    end: time
    days: frozenset[int] = ALL_DAYS

    def covers(self, local: datetime) -> bool:
        now = local.time()
        if self.start <= self.end:
            return local.weekday() in self.days and self.start <= now < self.end
        # Past midnight: the part after midnight belongs to the previous day's shift.
        if now >= self.start:
            return local.weekday() in self.days
        return now < self.end and (local.weekday() - 1) % 7 in self.days


@dataclass(frozen=True)
class OpeningHours:
    shifts: tuple[Shift, ...]
    timezone: str = "UTC"

    def open_at(self, epoch: float) -> bool:
        if not self.shifts:
            return True  # no hours configured: always open (24/7 centers)
        local = datetime.fromtimestamp(epoch, tz=UTC).astimezone(ZoneInfo(self.timezone))
        return any(s.covers(local) for s in self.shifts)

    def in_shift(self, name: str | None, epoch: float) -> bool:
        """Whether shift `name` covers `epoch`; an agent with no or an unknown shift always is."""
        if name is None:
            return True
        shift = next((s for s in self.shifts if s.name == name), None)
        if shift is None:
            return True
        local = datetime.fromtimestamp(epoch, tz=UTC).astimezone(ZoneInfo(self.timezone))
        return shift.covers(local)

    def shift_at(self, epoch: float) -> str | None:
        local = datetime.fromtimestamp(epoch, tz=UTC).astimezone(ZoneInfo(self.timezone))
        for shift in self.shifts:
            if shift.covers(local):
                return shift.name
        return None


def parse_shifts(spec: str) -> tuple[Shift, ...]:
    """`A=09:00-17:00,B=12:00-20:00,C=20:00-22:00@mon-fri` -> shifts (empty: always open)."""
    shifts: list[Shift] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, rest = part.partition("=")
        if not sep or not name:
            raise HoursError(f"shift {part!r}: expected NAME=HH:MM-HH:MM[@days]")
        span, _, days_spec = rest.partition("@")
        start_s, sep, end_s = span.partition("-")
        try:
            start, end = time.fromisoformat(start_s.strip()), time.fromisoformat(end_s.strip())
        except ValueError:
            raise HoursError(f"shift {part!r}: times must be HH:MM") from None
        if start.tzinfo is not None or end.tzinfo is not None:
            raise HoursError(f"shift {part!r}: times are local HH:MM, without a UTC offset")
        if not sep or start == end:
            raise HoursError(f"shift {part!r}: expected a start and a different end")
        shifts.append(Shift(name.strip(), start, end, _days(days_spec, part)))
    return tuple(shifts)


_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _days(spec: str, part: str) -> frozenset[int]:
    if not spec:
        return ALL_DAYS
    days: set[int] = set()
    for item in spec.lower().split("+"):
        first, _, last = item.partition("-")
        try:
            a = _DAY_NAMES.index(first)
            b = _DAY_NAMES.index(last) if last else a
        except ValueError:
            raise HoursError(f"shift {part!r}: days are mon..sun, e.g. @mon-fri+sun") from None
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(days)
