"""Quiet hours: the customer's rest hours, when no callback may ring.

Windows are local wall-clock times in the customer's zone when known, else the
center's, so they follow daylight saving: a night the clocks skip an hour is an
hour shorter in real time. Pure: instants are epoch seconds passed in.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.callbacks.numbers import CallbackError

_MICROS_PER_DAY = 86_400_000_000
_HH_MM = re.compile(r"\d{1,2}:\d{2}(:\d{2})?")
_WITH_OFFSET = re.compile(r"\d{1,2}:\d{2}(:\d{2})?\s*(Z|[+-]\d{1,2}(:?\d{2})?)", re.IGNORECASE)


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or CallbackError `timezone-unknown` (a setting or a request)."""
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
        local = _wall(epoch, time_zone(tz)).time()
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
        zone = time_zone(tz)
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
