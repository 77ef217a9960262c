"""ASR gauges for /metrics, read from the transcriber when Prometheus scrapes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from callcenter.asr.service import Transcriber


class AsrCollector(Collector):
    def __init__(self, transcriber: Transcriber | None) -> None:
        self.transcriber = transcriber

    def collect(self) -> Iterator[Metric]:
        t = self.transcriber
        yield GaugeMetricFamily(
            "callcenter_asr_enabled",
            "1 when a speech-recognition model is configured and the transcriber runs",
            value=float(t is not None),
        )
        if t is None:
            return
        yield GaugeMetricFamily(
            "callcenter_asr_backlog",
            "Voice recordings waiting for a transcript (counted on the transcriber's poll)",
            value=float(t.backlog),
        )
        yield GaugeMetricFamily(
            "callcenter_asr_in_flight",
            "Recordings being transcribed or queued in the worker pool",
            value=float(t.pool.in_flight),
        )
        yield CounterMetricFamily(
            "callcenter_asr_transcribed", "Legs transcribed by this process", value=t.transcribed
        )
        yield CounterMetricFamily(
            "callcenter_asr_failed", "Legs whose transcription failed", value=t.failed
        )
        yield CounterMetricFamily(
            "callcenter_asr_worker_crashes",
            "Worker processes that died (the pool is replaced, jobs retried once)",
            value=t.pool.crashes,
        )


def watch_asr(registry: CollectorRegistry, transcriber: Transcriber | None) -> Callable[[], None]:
    """Expose the ASR metrics in `registry`; returns the callable that removes them."""
    collector = AsrCollector(transcriber)
    registry.register(collector)
    return lambda: registry.unregister(collector)
