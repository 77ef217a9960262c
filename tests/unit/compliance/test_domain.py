"""The per-call facts from a finished record: which flags an answered call raises."""

from __future__ import annotations

import dataclasses

from callcenter.calls.record import CallRecord, Outcome
from callcenter.compliance.domain import (
    AGENT_HUNG_UP_FIRST,
    DEAD_AIR_FLAG,
    NO_AGENT_VOICE,
    compliance_facts,
    voice_path,
)
from tests.support.ami_events import AGENT, CALLER, agent_answers, arrival, hangups, run


def _answered(first: str = CALLER) -> CallRecord:
    reason = "caller" if first == CALLER else "agent"
    (record,) = run([*arrival(), *agent_answers(3.0), *hangups(10.0, first, reason)])
    return record


def test_a_prompt_agent_whom_the_caller_leaves_raises_no_flag() -> None:
    facts = compliance_facts(_answered(), 0.4, voice_found=True, max_dead_air=3.0)
    assert facts is not None
    assert facts.flags == () and facts.agent_hung_up_first is False
    assert facts.dead_air_seconds == 0.4 and facts.greeting_played


def test_dead_air_and_hanging_up_first_are_flagged() -> None:
    facts = compliance_facts(
        _answered(first=AGENT), 7.456, voice_found=True, max_dead_air=3.0, staff_no="1001"
    )
    assert facts is not None
    assert facts.flags == (DEAD_AIR_FLAG, AGENT_HUNG_UP_FIRST)
    assert facts.dead_air_seconds == 7.46 and facts.staff_no == "1001"
    assert facts.to_json()["flags"] == [DEAD_AIR_FLAG, AGENT_HUNG_UP_FIRST]


def test_no_recorded_voice_is_its_own_flag_not_dead_air() -> None:
    facts = compliance_facts(_answered(), None, voice_found=False, max_dead_air=3.0)
    assert facts is not None and facts.flags == (NO_AGENT_VOICE,)


def test_calls_no_agent_talked_on_have_no_facts() -> None:
    abandoned = dataclasses.replace(_answered(), outcome=Outcome.ABANDONED)
    assert compliance_facts(abandoned, 0.1, voice_found=True, max_dead_air=3.0) is None


def test_the_voice_file_sits_next_to_the_agent_leg() -> None:
    assert voice_path("2026/11/14/1.2/1.2-agent.wav") == "2026/11/14/1.2/1.2-agent-voice.wav"
