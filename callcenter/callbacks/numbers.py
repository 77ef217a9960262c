"""Customer numbers for outbound callbacks: one spelling per number, and the do-not-call list.

Pure. A number typed by an agent, passed by the dialplan or read from a list
is normalised before it is compared, stored or dialled, so "138 0013-8000"
and "(138)00138000" are one customer and one open callback.

`CallbackError` lives here, the bottom of the feature's pure modules, because
`quiet_hours` and `requests` both raise it and this module imports neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from callcenter.kernel.errors import DomainError

MIN_DIGITS = 3  # short internal extensions (2001) are callable in tests and labs
MAX_DIGITS = 20  # ITU-T E.164 allows 15; the slack covers trunk and carrier prefixes

# Written between digit groups by people and forms (besides whitespace); never part of the number.
_SEPARATORS = frozenset("-.()")


class CallbackError(DomainError, ValueError):
    """A callback request or setting that cannot be used; `error_id` is stable for the API."""

    not_found_ids = frozenset({"callback-not-found"})
    conflict_ids = frozenset({"callback-not-pending", "callback-closed", "callback-conflict"})


def normalize_number(raw: str) -> str:
    """`" +86 (138) 0013-8000 "` -> `"+8613800138000"`; CallbackError "invalid-number" else.

    Only ASCII digits count: a dial string is ASCII, and a full-width or other
    script's digit is refused with the input named rather than guessed at.
    """
    stripped = "".join(ch for ch in raw if not ch.isspace() and ch not in _SEPARATORS)
    plus, digits = ("+", stripped[1:]) if stripped.startswith("+") else ("", stripped)
    if not digits:
        raise CallbackError("invalid-number", f"invalid number {raw!r}: no digits", number=raw)
    bad = sorted({ch for ch in digits if ch not in "0123456789"})
    if bad:
        shown = "".join(bad)
        raise CallbackError(
            "invalid-number",
            f"invalid number {raw!r}: only digits, a leading + and the separators"
            f" space - . ( ) are allowed, found {shown!r}",
            number=raw,
        )
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise CallbackError(
            "invalid-number",
            f"invalid number {raw!r}: {len(digits)} digits, expected {MIN_DIGITS} to {MAX_DIGITS}",
            number=raw,
        )
    return plus + digits


def is_dialable(raw: str | None) -> bool:
    """Whether a caller ID is a number to call. Anonymous, withheld, restricted, a
    trunk's text caller ID and an empty one are not: they are kept and shown as they
    came, and only dialling (callbacks, click-to-call) refuses them."""
    if not raw:
        return False
    try:
        normalize_number(raw)
    except CallbackError:
        return False
    return True


@dataclass(frozen=True, init=False)
class DoNotCallList:
    """Numbers the center must not call, kept normalised.

    Numbers match after normalisation only: "+8613800138000" and "13800138000"
    are different entries (telling them apart needs the numbering plan).
    """

    numbers: frozenset[str]

    def __init__(self, numbers: Iterable[str] = ()) -> None:
        object.__setattr__(self, "numbers", frozenset(normalize_number(n) for n in numbers))

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, str):
            return False
        try:
            return normalize_number(number) in self.numbers
        except CallbackError:
            return False

    def check(self, number: str) -> str:
        """The normalised number; CallbackError "do-not-call" when it is on the list."""
        normalized = normalize_number(number)
        if normalized in self.numbers:
            raise CallbackError(
                "do-not-call",
                f"number {number!r} is on the do-not-call list; it will not be called",
                number=normalized,
            )
        return normalized


def parse_do_not_call(spec: str) -> DoNotCallList:
    """`"13800138000, +86 139 0000 0000"` (an environment value) -> DoNotCallList."""
    numbers = [p.strip() for p in spec.split(",") if p.strip()]
    try:
        return DoNotCallList(numbers)
    except CallbackError as exc:
        raise CallbackError(
            "do-not-call-invalid", f"do-not-call list: {exc.message}", **exc.details
        ) from exc
