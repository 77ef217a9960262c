"""Rings from seconds: the unit the service rules speak in (SERVICE_RULES section 1)."""

from __future__ import annotations

import math


def count_rings(seconds: float, cadence: float) -> int:
    """The ring the caller was hearing when the call was answered.

    Ring 1 starts on arrival; an answer at exactly 15 s with a 5 s cadence is
    still within the third ring, at 15.001 s the fourth has begun.
    """
    if cadence <= 0:
        raise ValueError("ring cadence must be positive")
    if seconds <= 0:
        return 1
    # Asterisk timestamps carry microseconds; round away float noise first.
    return max(1, math.ceil(round(seconds / cadence, 6)))


def within_budget(seconds: float, cadence: float, budget_rings: int) -> bool:
    return count_rings(seconds, cadence) <= budget_rings
