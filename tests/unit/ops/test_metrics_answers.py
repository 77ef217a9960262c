"""/metrics keeps the people apart from the system: answered by an agent within the
budget, answered by the system, and what became of the callers the system held.

The calls are real ones: the router-era transcripts (3 rings x 2 s) of a held caller
hanging up, pressing 1, being taken by an agent later, and a one-second abandon, plus
an agent answering on the first ring (app_queue era)."""

from __future__ import annotations

from callcenter.calls.record import CallRecord
from callcenter.calls.replay import ReplayReport, replay
from callcenter.calls.tracker import CallTracker
from callcenter.config import RingConfig
from callcenter.ops.metrics import CallMetrics
from tests.support.paths import AMI_FIXTURES

RING = RingConfig(cadence_seconds=2.0, budget_rings=3)
HELD = ("held_abandon", "held_callback", "held_then_agent")


def _records(*paths: str) -> list[CallRecord]:
    files = [AMI_FIXTURES / p for p in paths]
    return replay(files, CallTracker(RING), ReplayReport())


def _counts(metrics: CallMetrics, *names: str) -> tuple[float, ...]:
    labels = {"queue": "support"}
    return tuple(
        metrics.registry.get_sample_value(f"callcenter_calls_{n}_total", labels) or 0.0
        for n in names
    )


def test_system_answers_are_never_answered_within_the_budget() -> None:
    metrics = CallMetrics(RING)
    for record in _records(*(f"dashboard/{name}.ami" for name in HELD)):
        metrics.submit(record)
    assert _counts(
        metrics,
        "offered",
        "answered_by_system",
        "abandoned_after_system_answer",
        "answered_by_agent_after_system_answer",
        "answered_by_agent_within_budget",
        "answered_within_budget",
        "answered",
        "abandoned",
    ) == (3, 3, 1, 1, 0, 0, 0, 0)


def test_an_agent_answer_within_the_budget_counts_in_both_budget_series() -> None:
    metrics = CallMetrics(RING)
    for record in _records("answered_caller_hangs_up.ami", "dashboard/short_abandon.ami"):
        metrics.submit(record)
    assert _counts(
        metrics,
        "offered",
        "answered",
        "answered_by_agent_within_budget",
        "answered_within_budget",
        "abandoned",
        "answered_by_system",
    ) == (2, 1, 1, 1, 1, 0)


def test_the_old_budget_series_says_what_it_counts() -> None:
    metrics = CallMetrics(RING)
    (family,) = [
        f for f in metrics.registry.collect() if f.name == "callcenter_calls_answered_within_budget"
    ]
    assert "agent" in family.documentation
    assert "callcenter_calls_answered_by_system_total" in family.documentation
