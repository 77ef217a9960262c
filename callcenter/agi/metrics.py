"""The FastAGI server's counters for Prometheus, read at scrape time.

`callcenter_fastagi_refused_total` rising means some local process is knocking
on the FastAGI port without the per-install key (or Asterisk runs a dialplan
rendered with another key: then calls fall back to app_queue).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from callcenter.agi.fastagi import FastAgiServer


class FastAgiCollector(Collector):
    def __init__(self, server: FastAgiServer) -> None:
        self._server = server

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "callcenter_fastagi_requests",
            "FastAGI requests handed to a handler",
            value=self._server.requests,
        )
        yield CounterMetricFamily(
            "callcenter_fastagi_refused",
            "FastAGI requests refused before any handler: no or wrong key, malformed",
            value=self._server.refused,
        )
        yield CounterMetricFamily(
            "callcenter_fastagi_failures",
            "FastAGI requests that failed in or after their handler",
            value=self._server.failures,
        )
