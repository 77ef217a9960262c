"""Time as the features see it: an injected clock, and epoch seconds <-> UTC datetimes.

Decisions take the time as an argument and services take a `Clock`, so tests
move a fake clock instead of sleeping; the database stores timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import overload

# Seconds since the epoch: `time.time` in production, a fake in tests.
Clock = Callable[[], float]


@overload
def to_datetime(epoch: float) -> datetime: ...
@overload
def to_datetime(epoch: float | None) -> datetime | None: ...
def to_datetime(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


@overload
def to_epoch(value: datetime) -> float: ...
@overload
def to_epoch(value: datetime | None) -> float | None: ...
def to_epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()
