"""Live call logging: AMI events -> tracker -> record sink, with resync on every connect.

The only I/O here is the AMI actions for resynchronisation; the decisions are
the tracker's. Records leave through a `RecordSink` (the batched database
writer in production), so the event loop's hot path never waits on the
database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiError
from callcenter.ami.message import Message
from callcenter.calls.record import RECONSTRUCTED, CallRecord
from callcenter.calls.tracker import CallTracker, ChannelSnapshot
from callcenter.calls.trail import Rebuilt, TrailReadReport, read_rows, rebuild
from callcenter.config import RingConfig, TrackerConfig
from callcenter.kernel.clock import Clock

log = logging.getLogger(__name__)


class RecordSink(Protocol):
    def submit(self, record: CallRecord) -> None: ...


@dataclass(frozen=True)
class TrailSource:
    path: Path
    lookback: float


def _rebuild(path: Path, since: float, ring: RingConfig, config: TrackerConfig) -> Rebuilt:
    return rebuild(read_rows(path, since, TrailReadReport()), ring, config)


class CallLogService:
    def __init__(
        self,
        client: AmiClient,
        tracker: CallTracker,
        sink: RecordSink,
        *,
        clock: Clock = time.time,
        tick_interval: float = 0.5,
        reconcile_interval: float = 60.0,
        trail: TrailSource | None = None,
    ) -> None:
        self._client = client
        self._tracker = tracker
        self._sink = sink
        self._trail = trail
        self.recovered = 0
        self.seeded = 0
        self._clock = clock
        self._tick_interval = tick_interval
        self._reconcile_interval = reconcile_interval
        self._startup_marker: str | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self.records_emitted = 0
        self.resyncs = 0
        self.restarts_seen = 0
        self.last_event_lag: float | None = None

    @property
    def frame_errors(self) -> int:
        """Events the tracker refused a part of (a bad timestamp, duration or cause)."""
        return self._tracker.frame_errors

    @property
    def expired_calls(self) -> int:
        """Calls finished by expiry: no live leg, or no event for a bounded time."""
        return self._tracker.expired_calls

    def attach(self) -> Callable[[], None]:
        """Subscribe to the client; returns the detach callable for the owner's teardown."""
        self._unsubscribe = [
            self._client.subscribe(self.on_event),
            self._client.on_connected(self.resync),
        ]

        def detach() -> None:
            for undo in self._unsubscribe:
                undo()
            self._unsubscribe = []

        return detach

    def on_event(self, event: Message) -> None:
        when = event.timestamp
        if when is not None:
            self.last_event_lag = self._clock() - when
        self._emit(self._tracker.feed(event))

    def _emit(self, records: Sequence[CallRecord]) -> None:
        for record in records:
            self._sink.submit(record)
        self.records_emitted += len(records)

    async def resync(self, client: AmiClient) -> None:
        """After (re)login: detect an Asterisk restart, then align with its live channels."""
        marker = await self._startup(client)
        now = self._clock()
        if (
            self._startup_marker is not None
            and marker is not None
            and marker != self._startup_marker
        ):
            self.restarts_seen += 1
            ended = self._tracker.abandon_all(now, "asterisk-restart")
            log.warning(
                "Asterisk restarted (startup %s -> %s): %d open calls closed as interrupted",
                self._startup_marker,
                marker,
                len(ended),
            )
            self._emit(ended)
        if marker is not None:
            self._startup_marker = marker
        if self._trail is not None:
            await self.recover_from_trail(self._trail)
        await self.reconcile(client)

    async def recover_from_trail(self, trail: TrailSource) -> None:
        """Write the calls that ended while we were not listening, from Asterisk's own trail.

        Complete calls we did not see finish are written as reconstructed (the
        database never lets them replace a live record); calls still in
        progress that we never saw start are seeded into the tracker from the
        trail, so the live stream carries on from their real beginning.
        """
        since = self._clock() - trail.lookback
        ring, config = self._tracker.settings
        try:
            rebuilt = await asyncio.to_thread(_rebuild, trail.path, since, ring, config)
        except OSError as exc:
            log.warning(
                "durable trail %s unreadable (%s); missed calls not recovered", trail.path, exc
            )
            return
        recovered: list[CallRecord] = []
        for record in rebuilt.complete:
            if self._tracker.is_open(record.linkedid):
                self._tracker.forget(record.linkedid)  # we missed its end; the trail has it
            elif self._tracker.knows(record.linkedid):
                continue  # finished live in this process
            recovered.append(record)
        seeded = 0
        for linkedid, events in rebuilt.partial.items():
            if self._tracker.knows(linkedid):
                continue
            for event in events:
                self._emit(self._tracker.feed(event))
            self._tracker.note(linkedid, RECONSTRUCTED)
            seeded += 1
        self._emit(recovered)
        self.recovered += len(recovered)
        self.seeded += seeded
        if recovered or seeded:
            log.info(
                "durable trail: %d calls rebuilt, %d calls in progress picked up from %s",
                len(recovered),
                seeded,
                trail.path,
            )

    async def reconcile(self, client: AmiClient) -> None:
        result = await client.list_action("CoreShowChannels")
        snapshots = [ChannelSnapshot.from_event(e) for e in result.events]
        before = self._tracker.open_calls
        ended = self._tracker.reconcile(snapshots, self._clock())
        self.resyncs += 1
        if ended or self._tracker.open_calls != before:
            log.info(
                "resync: %d live channels, %d calls ended while unseen, %d open",
                len(snapshots),
                len(ended),
                self._tracker.open_calls,
            )
        self._emit(ended)

    @staticmethod
    async def _startup(client: AmiClient) -> str | None:
        try:
            status = await client.action("CoreStatus")
        except AmiError as exc:
            log.warning("CoreStatus failed (%s); cannot tell whether Asterisk restarted", exc)
            return None
        date, clock = status.get("CoreStartupDate"), status.get("CoreStartupTime")
        return f"{date} {clock}" if date and clock else None

    async def run_ticks(self) -> None:
        """Finalise ended calls on time even when no event arrives; reconcile periodically."""
        last_reconcile = self._clock()
        while True:
            await asyncio.sleep(self._tick_interval)
            now = self._clock()
            self._emit(self._tracker.expire(now))
            if now - last_reconcile >= self._reconcile_interval and self._client.connected:
                last_reconcile = now
                try:
                    await self.reconcile(self._client)
                except AmiError as exc:
                    log.info("periodic reconcile skipped: %s", exc)
