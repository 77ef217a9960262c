"""QA reports: monthly summary per agent, weekly defects, calibration side by side."""

from __future__ import annotations

from callcenter.qa.reports import (
    CallFlags,
    EvaluationFact,
    calibration_view,
    monthly_summary,
    weekly_defects,
)
from callcenter.qa.scoring import DEFAULT_FORM, total_score

GOOD = {"wording": 5, "attitude": 4, "tone": 4, "needs": 5, "adaptability": 4}


def fact(
    n: int, agent: str, inspector: str = "qa1", calibration: bool = False, **scores: int
) -> EvaluationFact:
    filled = {**GOOD, **scores}
    return EvaluationFact(
        evaluation_id=n,
        linkedid=f"call-{n}",
        agent=agent,
        inspector=inspector,
        scores=filled,
        total=total_score(DEFAULT_FORM, filled),
        form=DEFAULT_FORM,
        calibration=calibration,
    )


def test_monthly_summary_averages_items_totals_and_counts_defects() -> None:
    rows = monthly_summary(
        [
            fact(1, "1001", tone=2),
            fact(2, "1001", tone=4, needs=1),
            fact(3, "1002"),
            fact(4, "1001", inspector="qa2", calibration=True, tone=1),  # calibration: not counted
        ],
        DEFAULT_FORM,
        None,
    )
    first, second = rows
    assert first["agent"] == "1001" and first["evaluations"] == 2
    assert first["items"]["tone"] == 3.0
    assert first["items"]["needs"] == 3.0
    assert first["defects"] == 2 and first["defects_by_item"] == {"needs": 1, "tone": 1}
    assert first["total"] == round(
        (fact(1, "x", tone=2).total + fact(2, "x", tone=4, needs=1).total) / 2, 2
    )
    assert second == {
        "agent": "1002",
        "evaluations": 1,
        "locked": 0,
        "total": 85.0,
        "total_min": 85.0,
        "total_max": 85.0,
        "items": {k: float(v) for k, v in GOOD.items()},
        "defects": 0,
        "defects_by_item": {},
    }


def test_weekly_defects_rank_items_checks_and_compliance_flags() -> None:
    evaluations = [fact(1, "1001", tone=1), fact(2, "1002", tone=2, wording=2), fact(3, "1002")]
    calls = [
        CallFlags("a", "1001", ("dead-air",), ("greeting",)),
        CallFlags("b", "1001", ("dead-air", "agent-hung-up-first")),
        CallFlags("c", "1002", ("dead-air",), ("greeting", "forbidden-phrases")),
    ]
    rows = weekly_defects(evaluations, calls, DEFAULT_FORM, None)
    ranked = [(r["kind"], r["key"], r["count"]) for r in rows]
    assert ranked == [
        ("compliance", "dead-air", 3),
        ("check", "greeting", 2),
        ("item", "tone", 2),
        ("check", "forbidden-phrases", 1),
        ("compliance", "agent-hung-up-first", 1),
        ("item", "wording", 1),
    ]
    assert rows[0]["agents"] == {"1001": 2, "1002": 1}
    assert rows[2]["label_zh"] == "語氣語調"
    assert rows[0]["label_en"] == "Dead air after connecting"


def test_calibration_shows_each_inspectors_scores_and_the_spread() -> None:
    view = calibration_view(
        DEFAULT_FORM,
        [fact(2, "1001", "qa2", True, tone=2), fact(1, "1001", "qa1", False, tone=5)],
    )
    assert view["inspectors"] == ["qa1", "qa2"]  # the primary first
    tone = next(i for i in view["items"] if i["key"] == "tone")
    assert tone["scores"] == {"qa1": 5, "qa2": 2}
    assert tone["spread"] == 3 and tone["mean"] == 3.5
    wording = next(i for i in view["items"] if i["key"] == "wording")
    assert wording["spread"] == 0
    assert view["total_spread"] == round(view["totals"]["qa1"] - view["totals"]["qa2"], 2)
