"""User accounts as the rest of the code sees them, and their validation. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from callcenter.kernel.errors import DomainError
from callcenter.kernel.roles import Principal, Role

USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
STAFF_NO = re.compile(r"[0-9A-Za-z_-]{1,32}")  # as callcenter.agents.http accepts it
MAX_DISPLAY_NAME = 200


class AccountError(DomainError, ValueError):
    """An account operation refused; `error_id` is stable, the message says what to fix."""

    not_found_ids = frozenset({"user-not-found"})
    conflict_ids = frozenset({"username-taken", "staff-no-taken", "last-admin"})


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    staff_no: str | None
    password_hash: str
    disabled: bool
    created_at: float
    password_changed_at: float

    def principal(self, via: str = "session") -> Principal:
        return Principal(
            username=self.username,
            role=self.role,
            staff_no=self.staff_no,
            display_name=self.display_name,
            user_id=self.id,
            via=via,
        )

    def to_json(self) -> dict[str, Any]:
        """Everything but the password hash."""
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role.value,
            "staff_no": self.staff_no,
            "disabled": self.disabled,
            "created_at": self.created_at,
            "password_changed_at": self.password_changed_at,
        }


def normalise_username(raw: object) -> str:
    """Usernames compare case-insensitively: stored lower-case."""
    if not isinstance(raw, str) or not raw.strip():
        raise AccountError("bad-username", "a username is required")
    name = raw.strip().lower()
    if not USERNAME.fullmatch(name):
        raise AccountError(
            "bad-username",
            "a username has 1-64 characters: letters, digits and . _ @ -, starting with a"
            " letter or digit",
            username=raw,
        )
    return name


def parse_role(raw: object) -> Role:
    try:
        return Role(str(raw))
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise AccountError("unknown-role", f"role must be one of {known}", role=raw) from None


def check_staff_no(role: Role, staff_no: object) -> str | None:
    """An agent account must name its agent; others may (a team lead who also takes calls)."""
    if staff_no is None or staff_no == "":
        if role is Role.AGENT:
            raise AccountError(
                "staff-no-required", "an agent account needs the staff number of its agent"
            )
        return None
    if not isinstance(staff_no, str) or not STAFF_NO.fullmatch(staff_no.strip()):
        raise AccountError(
            "bad-staff-no", "staff_no has 1-32 letters, digits, _ or -", staff_no=staff_no
        )
    return staff_no.strip()


def check_display_name(raw: object, username: str) -> str:
    if raw is None or raw == "":
        return username
    if not isinstance(raw, str) or len(raw.strip()) > MAX_DISPLAY_NAME or not raw.strip():
        raise AccountError(
            "bad-display-name", f"display_name must be text of at most {MAX_DISPLAY_NAME} chars"
        )
    return raw.strip()
