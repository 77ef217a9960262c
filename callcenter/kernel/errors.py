"""Domain errors: a stable kebab-case `error_id`, a message for people, `details` to act on.

A `DomainError` says what sort of refusal it is in the domain's words (its
`kind`), never how a protocol answers it: the web kernel maps kinds to HTTP
statuses in one table (`callcenter.kernel.web.errors`), the CLI prints the
id and the message. A family declares which of its ids are "not found" or
"conflict" once, so raising code stays `raise AgentError("unknown-agent", ...)`.
"""

from __future__ import annotations

import enum
from typing import ClassVar


class Kind(enum.StrEnum):
    INVALID = "invalid"  # the request itself is wrong: fix it and ask again
    UNAUTHENTICATED = "unauthenticated"  # who is asking is not known (or not who they say)
    FORBIDDEN = "forbidden"  # known, but not allowed to
    NOT_FOUND = "not-found"
    CONFLICT = "conflict"  # a valid request that the current state refuses
    GONE = "gone"  # it existed and was removed for good
    THROTTLED = "throttled"  # too many tries: wait
    UPSTREAM_FAILED = "upstream-failed"  # a system we depend on (Asterisk) refused
    UNAVAILABLE = "unavailable"  # a system we depend on is down: try again later


class DomainError(Exception):
    """A refusal with a stable `error_id`; `details` says what to fix (JSON values)."""

    not_found_ids: ClassVar[frozenset[str]] = frozenset()
    conflict_ids: ClassVar[frozenset[str]] = frozenset()
    default_kind: ClassVar[Kind] = Kind.INVALID

    def __init__(self, error_id: str, message: str, /, **details: object) -> None:
        super().__init__(message)
        self.error_id = error_id
        self.message = message
        self.details: dict[str, object] = details
        self.kind: Kind = self.kind_of(error_id)

    @classmethod
    def kind_of(cls, error_id: str) -> Kind:
        if error_id in cls.not_found_ids:
            return Kind.NOT_FOUND
        if error_id in cls.conflict_ids:
            return Kind.CONFLICT
        return cls.default_kind
