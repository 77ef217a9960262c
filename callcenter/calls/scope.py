"""Which calls a reader may see: the call log's row rule, for calls and the features on it.

The scopes are the row table's (`callcenter.kernel.web.rows`): managers every
call; an agent the calls it handled (the agents feature's `handled_by`, set on
the repository); an inspector only the calls QA sampled and assigned to it,
masked. calls knows nothing of QA: QA's setup hands in who is assigned what and
how a record is masked (`set_review`), as it does for the transcripts; until
then an inspector sees no call (fail closed). Features set up after calls
(compliance, panel) ask here with their own resource's rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from callcenter.calls.store import CallFilter as CallFilter  # for the features that join calls
from callcenter.calls.store import CallRepository
from callcenter.kernel.roles import Principal
from callcenter.kernel.web import rows
from callcenter.kernel.web.rows import Scope

CALLS = "calls"

# The calls assigned to this inspector, as a condition on a call's linkedid.
AssignedTo = Callable[[sa.ColumnElement[str], Principal], sa.ColumnElement[bool]]
# A call record's JSON as a masked reader may see it.
Mask = Callable[[Mapping[str, Any]], dict[str, Any]]
# What is left of a record when no mask is set up: no number, no name, no notes.
_UNMASKABLE = ("caller_number", "caller_name", "dialled_number", "notes")


@dataclass(frozen=True)
class Review:
    """QA's half of the rule: which calls are an inspector's, and how they are shown."""

    assigned_to: AssignedTo
    mask: Mask


def _no_call(linkedid: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    return sa.false()


class CallScope:
    def __init__(self, repository: CallRepository) -> None:
        self._repository = repository
        self._review: Review | None = None

    def set_review(self, review: Review) -> Callable[[], None]:
        """Install QA's rule; returns its removal for the owner's teardown."""
        self._review = review

        def unset() -> None:
            if self._review is review:
                self._review = None

        return unset

    def where(self, who: Principal, resource: str = CALLS) -> CallFilter | None:
        """The calls `who` may see under `resource`'s rule (None: every call)."""
        scope = rows.scope(resource, who)
        if scope is Scope.ALL:
            return None
        if scope is Scope.OWN:
            staff_no = who.staff_no or ""  # an agent account without an agent owns nothing
            repository = self._repository
            return lambda linkedid: repository.handled_condition(linkedid, staff_no)
        review = self._review
        if scope is Scope.ASSIGNED and review is not None:
            return lambda linkedid: review.assigned_to(linkedid, who)
        return _no_call

    async def may_read(self, who: Principal, linkedid: str, resource: str = CALLS) -> bool:
        """Whether the call exists for `who` (False for another's call, as for none)."""
        where = self.where(who, resource)
        if where is None:
            return True
        return linkedid in await self._repository.visible([linkedid], where)

    def present(self, who: Principal, record: Mapping[str, Any]) -> dict[str, Any]:
        """A record's JSON as `who` may see it: masked where the rule says so."""
        if not rows.masked(CALLS, who):
            return dict(record)
        if self._review is None:  # fail closed: nothing personal without the mask
            return {k: (None if k in _UNMASKABLE else v) for k, v in record.items()}
        return self._review.mask(record)
