"""Prometheus metrics: call counters fed by finished records, runtime gauges read at scrape.

Every app owns its own `CollectorRegistry` (tests build many apps; the global
registry would collect them all). Call counters are fed through the record
sink (`FanOut` hands each finished record to the writer and to `CallMetrics`);
connection and writer state is read from the live objects when Prometheus
scrapes, so it is never stale and costs nothing between scrapes.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from callcenter.calls.record import CallRecord, Direction, Outcome, Party
from callcenter.calls.ring import within_budget
from callcenter.config import RingConfig

log = logging.getLogger(__name__)

# The version the brief's scrapers expect; prometheus_client's CONTENT_TYPE_LATEST
# moved to 1.0.0 in recent releases.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
RING_BUCKETS = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, float("inf"))
NO_QUEUE = "none"
# A re-emitted record (same Linkedid) must not count twice; remembering the
# most recent calls is enough, since a re-emission follows its first closely.
_SEEN_LIMIT = 10_000
_SYSTEM_FIRST = frozenset({Outcome.ANSWERED_BY_SYSTEM, Outcome.ABANDONED_AFTER_SYSTEM})


class AmiSource(Protocol):
    @property
    def connected(self) -> bool: ...

    reconnects: int
    events_received: int


class CallLogSource(Protocol):
    last_event_lag: float | None
    records_emitted: int

    @property
    def frame_errors(self) -> int: ...

    @property
    def expired_calls(self) -> int: ...


class WriterSource(Protocol):
    @property
    def backlog(self) -> int: ...

    @property
    def healthy(self) -> bool: ...

    written: int
    failed_attempts: int


class CallbackSource(Protocol):
    """The dialer's view of the callback queue (counted on its poll, not per scrape)."""

    backlog: int
    overdue: int


class CallbackRequestSource(Protocol):
    """The callback sources: requests made, and those skipped by reason."""

    @property
    def requested(self) -> int: ...

    @property
    def skipped_by_reason(self) -> Mapping[str, int]: ...


class _RuntimeCollector(Collector):
    """Reads the AMI client, call-log service and writer at scrape time."""

    def __init__(self) -> None:
        self.ami: AmiSource | None = None
        self.calllog: CallLogSource | None = None
        self.writer: WriterSource | None = None
        self.callbacks: CallbackSource | None = None
        self.requests: CallbackRequestSource | None = None

    def collect(self) -> Iterator[Metric]:
        ami, calllog, writer = self.ami, self.calllog, self.writer
        if self.requests is not None:
            yield _counter(
                "callcenter_callback_requests",
                "Callback requests stored (abandoned calls, press 1, after hours, cases;"
                " a merge into an open callback counts too)",
                self.requests.requested,
            )
            skipped = CounterMetricFamily(
                "callcenter_callback_requests_skipped",
                "Callers owed a callback who cannot be called, by reason (no-caller-id,"
                " invalid-number: anonymous, withheld or text caller IDs; do-not-call)",
                labels=["reason"],
            )
            for reason, count in sorted(self.requests.skipped_by_reason.items()):
                skipped.add_metric([reason], float(count))
            yield skipped
        if self.callbacks is not None:
            yield _gauge(
                "callcenter_callback_backlog",
                "Callbacks waiting to be dialled (pending or being dialled)",
                self.callbacks.backlog,
            )
            yield _gauge(
                "callcenter_callbacks_overdue",
                "Open callbacks past their deadline",
                self.callbacks.overdue,
            )
        if ami is not None:
            yield _gauge("callcenter_ami_connected", "1 while logged in to AMI", ami.connected)
            yield _counter(
                "callcenter_ami_reconnects",
                "AMI logins after the first (each is a lost-and-regained link)",
                ami.reconnects,
            )
            yield _counter(
                "callcenter_ami_events_received", "AMI events received", ami.events_received
            )
        if calllog is not None:
            lag = GaugeMetricFamily(
                "callcenter_ami_event_lag_seconds",
                "Local time minus the Timestamp of the last AMI event (absent before one)",
            )
            if calllog.last_event_lag is not None:
                lag.add_metric([], calllog.last_event_lag)
            yield lag
            yield _counter(
                "callcenter_calllog_records_emitted",
                "Finished call records handed to the sinks",
                calllog.records_emitted,
            )
            yield _counter(
                "callcenter_ami_frame_errors",
                "AMI events with a refused part (a non-finite or absurd timestamp, duration"
                " or cause): applied at the tracker's clock, never raised",
                calllog.frame_errors,
            )
            yield _counter(
                "callcenter_calls_expired",
                "Calls finished by expiry (no live leg, or no event for a long time)",
                calllog.expired_calls,
            )
        if writer is not None:
            yield _gauge(
                "callcenter_db_write_backlog",
                "Call records buffered, not yet written to the database",
                writer.backlog,
            )
            yield _gauge(
                "callcenter_db_writer_healthy",
                "0 from a failed database write until the next successful one",
                writer.healthy,
            )
            yield _counter(
                "callcenter_records_written",
                "Call records written to the database (a rewrite counts again)",
                writer.written,
            )
            yield _counter(
                "callcenter_db_write_failures",
                "Failed batch write attempts",
                writer.failed_attempts,
            )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=float(value))


class CallMetrics:
    """The app's metrics; `submit(record)` makes it a `RecordSink`."""

    def __init__(self, ring: RingConfig, registry: CollectorRegistry | None = None) -> None:
        self._ring = ring
        self.registry = registry if registry is not None else CollectorRegistry()
        self._seen: OrderedDict[str, None] = OrderedDict()
        labels = ["queue"]
        self.offered = Counter(
            "callcenter_calls_offered",
            "Inbound calls finished, whatever their outcome",
            labels,
            registry=self.registry,
        )
        self.answered = Counter(
            "callcenter_calls_answered",
            "Inbound calls an agent answered while they rang (before any system answer)",
            labels,
            registry=self.registry,
        )
        self.abandoned = Counter(
            "callcenter_calls_abandoned",
            "Inbound calls where the caller hung up while it rang, before any answer",
            labels,
            registry=self.registry,
        )
        self.answered_by_system = Counter(
            "callcenter_calls_answered_by_system",
            "Inbound calls the system answered because no agent did within the ring budget"
            " (held callers: whether an agent took them later, they hung up, or they asked"
            " for a callback); never counted as answered within the budget",
            labels,
            registry=self.registry,
        )
        self.abandoned_after_system = Counter(
            "callcenter_calls_abandoned_after_system_answer",
            "Inbound calls the system answered and held, where the caller hung up before"
            " any agent took the call (also in callcenter_calls_answered_by_system_total)",
            labels,
            registry=self.registry,
        )
        self.agent_after_system = Counter(
            "callcenter_calls_answered_by_agent_after_system_answer",
            "Inbound calls the system answered and held that an agent took later"
            " (also in callcenter_calls_answered_by_system_total)",
            labels,
            registry=self.registry,
        )
        self.agent_within_budget = Counter(
            "callcenter_calls_answered_by_agent_within_budget",
            "Inbound calls an agent answered within the ring budget: the three-ring promise"
            " kept by a person",
            labels,
            registry=self.registry,
        )
        self.within_budget = Counter(
            "callcenter_calls_answered_within_budget",
            "Same count as callcenter_calls_answered_by_agent_within_budget_total (kept for"
            " existing dashboards): an agent answered within the ring budget. The system's"
            " own answers at the budget are not in it (callcenter_calls_answered_by_system_total)",
            labels,
            registry=self.registry,
        )
        self.rings = Histogram(
            "callcenter_rings_to_answer",
            "Rings the caller heard before an agent answered (agent answers only)",
            labels,
            buckets=RING_BUCKETS,
            registry=self.registry,
        )
        self.reconstructed = Counter(
            "callcenter_calls_reconstructed",
            "Calls rebuilt from Asterisk's trail after the backend missed them (not in the"
            " per-queue counters, which count what this process saw live)",
            registry=self.registry,
        )
        self._runtime = _RuntimeCollector()
        self.registry.register(self._runtime)

    def submit(self, record: CallRecord) -> None:
        if record.direction is not Direction.INBOUND or self._already_counted(record.linkedid):
            return
        if record.reconstructed:
            # A restart re-reads the trail's lookback window, whose calls the
            # previous process may have counted already: counting them here
            # would make every restart a spike in the rate of calls offered.
            self.reconstructed.inc()
            return
        queue = record.queue or NO_QUEUE
        self.offered.labels(queue).inc()
        if record.answered_by is Party.SYSTEM or record.outcome in _SYSTEM_FIRST:
            # The system answered first (at the budget): never a success of the budget,
            # even if an agent took the caller later.
            self.answered_by_system.labels(queue).inc()
            if record.outcome is Outcome.ABANDONED_AFTER_SYSTEM:
                self.abandoned_after_system.labels(queue).inc()
            elif record.outcome is Outcome.ANSWERED:
                self.agent_after_system.labels(queue).inc()
        elif record.outcome is Outcome.ABANDONED:
            self.abandoned.labels(queue).inc()
        elif record.outcome is Outcome.ANSWERED:
            self.answered.labels(queue).inc()
            if record.rings_to_answer is not None:
                self.rings.labels(queue).observe(record.rings_to_answer)
            if self._answered_within_budget(record):
                self.agent_within_budget.labels(queue).inc()
                self.within_budget.labels(queue).inc()

    def _answered_within_budget(self, record: CallRecord) -> bool:
        ring = self._ring
        if record.answer_seconds is not None:
            return within_budget(record.answer_seconds, ring.cadence_seconds, ring.budget_rings)
        # No timestamps (a transcript from elsewhere): the tracker's ring count is all we have.
        return record.rings_to_answer is not None and record.rings_to_answer <= ring.budget_rings

    def _already_counted(self, linkedid: str) -> bool:
        if linkedid in self._seen:
            return True
        self._seen[linkedid] = None
        if len(self._seen) > _SEEN_LIMIT:
            self._seen.popitem(last=False)
        return False

    def watch(
        self, *, ami: AmiSource, calllog: CallLogSource, writer: WriterSource
    ) -> Callable[[], None]:
        """Read these objects at scrape time; returns the callable that stops it."""
        runtime = self._runtime
        runtime.ami, runtime.calllog, runtime.writer = ami, calllog, writer

        def unwatch() -> None:
            runtime.ami = runtime.calllog = runtime.writer = None

        return unwatch

    def watch_callbacks(self, callbacks: CallbackSource) -> Callable[[], None]:
        runtime = self._runtime
        runtime.callbacks = callbacks

        def unwatch() -> None:
            runtime.callbacks = None

        return unwatch

    def watch_callback_requests(self, requests: CallbackRequestSource) -> Callable[[], None]:
        """Read the callback sources' counts at scrape time; returns the callable that stops it."""
        runtime = self._runtime
        runtime.requests = requests

        def unwatch() -> None:
            runtime.requests = None

        return unwatch

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format (version 0.0.4)."""
        return generate_latest(self.registry)
