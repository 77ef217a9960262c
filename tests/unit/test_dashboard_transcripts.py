"""Metric definitions against transcripts recorded from the real Asterisk.

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
from callcenter.calllog.record import Party
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
from callcenter.dashboard.windows import DAY
from tests.support.dashboard_replay import FIXTURES, model_for, replay_into

ALL_FIVE = [
    "answered_caller_hangs_up",
    "answered_agent_hangs_up",
    "two_calls_two_agents",
    "abandoned",
    "system_answered",
]


def _paths(*names: str) -> list[Path]:
    return [FIXTURES / f"{n}.ami" for n in names]


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
    for message in read_messages(FIXTURES / "answered_caller_hangs_up.ami", lambda e: None):
        if not message.is_event:
            continue
        if model.on_event(message, message.timestamp or 0.0):
            calls = list(model.calls.values())
            states.append("none" if not calls else "waiting" if calls[0].waiting else "talking")
    assert states[0] == "waiting"
    assert "talking" in states
    assert states[-1] == "none"  # the caller's hang-up ends it
    assert states.index("talking") > 0
