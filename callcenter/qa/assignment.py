"""Who inspects which sample: round-robin over the inspectors, balanced by load.

Pure. Each sample goes to the inspector with the fewest open assignments;
among equals, the one who received a sample least recently in this round
(then by name), so equal inspectors take turns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from callcenter.kernel.errors import DomainError, Kind


class AssignmentError(DomainError, ValueError):
    default_kind = Kind.CONFLICT  # the inspectors at hand cannot take the samples


def assign_balanced(
    samples: Sequence[int], inspectors: Sequence[str], load: Mapping[str, int]
) -> dict[int, str]:
    """sample id -> inspector, for every sample, in the given order."""
    if not samples:
        return {}
    pool = sorted(set(inspectors))
    if not pool:
        raise AssignmentError(
            "no-inspectors",
            "there is no QA inspector to assign samples to: add users with the qa role"
            " (or list them in CALLCENTER_QA_INSPECTORS)",
        )
    open_load = {name: load.get(name, 0) for name in pool}
    last_turn = dict.fromkeys(pool, -1)
    result: dict[int, str] = {}
    for turn, sample in enumerate(samples):
        chosen = min(pool, key=lambda name: (open_load[name], last_turn[name], name))
        result[sample] = chosen
        open_load[chosen] += 1
        last_turn[chosen] = turn
    return result
