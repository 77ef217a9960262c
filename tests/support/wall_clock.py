"""Instants for the callbacks' pure tests, built from local wall-clock times with zoneinfo.

So no test reads the clock, and the expected instants are written out the same
way as the inputs, independently of the code under test.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SH = "Asia/Shanghai"
LONDON = "Europe/London"
BERLIN = "Europe/Berlin"
HOUR = 3600.0
MINUTE = 60.0
MON = "2024-01-15"
TUE = "2024-01-16"


def at(day: str, hh_mm: str, tz: str = SH) -> float:
    """The epoch of a local wall-clock time: `at("2024-01-15", "21:00", "Asia/Shanghai")`."""
    y, m, d = (int(x) for x in day.split("-"))
    hour, minute, second = (int(x) for x in (hh_mm + ":00")[:8].split(":"))
    return datetime(y, m, d, hour, minute, second, tzinfo=ZoneInfo(tz)).timestamp()


def utc(day: str, hh_mm: str) -> float:
    return at(day, hh_mm, "UTC")
