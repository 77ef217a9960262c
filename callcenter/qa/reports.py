"""QA reports from evaluations and call facts: pure aggregation.

- monthly summary per agent (SERVICE_RULES 5: 月度匯總): evaluations, average
  per item and total, defects (items scored below the threshold);
- weekly analysis: the most common defects of the week, from the
  inspectors' scores, the automatic checks and the compliance flags;
- calibration: several inspectors' scores of one call side by side.
Only an assignment's first inspector counts in the summary; calibration
evaluations would otherwise weigh a call twice.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from callcenter.qa.scoring import ScoreForm, item_defects

# Labels of the facts that are not scoring items (zh, en).
FACT_LABELS: dict[str, tuple[str, str]] = {
    "dead-air": ("開場冷場", "Dead air after connecting"),
    "agent-hung-up-first": ("座席先掛機", "Agent hung up first"),
    "agent-voice-not-recorded": ("座席聲音未錄到", "Agent voice not recorded"),
    "missing-greeting": ("缺少問候語", "Greeting missing"),
    "greeting": ("問聲不完整", "Greeting incomplete"),
    "forbidden-phrase": ("使用禁語", "Forbidden phrase"),
    "closing": ("送聲不完整", "Closing incomplete"),
    # The ASR helper's script checks (callcenter.asr.checks).
    "forbidden-phrases": ("使用禁語", "Forbidden phrase"),
    "closing-question": ("未問還有什麼需要幫助", "Closing question missing"),
    "goodbye": ("未說再見", "Goodbye missing"),
    "hang-up-order": ("座席先掛機", "Agent hung up first"),
}


@dataclass(frozen=True)
class EvaluationFact:
    evaluation_id: int
    linkedid: str
    agent: str
    inspector: str
    scores: Mapping[str, int]
    total: float
    form: ScoreForm  # the form it was scored on
    calibration: bool = False
    locked: bool = False


@dataclass(frozen=True)
class CallFlags:
    """Per call, the compliance flags and failed automatic checks."""

    linkedid: str
    agent: str
    compliance: tuple[str, ...] = ()
    failed_checks: tuple[str, ...] = ()


def _round(value: float) -> float:
    return round(value, 2)


def monthly_summary(
    evaluations: Iterable[EvaluationFact], form: ScoreForm, defect_below: float | None
) -> list[dict[str, Any]]:
    by_agent: dict[str, list[EvaluationFact]] = defaultdict(list)
    for evaluation in evaluations:
        if not evaluation.calibration:
            by_agent[evaluation.agent].append(evaluation)
    rows = []
    for agent in sorted(by_agent):
        done = by_agent[agent]
        items: dict[str, list[int]] = defaultdict(list)
        defects: Counter[str] = Counter()
        for evaluation in done:
            for key, value in evaluation.scores.items():
                items[key].append(value)
            defects.update(item_defects(evaluation.form, evaluation.scores, defect_below))
        keys = [*form.keys, *sorted(set(items) - set(form.keys))]
        rows.append(
            {
                "agent": agent,
                "evaluations": len(done),
                "locked": sum(1 for e in done if e.locked),
                "total": _round(fmean(e.total for e in done)),
                "total_min": _round(min(e.total for e in done)),
                "total_max": _round(max(e.total for e in done)),
                "items": {k: _round(fmean(items[k])) for k in keys if items[k]},
                "defects": sum(defects.values()),
                "defects_by_item": dict(sorted(defects.items())),
            }
        )
    return rows


def weekly_defects(
    evaluations: Iterable[EvaluationFact],
    calls: Iterable[CallFlags],
    form: ScoreForm,
    defect_below: float | None,
) -> list[dict[str, Any]]:
    """Defects of the week, most common first: each with its count and agents."""
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for evaluation in evaluations:
        for key in item_defects(evaluation.form, evaluation.scores, defect_below):
            counts[("item", key)][evaluation.agent] += 1
    for call in calls:
        for flag in set(call.compliance):
            counts[("compliance", flag)][call.agent] += 1
        for check in set(call.failed_checks):
            counts[("check", check)][call.agent] += 1
    ordered = sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    rows = []
    for (kind, key), agents in ordered:
        label_zh, label_en = _labels(kind, key, form)
        rows.append(
            {
                "kind": kind,
                "key": key,
                "label_zh": label_zh,
                "label_en": label_en,
                "count": sum(agents.values()),
                "agents": dict(sorted(agents.items(), key=lambda a: (-a[1], a[0]))),
            }
        )
    return rows


def _labels(kind: str, key: str, form: ScoreForm) -> tuple[str, str]:
    if kind == "item":
        item = form.item(key)
        if item is not None:
            return item.label_zh, item.label_en
    return FACT_LABELS.get(key, (key, key))


def calibration_view(form: ScoreForm, evaluations: Sequence[EvaluationFact]) -> dict[str, Any]:
    """Scores per item and inspector, with the spread (max - min) of each item and of the total."""
    ordered = sorted(evaluations, key=lambda e: (e.calibration, e.inspector))
    keys = list(form.keys)
    for evaluation in ordered:
        keys.extend(k for k in evaluation.scores if k not in keys)
    items = []
    for key in keys:
        scores = {e.inspector: e.scores[key] for e in ordered if key in e.scores}
        label_zh, label_en = _labels("item", key, form)
        values = list(scores.values())
        items.append(
            {
                "key": key,
                "label_zh": label_zh,
                "label_en": label_en,
                "scores": scores,
                "mean": _round(fmean(values)) if values else None,
                "spread": (max(values) - min(values)) if values else None,
            }
        )
    totals = {e.inspector: e.total for e in ordered}
    return {
        "inspectors": [e.inspector for e in ordered],
        "items": items,
        "totals": totals,
        "total_spread": _round(max(totals.values()) - min(totals.values())) if totals else None,
    }
