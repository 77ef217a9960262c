"""`GET /metrics` of the app `callcenter serve` builds, fed with the recorded calls.

The calls are the transcripts recorded from the real Asterisk
(tests/fixtures/ami), replayed through the tracker and handed to the app's
record sink, as the live call-log service does; the expected numbers come from
the transcripts' `.json` sidecars (what happened on the phones).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from callcenter.app import create_app
from callcenter.calls.keys import RECORD_SINK, WRITER
from callcenter.calls.record import RECONSTRUCTED, CallRecord
from callcenter.calls.replay import ReplayReport, replay
from callcenter.calls.tracker import CallTracker
from tests.support.asterisk_fixtures import TestAsterisk
from tests.support.paths import AMI_FIXTURES
from tests.support.routed import app_config, wait_connected

AiohttpClient = object  # the pytest-aiohttp fixture's type is internal


def _recorded_calls() -> tuple[list[CallRecord], Counter[tuple[str, str]]]:
    """The replayed records, and (queue, outcome) -> calls according to the sidecars."""
    records: list[CallRecord] = []
    expected: Counter[tuple[str, str]] = Counter()
    for transcript in sorted(AMI_FIXTURES.glob("*.ami")):
        sidecar = json.loads(transcript.with_suffix(".json").read_text())
        outcomes = sidecar["expected_outcome"]
        for outcome in outcomes if isinstance(outcomes, list) else [outcomes]:
            expected[(sidecar["queue"], outcome)] += 1
        records.extend(replay([transcript], CallTracker(), ReplayReport()))
    return records, expected


def _value(families: dict[str, Metric], sample: str, **labels: str) -> float:
    family = sample.removesuffix("_total").removesuffix("_bucket").removesuffix("_count")
    for s in families[family].samples:
        if s.name == sample and s.labels == labels:
            return s.value
    raise AssertionError(f"no sample {sample}{labels} in {families[family].samples}")


async def _scrape(client: TestClient) -> dict[str, Metric]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {f.name: f for f in text_string_to_metric_families(await response.text())}


@pytest.mark.asterisk
async def test_metrics_count_the_recorded_calls_per_queue(
    asterisk: TestAsterisk, migrated_db_url: str, tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    app = create_app(app_config(asterisk, migrated_db_url, tmp_path))
    client: TestClient = await aiohttp_client(app)  # type: ignore[operator]
    await wait_connected(client)
    records, expected = _recorded_calls()
    assert len(records) == sum(expected.values())

    sink = app[RECORD_SINK]
    # The session's Asterisk has a trail of earlier tests' calls, which the app
    # rebuilt on login: counted apart, never in the per-queue counters.
    recovered_at_start = _value(await _scrape(client), "callcenter_calls_reconstructed_total")
    for record in records:
        sink.submit(record)
    sink.submit(records[0])  # re-emitted: written again, counted once
    rebuilt = dataclasses.replace(records[1], linkedid="rebuilt-1", notes=(RECONSTRUCTED,))
    sink.submit(rebuilt)
    await app[WRITER].flush()
    families = await _scrape(client)
    assert _value(families, "callcenter_calls_reconstructed_total") == recovered_at_start + 1

    queues = {queue for queue, _ in expected}
    for queue in queues:

        def count(outcome: str, queue: str = queue) -> int:
            return expected[(queue, outcome)]

        offered = sum(n for (q, _), n in expected.items() if q == queue)
        answered = count("answered")
        assert _value(families, "callcenter_calls_offered_total", queue=queue) == offered
        assert _value(families, "callcenter_calls_answered_total", queue=queue) == answered
        assert _value(families, "callcenter_calls_abandoned_total", queue=queue) == count(
            "abandoned"
        )
        assert _value(families, "callcenter_calls_answered_by_system_total", queue=queue) == count(
            "answered_by_system"
        )
        # The recording agents auto-answer: every agent answer came on the first ring
        # (tests/unit/calls/test_replay.py asserts it per transcript).
        assert (
            _value(families, "callcenter_calls_answered_within_budget_total", queue=queue)
            == answered
        )
        assert _value(families, "callcenter_rings_to_answer_count", queue=queue) == answered
        for le in ("1.0", "3.0", "6.0", "+Inf"):
            bucket = _value(families, "callcenter_rings_to_answer_bucket", queue=queue, le=le)
            assert bucket == answered

    # The recordings cover every outcome counted here, so no assertion above is 0 == 0.
    assert {o for _, o in expected} >= {"answered", "abandoned", "answered_by_system"}
    assert _value(families, "callcenter_ami_connected") == 1
    assert _value(families, "callcenter_ami_reconnects_total") == 0
    assert _value(families, "callcenter_db_writer_healthy") == 1
    assert _value(families, "callcenter_db_write_backlog") == 0
    assert _value(families, "callcenter_records_written_total") == app[WRITER].written
    assert app[WRITER].written >= len(records)
    assert "callcenter_ami_event_lag_seconds" in families
    assert _value(families, "callcenter_callback_backlog") == 0
    assert _value(families, "callcenter_callbacks_overdue") == 0
