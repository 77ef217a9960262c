"""Replay recorded AMI transcripts through the tracker and the dashboard's live model.

The same path as the running service: every event goes to the tracker (which
emits call records) and to the live model (which keeps what the records do
not say: callback requests, after-hours calls, when an agent took a held call).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from callcenter.ami.frame import FrameError
from callcenter.ami.transcript import read_messages
from callcenter.calls.record import CallRecord
from callcenter.calls.tracker import CallTracker
from callcenter.config import RingConfig
from callcenter.dashboard.definitions import MetricSettings
from callcenter.dashboard.live import LiveModel


def replay_into(
    paths: Iterable[Path], model: LiveModel, ring: RingConfig | None = None
) -> tuple[list[CallRecord], float]:
    """Feed every transcript; returns the records and the time of the last event."""
    errors: list[FrameError] = []
    records: list[CallRecord] = []
    last = 0.0
    for path in paths:
        tracker = CallTracker(ring or model.settings.ring)
        for message in read_messages(path, errors.append):
            if not message.is_event:
                continue
            last = max(last, message.timestamp or last)
            model.on_event(message, last)
            for record in tracker.feed(message):
                records.append(record)
                model.on_record(record, last)
        for record in tracker.drain():
            records.append(record)
            model.on_record(record, last)
    assert errors == [], errors
    return records, last


def model_for(short_abandon: float = 5.0, ring: RingConfig | None = None) -> LiveModel:
    return LiveModel(MetricSettings(ring or RingConfig(), short_abandon))
