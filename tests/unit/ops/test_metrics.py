"""The metrics sink on its own: fan-out, what counts, one registry per app."""

from __future__ import annotations

import dataclasses

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from callcenter.ami.client import AmiClient
from callcenter.ami.message import Message
from callcenter.calls.record import RECONSTRUCTED, CallRecord, Direction
from callcenter.calls.replay import ReplayReport, replay
from callcenter.calls.service import CallLogService
from callcenter.calls.sink import FanOut
from callcenter.calls.tracker import CallTracker
from callcenter.config import AmiConfig, RingConfig
from callcenter.ops.metrics import CallMetrics
from tests.support.paths import AMI_FIXTURES


def _answered() -> CallRecord:
    (record,) = replay(
        [AMI_FIXTURES / "answered_caller_hangs_up.ami"], CallTracker(), ReplayReport()
    )
    return record


class _Broken:
    def submit(self, record: CallRecord) -> None:
        raise RuntimeError("sink down")


class _Collect:
    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    def submit(self, record: CallRecord) -> None:
        self.records.append(record)


def test_fan_out_reaches_every_sink_and_reraises_the_first_error() -> None:
    collected = _Collect()
    record = _answered()
    with pytest.raises(RuntimeError, match="sink down"):
        FanOut(_Broken(), collected).submit(record)
    assert collected.records == [record]


def _offered(metrics: CallMetrics) -> float:
    value = metrics.registry.get_sample_value(
        "callcenter_calls_offered_total", {"queue": "support"}
    )
    return value or 0.0


def test_only_inbound_calls_count_once_each() -> None:
    metrics = CallMetrics(RingConfig())
    record = _answered()
    metrics.submit(record)
    metrics.submit(record)
    metrics.submit(dataclasses.replace(record, linkedid="9.9", direction=Direction.INTERNAL))
    assert _offered(metrics) == 1


def test_calls_rebuilt_from_the_trail_count_apart_from_the_live_ones() -> None:
    """A restart re-reads the trail's lookback: those calls must not inflate the rates."""
    metrics = CallMetrics(RingConfig())
    metrics.submit(dataclasses.replace(_answered(), notes=(RECONSTRUCTED,)))
    assert _offered(metrics) == 0
    assert metrics.registry.get_sample_value("callcenter_calls_reconstructed_total") == 1
    metrics.submit(dataclasses.replace(_answered(), linkedid="live-1"))
    assert _offered(metrics) == 1


def test_an_answer_after_the_budget_is_not_within_it() -> None:
    metrics = CallMetrics(RingConfig(cadence_seconds=5.0, budget_rings=3))
    late = dataclasses.replace(_answered(), answer_seconds=15.5, rings_to_answer=4)
    metrics.submit(late)
    sample = metrics.registry.get_sample_value
    labels = {"queue": "support"}
    assert sample("callcenter_calls_answered_total", labels) == 1
    assert sample("callcenter_calls_answered_within_budget_total", labels) is None
    assert sample("callcenter_rings_to_answer_bucket", {**labels, "le": "3.0"}) == 0
    assert sample("callcenter_rings_to_answer_bucket", {**labels, "le": "4.0"}) == 1


def test_each_instance_has_its_own_registry_and_leaves_the_global_one_alone() -> None:
    first, second = CallMetrics(RingConfig()), CallMetrics(RingConfig())
    second.submit(_answered())
    assert _offered(first) == 0 and _offered(second) == 1
    assert REGISTRY.get_sample_value("callcenter_calls_offered_total", {"queue": "support"}) is None
    assert b"callcenter_calls_offered_total" in second.exposition()


def test_refused_frames_and_expired_calls_are_exported() -> None:
    """A hostile or broken AMI stream shows on /metrics, not only in the log."""
    metrics = CallMetrics(RingConfig())
    client = AmiClient(AmiConfig())
    service = CallLogService(client, CallTracker(), FanOut([]))
    metrics.watch(ami=client, calllog=service, writer=_NoWriter())
    for raw in ("inf", "nan"):
        service.on_event(
            Message(
                {
                    "Event": "Newchannel",
                    "Uniqueid": "1.1",
                    "Linkedid": "1.1",
                    "Channel": "PJSIP/2001-1",
                    "Timestamp": raw,
                }
            )
        )
    families = {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}
    (sample,) = families["callcenter_ami_frame_errors"].samples
    assert sample.value == 2.0
    assert families["callcenter_calls_expired"].samples[0].value == 0.0
    assert service.last_event_lag is None  # a bad stamp never makes an infinite lag


class _NoWriter:
    backlog = 0
    healthy = True
    written = 0
    failed_attempts = 0
