"""Roles and the principal a request acts as (pure: no I/O).

Four roles, least privilege first. An admin may do everything; every other
role is granted per route in one table (`callcenter.kernel.web.access`), so the
access-control test can walk it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Role(enum.StrEnum):
    AGENT = "agent"
    QA = "qa"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


# Common grants, named so route tables read as policy rather than lists.
EVERYONE = frozenset(Role)
STAFF = frozenset({Role.QA, Role.SUPERVISOR, Role.ADMIN})  # not agents
MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a logged-in user, or the service token (admin)."""

    username: str
    role: Role
    staff_no: str | None = None  # the agent this account is (agents only)
    display_name: str = ""
    user_id: int | None = None  # None for the service token
    via: str = "session"  # "session" (browser cookie) or "token" (Authorization: Bearer)

    def may(self, roles: Iterable[Role]) -> bool:
        return self.role is Role.ADMIN or self.role in frozenset(roles)

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGERS

    def to_json(self) -> dict[str, object]:
        return {
            "username": self.username,
            "role": self.role.value,
            "staff_no": self.staff_no,
            "display_name": self.display_name,
        }
