"""Login throttling per username and per client address. Pure: the clock is injected.

Too many failures within the window lock the key; each further lockout of the
same key doubles, up to a maximum, and the count of lockouts is forgotten
after a quiet window. A success clears the username's failures, never the
address's (one valid account must not reset a password-guessing address).

State is in memory and per process: a restart forgets it (documented in the
README); the table of keys is bounded so a spray of usernames cannot exhaust
memory.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field

from callcenter.kernel.clock import Clock


@dataclass(frozen=True)
class ThrottleSettings:
    max_failures: int = 5  # per username within the window
    ip_max_failures: int = 30  # per client address within the window
    window: float = 15 * 60.0
    lockout: float = 60.0  # the first lockout
    max_lockout: float = 3600.0
    max_keys: int = 50_000


@dataclass
class _Entry:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0
    lockouts: int = 0
    last_lockout: float = 0.0


class LoginThrottle:
    def __init__(self, settings: ThrottleSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()

    @staticmethod
    def _keys(username: str, ip: str | None) -> list[tuple[str, str]]:
        keys = [("user", username.strip().casefold())]
        if ip:
            keys.append(("ip", ip))
        return keys

    def _limit(self, kind: str) -> int:
        return self.settings.max_failures if kind == "user" else self.settings.ip_max_failures

    def retry_after(self, username: str, ip: str | None) -> int | None:
        """Whole seconds until a login may be tried again, or None when it may now."""
        now = self.clock()
        waits = [
            entry.locked_until - now
            for key in self._keys(username, ip)
            if (entry := self._entries.get(key)) is not None and entry.locked_until > now
        ]
        return max(1, math.ceil(max(waits))) if waits else None

    def failure(self, username: str, ip: str | None) -> None:
        now = self.clock()
        for key in self._keys(username, ip):
            entry = self._entries.pop(key, None) or _Entry()
            self._entries[key] = entry  # most recently used last
            entry.failures = [t for t in entry.failures if now - t < self.settings.window]
            entry.failures.append(now)
            if entry.lockouts and now - entry.last_lockout >= self.settings.window + (
                self._lockout_length(entry.lockouts)
            ):
                entry.lockouts = 0  # quiet long enough: start again from the first lockout
            if len(entry.failures) >= self._limit(key[0]):
                entry.lockouts += 1
                entry.last_lockout = now
                entry.locked_until = now + self._lockout_length(entry.lockouts)
                entry.failures.clear()
        while len(self._entries) > self.settings.max_keys:
            self._entries.popitem(last=False)

    def success(self, username: str, ip: str | None) -> None:
        self._entries.pop(("user", username.strip().casefold()), None)

    def _lockout_length(self, lockouts: int) -> float:
        growth = self.settings.lockout * 2.0 ** min(lockouts - 1, 30)
        return float(min(self.settings.max_lockout, growth))
