"""The dashboard service: feeds the live model and broadcasts its snapshots.

Inputs (all in memory, pushed to us): AMI events (`AmiClient.subscribe`),
finished call records (a `RecordSink` on the app's record fan-out), agent
transitions (`AgentService.watch`), compliance facts (`ComplianceSink.listeners`).
A one-second tick moves the rolling windows and reads the dialler's callback
counts and the router's waiting calls (memory, not the database).

Database reads happen only at start (the last day's compliance flags, open
complaint cases) and for open cases after a wrap-up was filed and on a slow
reconciliation (`CALLCENTER_DASHBOARD_RECONCILE`, 5 minutes by default),
since cases also change through other routes (closing, surveys).

Updates are coalesced: the first change after a quiet spell is sent at once
(next loop turn); changes during the following `coalesce` seconds go out
together at its end, so a burst costs one snapshot and no update waits longer
than `coalesce` (at most 0.2 s).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from callcenter.agents.domain import AgentBoard, AgentState, Transition
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiError
from callcenter.ami.message import Message
from callcenter.calls.record import CallRecord
from callcenter.compliance.domain import Compliance
from callcenter.dashboard.live import CaseView, LiveModel, definitions_json
from callcenter.dashboard.store import FlagRow, OpenCase
from callcenter.kernel.clock import Clock
from callcenter.kernel.fanout import Broadcaster
from callcenter.routing.decide import WaitingCall

log = logging.getLogger(__name__)


class CallbackCounts(Protocol):
    backlog: int
    overdue: int


class Queries(Protocol):
    """The database reads (`persistence.dashboard_queries.DashboardQueries`)."""

    async def compliance_since(self, since: float) -> list[FlagRow]: ...

    async def open_complaints(self) -> list[OpenCase]: ...


@dataclass
class FlushStats:
    flushes: int = 0
    last_build_ms: float = 0.0
    max_build_ms: float = 0.0
    last_bytes: int = 0


class DashboardService:
    def __init__(
        self,
        model: LiveModel,
        board: AgentBoard,
        broadcaster: Broadcaster,
        *,
        clock: Clock = time.time,
        coalesce: float = 0.1,
        waiting: Callable[[], Mapping[str, WaitingCall]] | None = None,
        callbacks: CallbackCounts | None = None,
        queries: Queries | None = None,
        reconcile_seconds: float = 300.0,
    ) -> None:
        self.model = model
        self.board = board
        self.broadcaster = broadcaster
        self._clock = clock
        self._coalesce = min(max(0.0, coalesce), 0.2)
        self._waiting = waiting
        self._callbacks = callbacks
        self._queries = queries
        self._reconcile_seconds = reconcile_seconds
        self._scheduled: asyncio.Handle | None = None
        self._last_flush = 0.0  # monotonic
        self._cases_dirty = asyncio.Event()
        self._fingerprint: tuple[Any, ...] = ()
        self.seq = 0
        self.stats = FlushStats()
        # monotonic time of the oldest change not yet broadcast (for the benchmark)
        self.pending_since: float | None = None

    # -- inputs ------------------------------------------------------------------------------

    def on_event(self, event: Message) -> None:
        if self.model.on_event(event, self._clock()):
            self.changed()

    def submit(self, record: CallRecord) -> None:
        """A `RecordSink`: a finished call enters the windows."""
        if self.model.on_record(record, self._clock(), self._staff_of):
            self.changed()

    def on_transitions(self, transitions: list[Transition]) -> None:
        self.model.on_transitions(transitions, self._clock())
        if any(t.old is AgentState.WRAP_UP for t in transitions):
            self._cases_dirty.set()  # a filed wrap-up may have opened a complaint case
        self.changed()

    def on_compliance(self, facts: Compliance) -> None:
        staff = facts.staff_no or ""
        if self.model.on_compliance(staff, facts.flags, facts.linkedid, self._clock()):
            self.changed()

    def _staff_of(self, record: CallRecord) -> str | None:
        if record.agent is None:
            return None
        agent = self.board.by_endpoint(record.agent)
        if agent is not None:
            return agent.staff_no
        if record.agent in self.board.agents:
            return record.agent
        return record.agent_name or record.agent

    # -- output ------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        data = self.model.snapshot(self.board, self._clock())
        data["seq"] = self.seq
        data["fanout"] = self.broadcaster.stats()
        return data

    def snapshot_text(self, with_definitions: bool = True) -> str:
        data = self.snapshot()
        if with_definitions:
            data["definitions"] = definitions_json()
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    def changed(self) -> None:
        """Something the dashboard shows changed: broadcast soon (coalesced)."""
        if self.pending_since is None:
            self.pending_since = time.monotonic()
        if self._scheduled is not None:
            return
        loop = asyncio.get_running_loop()
        delay = self._last_flush + self._coalesce - time.monotonic()
        if delay <= 0:
            self._scheduled = loop.call_soon(self._flush)
        else:
            self._scheduled = loop.call_later(delay, self._flush)

    def flush(self) -> None:
        """Broadcast a snapshot now (tests, the benchmark); coalesced updates come here too."""
        if self._scheduled is not None:
            self._scheduled.cancel()
        self._flush()

    def _flush(self) -> None:
        self._scheduled = None
        self._last_flush = time.monotonic()
        self.pending_since = None
        self.seq += 1
        started = time.perf_counter()
        text = self.snapshot_text(with_definitions=False)
        self.broadcaster.publish(text)
        took = (time.perf_counter() - started) * 1000
        self.stats.flushes += 1
        self.stats.last_build_ms = round(took, 3)
        self.stats.max_build_ms = max(self.stats.max_build_ms, self.stats.last_build_ms)
        self.stats.last_bytes = len(text)

    # -- background --------------------------------------------------------------------------

    def tick(self) -> None:
        """Once a second: windows, router's waiting calls, callback counts, roster changes."""
        now = self._clock()
        changed = self.model.advance(now)
        if self._waiting is not None:
            changed = self.model.merge_router(self._waiting()) or changed
        if self._callbacks is not None:
            changed = (
                self.model.set_callbacks(self._callbacks.backlog, self._callbacks.overdue)
                or changed
            )
        fingerprint = tuple(
            (s, a.endpoint, tuple(sorted(a.skills)), self.board.status[s])
            for s, a in sorted(self.board.agents.items())
        )
        if fingerprint != self._fingerprint:
            self._fingerprint = fingerprint
            changed = True
        if changed:
            self.changed()

    async def run_ticks(self, interval: float = 1.0, heartbeat: float = 5.0) -> None:
        while True:
            await asyncio.sleep(interval)
            self.tick()
            if time.monotonic() - self._last_flush >= heartbeat:
                self.changed()  # a quiet center still gets a fresh picture now and then

    async def load(self) -> None:
        """Seed what the stream cannot replay: the last day's compliance flags, open cases."""
        if self._queries is None:
            return
        since = self._clock() - 24 * 3600.0
        try:
            for row in await self._queries.compliance_since(since):
                self.model.on_compliance(row.staff_no, row.flags, row.linkedid, row.measured_at)
        except Exception as exc:
            log.warning("dashboard: compliance flags not loaded (%s); counting from now", exc)
        await self.reload_cases()

    async def reload_cases(self) -> None:
        if self._queries is None:
            return
        try:
            cases = await self._queries.open_complaints()
        except Exception as exc:
            log.warning("dashboard: open cases not read (%s); keeping the last list", exc)
            return
        views = [
            CaseView(c.id, c.owner, c.caller_number, c.opened_at, c.reply_due_at) for c in cases
        ]
        if self.model.set_cases(views):
            self.changed()

    async def run_cases(self) -> None:
        """Re-read open cases after a wrap-up (at most once a second) and every few minutes."""
        while True:
            try:
                await asyncio.wait_for(self._cases_dirty.wait(), self._reconcile_seconds)
                await asyncio.sleep(1.0)
            except TimeoutError:
                pass
            self._cases_dirty.clear()
            await self.reload_cases()

    async def reconcile(self, ami: AmiClient) -> None:
        """Align live calls with Asterisk's channels (on every connect, then every minute)."""
        try:
            result = await ami.list_action("CoreShowChannels")
        except AmiError as exc:
            log.info("dashboard reconcile skipped: %s", exc)
            return
        linkedids = [e.get("Linkedid") or e.get("Uniqueid") or "" for e in result.events]
        if self.model.reconcile(linkedids, self._clock()):
            self.changed()

    async def run_reconcile(self, ami: AmiClient, interval: float = 60.0) -> None:
        while True:
            await asyncio.sleep(interval)
            if ami.connected:
                await self.reconcile(ami)
