"""QA domain errors: a stable `error_id`, the kind of refusal, details saying what to fix."""

from __future__ import annotations

from callcenter.kernel.errors import DomainError, Kind


class QaError(DomainError):
    """QA names the kind at each raise: one id (a wrapped pure error's) can mean either."""

    def __init__(self, kind: Kind, error_id: str, message: str, /, **details: object) -> None:
        super().__init__(error_id, message, **details)
        self.kind = kind
