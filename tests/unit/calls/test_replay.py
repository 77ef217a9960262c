"""Transcripts recorded from the project's real Asterisk, replayed offline.

Each `tests/fixtures/ami/<scenario>.ami` is the raw AMI stream of a scenario
run by tests/support/record_transcripts.py; its `.json` sidecar says what
happened on the phones. The tracker must agree with the phones.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from callcenter.calls.record import CallRecord, Outcome, Party
from callcenter.calls.replay import ReplayReport, replay
from callcenter.calls.tracker import CallTracker
from tests.support.paths import AMI_FIXTURES

SCENARIOS = sorted(p.stem for p in AMI_FIXTURES.glob("*.ami"))


def _replay(*names: str) -> tuple[list[CallRecord], ReplayReport]:
    report = ReplayReport()
    records = list(replay([AMI_FIXTURES / f"{n}.ami" for n in names], CallTracker(), report))
    return records, report


def _expected_outcomes(sidecar: dict[str, object]) -> list[str]:
    expected = sidecar["expected_outcome"]
    return list(expected) if isinstance(expected, list) else [str(expected)]


def test_all_five_scenarios_are_recorded() -> None:
    assert set(SCENARIOS) >= {
        "answered_caller_hangs_up",
        "answered_agent_hangs_up",
        "abandoned",
        "system_answered",
        "two_calls_two_agents",
    }


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_replay_agrees_with_what_happened_on_the_phones(scenario: str) -> None:
    sidecar = json.loads((AMI_FIXTURES / f"{scenario}.json").read_text())
    records, report = _replay(scenario)
    assert report.errors == []
    assert report.open_calls == []
    assert sorted(r.outcome.value for r in records) == sorted(_expected_outcomes(sidecar))
    callers = sidecar.get("caller_endpoints") or [sidecar["caller_endpoint"]]
    assert sorted(r.caller_number or "" for r in records) == sorted(callers)
    for record in records:
        assert record.queue == sidecar["queue"]
        assert record.dialled_number == sidecar["inbound_number"]
        assert record.hangup_first == Party(sidecar["hung_up_first"])
        assert record.arrived_at is not None and record.ended_at is not None
        caller_legs = [r for r in record.recordings if r.leg == "caller"]
        assert len(caller_legs) == 1 and caller_legs[0].uniqueid == record.linkedid
        if record.outcome is Outcome.ANSWERED:
            agents = sidecar.get("agent_endpoints") or [sidecar["agent_endpoint"]]
            assert record.agent in agents
            assert record.answered_by is Party.AGENT
            assert [r.leg for r in record.recordings] == ["caller", "agent"]
            assert record.rings_to_answer == 1
            assert record.talk_seconds is not None and record.talk_seconds > 1
        else:
            assert record.agent is None
            assert [r.leg for r in record.recordings] == ["caller"]


def test_two_simultaneous_calls_go_to_two_agents() -> None:
    records, _ = _replay("two_calls_two_agents")
    assert len(records) == 2
    assert {r.agent for r in records} == {"1001", "1002"}


def test_system_answer_after_the_budget_is_not_an_abandon() -> None:
    # app_queue reports QueueCallerAbandon on a timeout too; SystemAnswer follows.
    text = (AMI_FIXTURES / "system_answered.ami").read_bytes()
    assert b"QueueCallerAbandon" in text
    (record,) = _replay("system_answered")[0]
    budget = json.loads((AMI_FIXTURES / "system_answered.json").read_text())["ring_budget_seconds"]
    assert record.outcome is Outcome.ANSWERED_BY_SYSTEM
    assert record.answered_by is Party.SYSTEM
    assert record.answer_seconds is not None
    assert budget <= record.answer_seconds < budget + 1


def test_replaying_all_transcripts_as_one_stream_gives_one_record_per_call() -> None:
    records, _ = _replay(*SCENARIOS)
    singles = sum(len(_replay(name)[0]) for name in SCENARIOS)
    assert len(records) == singles == len({r.linkedid for r in records})


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "callcenter", "ami", "replay", *args],
        capture_output=True,
        input=stdin,
        timeout=60,
        check=False,
    )


def test_cli_prints_one_json_object_per_call() -> None:
    result = _cli(str(AMI_FIXTURES / "two_calls_two_agents.ami"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 2
    assert {json.loads(line)["outcome"] for line in lines} == {"answered"}


def test_cli_reads_a_json_event_list(tmp_path: Path) -> None:
    from callcenter.ami.transcript import read_messages

    events = [
        {**dict(m.pairs())}
        for m in read_messages(AMI_FIXTURES / "answered_agent_hangs_up.ami", lambda e: None)
        if m.is_event
    ]
    source = tmp_path / "events.json"
    source.write_text(json.dumps(events, ensure_ascii=False))
    wire = _cli(str(AMI_FIXTURES / "answered_agent_hangs_up.ami"))
    from_json = _cli(str(source))
    assert from_json.returncode == 0, from_json.stderr
    assert from_json.stdout == wire.stdout
    assert json.loads(from_json.stdout)["hangup_first"] == "agent"


def test_cli_reports_broken_frames_with_offsets_and_keeps_going(tmp_path: Path) -> None:
    data = (AMI_FIXTURES / "answered_caller_hangs_up.ami").read_bytes()
    cut = data.index(b"Event: AgentConnect")
    garbage = b"garbage without a colon\r\n\r\n"
    broken = tmp_path / "broken.ami"
    broken.write_bytes(data[:cut] + garbage + data[cut:] + b"Event: Hangup\r\nUniq")
    result = _cli(str(broken))
    assert result.returncode == 0
    stderr = result.stderr.decode()
    assert f"at byte {cut}:" in stderr
    assert "stream ended inside a frame" in stderr
    (line,) = result.stdout.decode().splitlines()
    assert json.loads(line)["outcome"] == "answered"


def test_cli_exits_non_zero_only_for_unreadable_files(tmp_path: Path) -> None:
    result = _cli(str(tmp_path / "missing.ami"), str(AMI_FIXTURES / "abandoned.ami"))
    assert result.returncode != 0
    assert b"cannot read" in result.stderr
    assert json.loads(result.stdout)["outcome"] == "abandoned"
