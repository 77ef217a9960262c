"""What the features set up after asr decide about transcripts, handed in by their setups.

asr knows nothing of QA: QA's setup tells it which calls are sampled (they
are transcribed first, and they are the only ones unless every call is asked
for) and adds the rule on who may read which call's transcript (inspectors:
only the calls assigned to them, as for the recordings).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeAlias

import sqlalchemy as sa

from callcenter.kernel.errors import DomainError, Kind
from callcenter.kernel.listeners import Listeners
from callcenter.kernel.roles import Principal, Role

# The sampled calls' linkedids: a query of one column, joined into the backlog's query.
SampledCalls: TypeAlias = "sa.Select[tuple[str]]"

# Raises a DomainError (the refusal, in its owner's words) when this principal may not
# read this call's transcript.
ReadCheck: TypeAlias = Callable[[Principal, str], Awaitable[None]]


class ReadRefused(DomainError):
    default_kind = Kind.FORBIDDEN


@dataclass
class TranscriptPolicy:
    sampled: SampledCalls | None = None  # None: no call is sampled
    _read_checks: Listeners[ReadCheck] = field(default_factory=Listeners)

    def add_read_check(self, check: ReadCheck) -> Callable[[], None]:
        """Apply `check` to every transcript read; returns its removal."""
        return self._read_checks.add(check)

    async def check_reader(self, who: Principal, linkedid: str) -> None:
        if who.role is Role.QA and not self._read_checks:
            # Fail closed: inspectors read only what QA's rule allows, and none is set up.
            raise ReadRefused(
                "not-assigned",
                "inspectors may only read calls sampled and assigned to them",
                linkedid=linkedid,
            )
        for check in self._read_checks:
            await check(who, linkedid)
