"""A parsed AMI message: an event, a response or the connection banner.

AMI headers may repeat (`ChanVariable`, `Output`, `Variable`), so a message
keeps the first value of each key in a dict for fast lookups and the rest in
`repeated`. Keys keep Asterisk's spelling; lookups are exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

_UNKNOWN = frozenset({"", "<unknown>", "<Unknown>", "unknown"})


class Message:
    __slots__ = ("headers", "offset", "repeated")

    def __init__(
        self,
        headers: dict[str, str],
        repeated: dict[str, list[str]] | None = None,
        offset: int = -1,
    ) -> None:
        self.headers = headers
        self.repeated = repeated
        # Byte offset of the frame in its stream (for diagnostics), -1 if unknown.
        self.offset = offset

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str]], offset: int = -1) -> Message:
        headers: dict[str, str] = {}
        repeated: dict[str, list[str]] | None = None
        for key, value in pairs:
            if key in headers:
                if repeated is None:
                    repeated = {}
                repeated.setdefault(key, []).append(value)
            else:
                headers[key] = value
        return cls(headers, repeated, offset)

    @property
    def name(self) -> str | None:
        """The event name, or None for responses."""
        return self.headers.get("Event")

    @property
    def is_event(self) -> bool:
        return "Event" in self.headers

    @property
    def is_response(self) -> bool:
        return "Response" in self.headers

    @property
    def action_id(self) -> str | None:
        return self.headers.get("ActionID")

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.headers.get(key, default)

    def known(self, key: str) -> str | None:
        """The value, or None where Asterisk says it does not know (`<unknown>`, empty)."""
        value = self.headers.get(key)
        if value is None or value in _UNKNOWN:
            return None
        return value

    def get_all(self, key: str) -> list[str]:
        """Every value of a header, in wire order."""
        first = self.headers.get(key)
        if first is None:
            return []
        if self.repeated is None or key not in self.repeated:
            return [first]
        return [first, *self.repeated[key]]

    def pairs(self) -> Iterator[tuple[str, str]]:
        """All headers in a stable order (first values, then repeats)."""
        yield from self.headers.items()
        if self.repeated:
            for key, values in self.repeated.items():
                for value in values:
                    yield key, value

    @property
    def timestamp(self) -> float | None:
        """`Timestamp` (epoch seconds, microsecond precision) when manager.conf enables it;
        None when it is no finite number (`inf`, `nan` and `1e400` parse as floats)."""
        raw = self.headers.get("Timestamp")
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            return None
        return value if math.isfinite(value) else None

    def __repr__(self) -> str:
        kind = self.name or self.headers.get("Response", "?")
        return f"<Message {kind} {len(self.headers)} headers>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self.headers == other.headers and (self.repeated or {}) == (other.repeated or {})

    __hash__ = None  # type: ignore[assignment]


def encode_action(action: str, fields: dict[str, str | list[str]]) -> bytes:
    """Serialise an action; a list value becomes a repeated header (e.g. `Variable`)."""
    lines = [f"Action: {action}"]
    for key, value in fields.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if "\r" in item or "\n" in item:
                raise ValueError(f"AMI header {key!r} may not contain a line break")
            lines.append(f"{key}: {item}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
