"""QA domain errors: a stable `error_id`, an HTTP-ish status, details saying what to fix."""

from __future__ import annotations


class QaError(Exception):
    def __init__(self, status: int, error_id: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.details = details
