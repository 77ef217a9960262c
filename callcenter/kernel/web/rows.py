"""Which rows each role reads and writes: the row-level half of the access table.

The route table (`access.py`) says who may call a route at all; this table says
which rows a caller who got past it sees or changes, per resource. A route
names its resource when it is registered (`access.route(..., rows="calls")`),
so the route table, this table and the OpenAPI description (`x-rows`) agree;
registering a route whose roles contradict its row rule fails at start.

Scopes: `all` every row; `own` the reader's own rows (an agent: its own agent,
the calls it handled, the cases it owns; an inspector: its own evaluations);
`assigned` an inspector's calls, sampled and assigned to it; `none` the route
policy refuses the role. Supervisors and admins read every row. A row the
reader may not see is answered as `refused` says, with no part of the row: a
404 for what may not be known to exist, a 403 for what the reader was sent to
(a recording it was not assigned), a listing without it.

| resource    | agent                       | qa                | a row refused        |
|-------------|-----------------------------|-------------------|----------------------|
| calls       | own: calls it handled       | assigned, masked  | 404 call-not-found   |
| compliance  | none                        | assigned          | 404 compliance-not-found |
| transcripts | none                        | assigned (masked) | 403 not-assigned, audited |
| recordings  | none                        | assigned          | 403 not-assigned, audited |
| qa-samples  | none                        | assigned (masked) | 403 not-assigned, audited |
| evaluations | none                        | own evaluations   | 403 not-assigned     |
| agent       | own agent (acts as itself)  | none              | 403 not-own-agent    |
| agent-views | own agent (script, states)  | all               | 403 not-own-agent    |
| panel       | own agent's panel           | none              | 403 not-own-agent    |
| pops        | own: calls offered, handled | none              | 404 pop-not-found    |
| contacts    | own: numbers of its calls   | none              | 404 contact-not-found |
| cases       | own: cases it owns          | none              | left out of the list |
| callbacks   | own: its cases', its calls' | none              | left out; see below  |

Supervisors and admins: `all` everywhere. A callback request an agent makes
that merges into a callback it may not list is kept, and answered without
that callback's id, status, call or case.

`ROWS` below is that table as the code reads it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from callcenter.kernel.roles import MANAGERS, Principal, Role


class Scope(enum.StrEnum):
    ALL = "all"
    OWN = "own"
    ASSIGNED = "assigned"
    NONE = "none"


@dataclass(frozen=True)
class Refusal:
    """How a row the reader may not see is answered (`status` None: left out of a list)."""

    status: int | None
    error_id: str | None
    audited: bool = False


@dataclass(frozen=True)
class RowRule:
    resource: str
    agent: Scope
    qa: Scope
    refused: Refusal
    masked_for: frozenset[Role] = frozenset()
    means: str = ""  # what `own` / `assigned` means here, for the OpenAPI description

    def scope(self, role: Role) -> Scope:
        if role in MANAGERS:
            return Scope.ALL
        return self.agent if role is Role.AGENT else self.qa

    def admits(self, role: Role) -> bool:
        return self.scope(role) is not Scope.NONE

    def to_json(self) -> dict[str, object]:
        return {
            "resource": self.resource,
            "scopes": {role.value: self.scope(role).value for role in Role},
            "masked_for": sorted(r.value for r in self.masked_for),
            "refused": {
                "status": self.refused.status,
                "error_id": self.refused.error_id,
                "audited": self.refused.audited,
            },
            "means": self.means,
        }


_LEFT_OUT = Refusal(None, None)
_A, _Q, _N, _O = Scope.ALL, Scope.ASSIGNED, Scope.NONE, Scope.OWN
_QA = frozenset({Role.QA})

# fmt: off
ROWS: Final[Mapping[str, RowRule]] = {r.resource: r for r in (
    #       resource       agent qa  refused
    RowRule("calls",       _O,  _Q, Refusal(404, "call-not-found"), masked_for=_QA,
            means="agent: calls it was connected to or wrapped up; qa: sampled and assigned"),
    RowRule("compliance",  _N,  _Q, Refusal(404, "compliance-not-found"),
            means="qa: calls sampled and assigned to the inspector"),
    RowRule("transcripts", _N,  _Q, Refusal(403, "not-assigned", audited=True),
            masked_for=frozenset(Role), means="qa: calls sampled and assigned"),
    RowRule("recordings",  _N,  _Q, Refusal(403, "not-assigned", audited=True),
            means="qa: recordings of calls sampled and assigned"),
    RowRule("qa-samples",  _N,  _Q, Refusal(403, "not-assigned", audited=True),
            masked_for=frozenset(Role), means="qa: samples assigned to the inspector"),
    RowRule("evaluations", _N,  _O, Refusal(403, "not-assigned"),
            means="qa: the inspector's own evaluations"),
    RowRule("agent",       _O,  _N, Refusal(403, "not-own-agent"),
            means="agent: acts only as its own agent"),
    RowRule("agent-views", _O,  _A, Refusal(403, "not-own-agent"),
            means="agent: its own script and state log"),
    RowRule("panel",       _O,  _N, Refusal(403, "not-own-agent"),
            means="agent: its own panel; managers any agent's (?agent=)"),
    RowRule("pops",        _O,  _N, Refusal(404, "pop-not-found"),
            means="agent: calls offered to it or that it handled"),
    RowRule("contacts",    _O,  _N, Refusal(404, "contact-not-found"),
            means="agent: numbers of calls it handled, and of its current call"),
    RowRule("cases",       _O,  _N, _LEFT_OUT,
            means="agent: the cases it owns (首問負責制)"),
    RowRule("callbacks",   _O,  _N, _LEFT_OUT,
            means="agent: callbacks of cases it owns and calls it took; a request merged"
            " into another's callback is answered without that row"),
)}
# fmt: on


def rule(resource: str) -> RowRule:
    """The rule of a resource; a name not in the table is a programming error."""
    try:
        return ROWS[resource]
    except KeyError:
        raise ValueError(f"no row rule for {resource!r}: add it to ROWS") from None


def scope(resource: str, who: Principal) -> Scope:
    return rule(resource).scope(who.role)


def masked(resource: str, who: Principal) -> bool:
    return who.role in rule(resource).masked_for


def check_route(resource: str, roles: frozenset[Role] | None, where: str) -> None:
    """A route's roles must be exactly the roles its row rule admits (admins aside)."""
    found = rule(resource)
    admitted = {r for r in Role if r is not Role.ADMIN and found.admits(r)}
    granted = set(Role) if roles is None else set(roles) - {Role.ADMIN}
    if admitted != granted:
        raise ValueError(
            f"{where}: its roles {sorted(r.value for r in granted)} contradict the row rule"
            f" {resource!r}, which admits {sorted(r.value for r in admitted)}"
        )
