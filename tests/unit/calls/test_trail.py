"""The durable trail (CEL) rebuilds the same calls as the live AMI stream did.

Each fixture scenario was recorded twice by the same real Asterisk: the AMI
stream (`.ami`) and the CEL lines Asterisk wrote for the same calls
(`.cel.jsonl`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callcenter.calls.record import RECONSTRUCTED, CallRecord
from callcenter.calls.replay import ReplayReport, replay
from callcenter.calls.tracker import CallTracker
from callcenter.calls.trail import TrailReadReport, read_rows, rebuild
from callcenter.config import RingConfig, TrackerConfig
from tests.support.paths import AMI_FIXTURES

SCENARIOS = sorted(p.name.removesuffix(".cel.jsonl") for p in AMI_FIXTURES.glob("*.cel.jsonl"))


def _live(name: str) -> dict[str, CallRecord]:
    records = replay([AMI_FIXTURES / f"{name}.ami"], CallTracker(), ReplayReport())
    return {r.linkedid: r for r in records}


def _trail(name: str) -> dict[str, CallRecord]:
    rows = read_rows(AMI_FIXTURES / f"{name}.cel.jsonl", None, TrailReadReport())
    rebuilt = rebuild(rows, RingConfig(), TrackerConfig())
    assert rebuilt.partial == {}
    return {r.linkedid: r for r in rebuilt.complete}


def test_every_scenario_has_its_trail() -> None:
    assert len(SCENARIOS) == 5


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_trail_rebuilds_what_the_live_stream_recorded(scenario: str) -> None:
    live, trail = _live(scenario), _trail(scenario)
    assert set(trail) == set(live)
    for linkedid, seen in live.items():
        rebuilt = trail[linkedid]
        assert rebuilt.notes == (RECONSTRUCTED,)
        for field in (
            "direction",
            "caller_number",
            "dialled_number",
            "queue",
            "outcome",
            "answered_by",
            "agent",
            "hangup_first",
            "hangup_cause",
        ):
            assert getattr(rebuilt, field) == getattr(seen, field), field
        # The same files; start times differ by the microseconds between the two events.
        assert [(r.uniqueid, r.leg, r.path) for r in rebuilt.recordings] == [
            (r.uniqueid, r.leg, r.path) for r in seen.recordings
        ]
        for field in ("arrived_at", "answered_at", "ended_at", "talk_seconds", "answer_seconds"):
            a, b = getattr(rebuilt, field), getattr(seen, field)
            assert (a is None) == (b is None), field
            if a is not None:
                assert abs(a - b) < 0.05, (field, a, b)


def test_a_call_still_in_progress_is_partial_not_complete() -> None:
    lines = (AMI_FIXTURES / "answered_caller_hangs_up.cel.jsonl").read_text().splitlines()
    cut = next(i for i, line in enumerate(lines) if '"HANGUP"' in line)
    rows = [json.loads(line) for line in lines[:cut]]
    rebuilt = rebuild(rows, RingConfig(), TrackerConfig())
    assert rebuilt.complete == []
    ((_linkedid, events),) = rebuilt.partial.items()
    assert events[0].name == "Newchannel"
    assert {e.name for e in events} >= {"AgentConnect", "UserEvent"}


def test_malformed_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    source = (AMI_FIXTURES / "abandoned.cel.jsonl").read_text().splitlines()
    broken = tmp_path / "cel.jsonl"
    broken.write_text("\n".join([source[0], "{not json", '{"eventtype": "X"}', *source[1:]]))
    report = TrailReadReport()
    rows = read_rows(broken, None, report)
    assert report.malformed == [2, 3]
    (record,) = rebuild(rows, RingConfig(), TrackerConfig()).complete
    assert record.outcome.value == "abandoned"


def test_since_filters_old_rows_and_a_missing_file_is_empty(tmp_path: Path) -> None:
    path = AMI_FIXTURES / "two_calls_two_agents.cel.jsonl"
    rows = read_rows(path, None, TrailReadReport())
    latest = max(float(r["eventtime"]) for r in rows)
    assert read_rows(path, latest + 1, TrailReadReport()) == []
    assert read_rows(tmp_path / "none.jsonl", None, TrailReadReport()) == []


def test_a_sourceless_agent_hangup_first_does_not_hide_the_callers() -> None:
    # Seen live: the queue tore down the ringing agent leg (no hangupsource) before
    # the caller's own HANGUP row was written.
    lines = [json.loads(x) for x in (AMI_FIXTURES / "abandoned.cel.jsonl").read_text().splitlines()]
    hangups = [i for i, row in enumerate(lines) if row["eventtype"] == "HANGUP"]
    caller_i, agent_i = hangups
    assert lines[caller_i]["uniqueid"] == lines[caller_i]["linkedid"]
    lines[caller_i], lines[agent_i] = lines[agent_i], lines[caller_i]
    (record,) = rebuild(lines, RingConfig(), TrackerConfig()).complete
    assert record.outcome.value == "abandoned"
