"""Rolling windows of finished calls: last 30 minutes, last 24 hours, and hourly buckets.

Pure and incremental: a call is counted in when it arrives and counted out
when its arrival time leaves a window, so reading a window costs nothing and
nothing resets at midnight (a 24/7 center sees the true last 24 hours at 00:05).
A call seen again (a record re-emitted, a wrap-up that ended later) replaces
its earlier facts: counted out, then in again.

Windows go by the call's arrival time; a call is counted once it has ended
(a long call that arrived 31 minutes ago is never in the 30-minute window).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from callcenter.dashboard.definitions import CallFacts, MetricSettings, Totals

THIRTY_MINUTES = 30 * 60.0
DAY = 24 * 3600.0
HOUR = 3600.0
ALL = "*"


def group_keys(facts: CallFacts) -> list[str]:
    """The groups a call counts in: the whole center, its queue, its agent."""
    keys = [ALL, f"queue:{facts.queue}"]
    if facts.agent:
        keys.append(f"agent:{facts.agent}")
    return keys


@dataclass
class _Window:
    span: float
    groups: dict[str, Totals] = field(default_factory=dict)
    # (arrived_at, linkedid, version) of the calls counted in; stale versions are skipped.
    heap: list[tuple[float, str, int]] = field(default_factory=list)
    members: dict[str, int] = field(default_factory=dict)  # linkedid -> counted version

    def get(self, key: str) -> Totals:
        return self.groups.get(key) or Totals()


class RollingTotals:
    """Totals per group for each window, plus hourly buckets over the last day."""

    def __init__(
        self,
        settings: MetricSettings,
        spans: Iterable[float] = (THIRTY_MINUTES, DAY),
        bucket: float = HOUR,
    ) -> None:
        self.settings = settings
        self.windows = {span: _Window(span) for span in spans}
        self.bucket = bucket
        self.keep = max(self.windows) if self.windows else DAY
        self.calls: dict[str, tuple[int, CallFacts]] = {}
        self.buckets: dict[float, dict[str, Totals]] = {}
        self._version = 0
        self._now: float | None = None

    def put(self, facts: CallFacts, now: float) -> bool:
        """Count a finished call (replacing what was counted for it). False if too old."""
        self.advance(now)
        old = self.calls.pop(facts.linkedid, None)
        if old is not None:
            self._count(old[0], old[1], -1)
        if facts.arrived_at < now - self.keep:
            return old is not None
        self._version += 1
        self.calls[facts.linkedid] = (self._version, facts)
        self._count(self._version, facts, 1)
        return True

    def get(self, linkedid: str) -> CallFacts | None:
        found = self.calls.get(linkedid)
        return None if found is None else found[1]

    def advance(self, now: float) -> bool:
        """Let calls whose arrival left a window drop out of it; True if any did."""
        if self._now is not None and now < self._now:
            now = self._now  # the clock never runs backwards for the windows
        self._now = now
        changed = False
        for window in self.windows.values():
            edge = now - window.span
            while window.heap and window.heap[0][0] < edge:
                _, linkedid, version = heapq.heappop(window.heap)
                if window.members.get(linkedid) != version:
                    continue  # replaced since; its new version has its own entry
                del window.members[linkedid]
                current = self.calls.get(linkedid)
                if current is not None and current[0] == version:
                    self._apply(window.groups, current[1], -1)
                    changed = True
                    if window.span >= self.keep:
                        del self.calls[linkedid]  # out of the longest window: forgotten
        oldest = now - self.keep
        for start in [b for b in self.buckets if b + self.bucket <= oldest]:
            del self.buckets[start]
            changed = True
        return changed

    def totals(self, span: float, key: str = ALL) -> Totals:
        return self.windows[span].get(key)

    def groups(self, span: float) -> dict[str, Totals]:
        return self.windows[span].groups

    def hourly(self, now: float, key: str = ALL) -> list[tuple[float, Totals]]:
        """One entry per bucket over the last `keep` seconds, oldest first (empty ones too)."""
        first = (now - self.keep) // self.bucket * self.bucket + self.bucket
        out: list[tuple[float, Totals]] = []
        start = first
        while start <= now:
            out.append((start, self.buckets.get(start, {}).get(key) or Totals()))
            start += self.bucket
        return out

    # -- internals ------------------------------------------------------------------------

    def _count(self, version: int, facts: CallFacts, sign: int) -> None:
        now = self._now if self._now is not None else facts.arrived_at
        for window in self.windows.values():
            if sign > 0:
                if facts.arrived_at < now - window.span:
                    continue
                window.members[facts.linkedid] = version
                heapq.heappush(window.heap, (facts.arrived_at, facts.linkedid, version))
                self._apply(window.groups, facts, 1)
            elif window.members.get(facts.linkedid) == version:
                del window.members[facts.linkedid]
                self._apply(window.groups, facts, -1)
        start = facts.arrived_at // self.bucket * self.bucket
        bucket = self.buckets.setdefault(start, {}) if sign > 0 else self.buckets.get(start)
        if bucket is not None:
            self._apply(bucket, facts, sign)

    def _apply(self, groups: dict[str, Totals], facts: CallFacts, sign: int) -> None:
        for key in group_keys(facts):
            totals = groups.get(key)
            if totals is None:
                totals = groups[key] = Totals()
            totals.add(facts, self.settings, sign)
            if sign < 0 and totals.offered == 0 and totals.after_hours == 0:
                del groups[key]
