"""Metric definitions against transcripts recorded from the real Asterisk.

tests/fixtures/ami/*.ami are the app_queue-era scenarios (tests/support/
record_transcripts.py); tests/fixtures/ami/dashboard/*.ami were recorded with the
router (tests/support/record_dashboard_transcripts.py): press 1, held abandons,
a held call taken by an agent, a short abandon.

Hand-checked values (from the records the transcripts replay to):
- answered_caller_hangs_up: an agent answered after 0.012 s, talk 3.031 s;
- answered_agent_hangs_up: an agent answered after 0.005 s, talk 4.007 s;
- two_calls_two_agents: agents answered after 0.020 s and 0.014 s, talk 3.032 s, 3.039 s;
- abandoned: the caller hung up while it rang, after 4.050 s;
- system_answered: the system answered (no agent), the system hung up.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.ami.transcript import read_messages
from callcenter.calls.record import CallRecord, Party
from callcenter.config import RingConfig
from callcenter.dashboard.definitions import (
    Result,
    abandon_rate,
    answered_by_system_share,
    average_handle_time,
    average_speed_of_answer,
    classify,
    compute,
    service_level_answered,
    service_level_offered,
)
from callcenter.dashboard.live import LiveModel
from callcenter.dashboard.windows import DAY
from tests.support.dashboard_replay import model_for, replay_into
from tests.support.paths import AMI_FIXTURES

ALL_FIVE = [
    "answered_caller_hangs_up",
    "answered_agent_hangs_up",
    "two_calls_two_agents",
    "abandoned",
    "system_answered",
]


def _paths(*names: str) -> list[Path]:
    return [AMI_FIXTURES / f"{n}.ami" for n in names]


def test_answered_call_is_within_budget_with_its_talk_time() -> None:
    model = model_for()
    records, _ = replay_into(_paths("answered_caller_hangs_up"), model)
    (record,) = records
    facts = classify(record, model.settings.ring)
    assert facts is not None
    assert facts.first_answer is Party.AGENT and facts.within_budget
    assert facts.result is Result.HANDLED
    assert facts.agent_answer_seconds == pytest.approx(0.012)
    t = model.rolling.totals(DAY)
    assert (t.offered, t.answered, t.within_budget, t.abandoned) == (1, 1, 1, 0)
    assert service_level_answered(t) == 1.0
    assert average_handle_time(t) == pytest.approx(3.03, abs=0.01)


def test_abandoned_call_and_the_short_abandon_threshold() -> None:
    for threshold, short, sl_offered in ((5.0, 1, None), (3.0, 0, 0.0)):
        model = model_for(short_abandon=threshold)
        replay_into(_paths("abandoned"), model)
        t = model.rolling.totals(DAY)
        assert (t.offered, t.answered, t.abandoned, t.abandoned_ringing) == (1, 0, 1, 1)
        assert t.short_abandoned == short
        assert abandon_rate(t) == 1.0
        assert service_level_answered(t) is None  # nothing answered: no ratio, not 0 %
        assert service_level_offered(t) == sl_offered


def test_system_answered_call_is_answered_but_not_within_budget() -> None:
    model = model_for()
    records, _ = replay_into(_paths("system_answered"), model)
    (record,) = records
    facts = classify(record, model.settings.ring)
    assert facts is not None
    assert facts.first_answer is Party.SYSTEM and not facts.within_budget
    # the system hung up on it (it was recorded before hold music): not a caller's abandon
    assert facts.result is Result.OTHER
    t = model.rolling.totals(DAY)
    assert (t.answered, t.answered_by_system, t.within_budget, t.abandoned) == (1, 1, 0, 0)
    assert service_level_answered(t) == 0.0
    assert answered_by_system_share(t) == 1.0
    assert average_speed_of_answer(t) is None  # no agent answered


@pytest.mark.parametrize(
    ("threshold", "expected_sl_offered"),
    [(5.0, 0.8), (3.0, 0.6667)],
)
def test_all_transcripts_together_hand_checked(
    threshold: float, expected_sl_offered: float
) -> None:
    model = model_for(short_abandon=threshold)
    records, _ = replay_into(_paths(*ALL_FIVE), model)
    assert len(records) == 6
    t = model.rolling.totals(DAY)
    assert t.offered == 6
    assert (t.answered, t.answered_by_agent, t.answered_by_system) == (5, 4, 1)
    assert (t.within_budget, t.handled, t.abandoned, t.callbacks) == (4, 4, 1, 0)
    values = compute(t)
    assert values["service_level"] == 0.8  # 4 / 5
    assert values["service_level_offered"] == expected_sl_offered  # 4 / (5 + 1 - short)
    assert values["abandon_rate"] == pytest.approx(1 / 6, abs=1e-4)
    assert values["answered_by_system_share"] == 0.2
    # (0.012 + 0.005 + 0.020 + 0.014) / 4 = 0.013 s
    assert t.asa_sum == pytest.approx(0.051, abs=1e-3)
    assert values["asa"] == pytest.approx(0.01, abs=0.01)
    # (3.031 + 4.007 + 3.032 + 3.039) / 4 = 3.277 s; no wrap-up in these transcripts
    assert values["aht"] == pytest.approx(3.28, abs=0.01)
    queue = model.rolling.totals(DAY, "queue:support")
    assert queue.offered == 6
    per_agent = {k: v.handled for k, v in model.rolling.groups(DAY).items() if "agent:" in k}
    assert sum(per_agent.values()) == 4 and set(per_agent) <= {"agent:1001", "agent:1002"}


def test_live_view_during_replay_sees_waiting_then_talking() -> None:
    """Every change the live model reports, in order: waiting, talking, gone."""
    model = model_for()
    states: list[str] = []
    for message in read_messages(AMI_FIXTURES / "answered_caller_hangs_up.ami", lambda e: None):
        if not message.is_event:
            continue
        if model.on_event(message, message.timestamp or 0.0):
            calls = list(model.calls.values())
            states.append("none" if not calls else "waiting" if calls[0].waiting else "talking")
    assert states[0] == "waiting"
    assert "talking" in states
    assert states[-1] == "none"  # the caller's hang-up ends it
    assert states.index("talking") > 0


# -- router-era transcripts (tests/support/record_dashboard_transcripts.py): 3 rings x 2 s --

ROUTED_RING = RingConfig(cadence_seconds=2.0, budget_rings=3)
ROUTED = ["held_callback", "held_abandon", "held_then_agent", "short_abandon"]


def _routed(*names: str, short_abandon: float = 5.0) -> tuple[LiveModel, list[CallRecord]]:
    model = model_for(short_abandon=short_abandon, ring=ROUTED_RING)
    records, _ = replay_into([AMI_FIXTURES / "dashboard" / f"{n}.ami" for n in names], model)
    return model, records


def test_press_1_is_a_callback_request_not_an_abandon() -> None:
    model, (record,) = _routed("held_callback")
    assert record.answered_by is Party.SYSTEM and record.hangup_first is Party.SYSTEM
    t = model.rolling.totals(DAY)
    assert (t.offered, t.answered_by_system, t.callbacks, t.abandoned) == (1, 1, 1, 0)
    assert abandon_rate(t) == 0.0


def test_hanging_up_while_held_is_an_abandon_but_still_answered_by_the_system() -> None:
    model, (record,) = _routed("held_abandon")
    assert record.answered_by is Party.SYSTEM and record.hangup_first is Party.CALLER
    t = model.rolling.totals(DAY)
    assert (t.answered, t.answered_by_system, t.abandoned, t.abandoned_ringing) == (1, 1, 1, 0)
    assert abandon_rate(t) == 1.0
    assert service_level_answered(t) == 0.0
    assert service_level_offered(t) == 0.0  # 0 / (1 answered + 0 ringing abandons)


def test_a_held_call_taken_by_an_agent_counts_its_time_to_the_agent() -> None:
    # Newchannel 1795447073.955460, SystemAnswer 1795447078.513835,
    # AgentConnected 1795447085.797639, caller's Hangup 1795447088.890550
    model, (record,) = _routed("held_then_agent")
    assert record.answered_by is Party.SYSTEM and record.agent == "1001"
    t = model.rolling.totals(DAY)
    assert (t.answered_by_system, t.handled, t.within_budget) == (1, 1, 0)
    assert average_speed_of_answer(t) == pytest.approx(11.84, abs=0.01)
    assert average_handle_time(t) == pytest.approx(3.09, abs=0.01)  # with the agent only
    assert model.rolling.totals(DAY, "agent:1001").handled == 1


def test_a_one_second_abandon_is_short() -> None:
    for threshold, short in ((5.0, 1), (1.0, 0)):
        model, (record,) = _routed("short_abandon", short_abandon=threshold)
        assert record.ended_at is not None and record.arrived_at is not None
        assert record.ended_at - record.arrived_at == pytest.approx(1.047, abs=0.01)
        t = model.rolling.totals(DAY)
        assert (t.abandoned, t.abandoned_ringing, t.short_abandoned) == (1, 1, short)


def test_router_transcripts_together() -> None:
    model, records = _routed(*ROUTED)
    assert len(records) == 4
    values = compute(model.rolling.totals(DAY))
    t = model.rolling.totals(DAY)
    assert (t.offered, t.answered, t.abandoned, t.callbacks, t.handled) == (4, 3, 2, 1, 1)
    assert values["abandon_rate"] == 0.5  # held_abandon + short_abandon; press 1 is not one
    assert values["service_level"] == 0.0  # nobody answered within 3 rings
    assert values["service_level_offered"] == 0.0  # 0 / (3 + 1 - 1 short)
    assert values["answered_by_system_share"] == 1.0
