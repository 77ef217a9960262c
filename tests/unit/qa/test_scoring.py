"""The scoring form: weights and scale from configuration, totals out of 100, clear errors."""

from __future__ import annotations

import pytest

from callcenter import config as config_mod
from callcenter.config import ConfigError
from callcenter.qa.scoring import (
    DEFAULT_FORM,
    ScoringError,
    form_from_json,
    item_defects,
    parse_form,
    score_evaluation,
    score_form,
    total_score,
)

ALL = {"wording": 5, "attitude": 5, "tone": 5, "needs": 5, "adaptability": 5}


def test_default_form_has_the_five_items_equal_weights_scale_1_to_5() -> None:
    assert [(i.key, i.label_zh, i.weight) for i in DEFAULT_FORM.items] == [
        ("wording", "服務用語", 20.0),
        ("attitude", "服務態度", 20.0),
        ("tone", "語氣語調", 20.0),
        ("needs", "需求歸納能力", 20.0),
        ("adaptability", "應變能力", 20.0),
    ]
    assert (DEFAULT_FORM.scale_min, DEFAULT_FORM.scale_max) == (1, 5)


def test_total_is_the_weighted_position_on_the_scale_out_of_100() -> None:
    assert total_score(DEFAULT_FORM, ALL) == 100.0
    assert total_score(DEFAULT_FORM, dict.fromkeys(ALL, 1)) == 0.0
    assert total_score(DEFAULT_FORM, {**ALL, "tone": 3}) == 90.0  # one item half-way: -10
    heavy = parse_form('{"weights": {"tone": 60}}')  # 20*4 + 60 = 140
    assert total_score(heavy, {**ALL, "tone": 1}) == round(100 * 80 / 140, 2)
    ten = parse_form('{"scale": {"min": 0, "max": 10}}')
    assert total_score(ten, {**dict.fromkeys(ALL, 10), "needs": 5}) == 90.0


def test_a_valid_evaluation_keeps_comments_and_trims_them() -> None:
    scored = score_evaluation(
        DEFAULT_FORM, {**ALL, "tone": 2}, {"tone": "  flat voice ", "needs": ""}, " ok "
    )
    assert scored.scores["tone"] == 2
    assert scored.comments == {"tone": "flat voice"}
    assert scored.comment == "ok"
    assert scored.total == 85.0
    assert score_evaluation(DEFAULT_FORM, {**ALL, "tone": 4.0}, None, None).scores["tone"] == 4


@pytest.mark.parametrize(
    ("scores", "comments", "error_id", "detail"),
    [
        ([5, 5], {}, "scores-invalid", "items"),
        ({**ALL, "smile": 3}, {}, "score-item-unknown", "unknown"),
        ({k: v for k, v in ALL.items() if k != "tone"}, {}, "score-item-missing", "missing"),
        ({**ALL, "tone": "5"}, {}, "score-not-integer", "item"),
        ({**ALL, "tone": 4.5}, {}, "score-not-integer", "item"),
        ({**ALL, "tone": True}, {}, "score-not-integer", "item"),
        ({**ALL, "tone": 6}, {}, "score-out-of-range", "max"),
        ({**ALL, "tone": 0}, {}, "score-out-of-range", "min"),
        (ALL, {"smile": "x"}, "score-item-unknown", "unknown"),
        (ALL, {"tone": 5}, "comments-invalid", "item"),
        (ALL, {"tone": "x" * 2001}, "comment-too-long", "length"),
        (ALL, "nice", "comments-invalid", None),
    ],
)
def test_bad_evaluations_get_a_clear_error(
    scores: object, comments: object, error_id: str, detail: str | None
) -> None:
    with pytest.raises(ScoringError) as error:
        score_evaluation(DEFAULT_FORM, scores, comments, "")
    assert error.value.error_id == error_id
    if detail is not None:
        assert detail in error.value.details


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"colour": 1}',
        '{"items": []}',
        '{"items": [{"key": "A B"}]}',
        '{"items": [{"key": "a"}, {"key": "a"}]}',
        '{"weights": {"smile": 3}}',
        '{"weights": {"tone": 0}}',
        '{"weights": {"tone": "heavy"}}',
        '{"scale": {"min": 5, "max": 5}}',
        '{"scale": {"min": 1.5, "max": 5}}',
    ],
)
def test_bad_forms_are_refused(text: str) -> None:
    with pytest.raises(ScoringError) as error:
        parse_form(text)
    assert error.value.error_id == "form-invalid"


def test_a_whole_form_round_trips_through_its_snapshot() -> None:
    form = parse_form(
        '{"items": [{"key": "wording", "label_zh": "用語", "label_en": "Wording", "weight": 3},'
        ' {"key": "empathy", "weight": 1}], "scale": {"min": 1, "max": 3}}'
    )
    assert form.keys == ("wording", "empathy")
    assert form_from_json(form.to_json()) == form


def test_defects_are_items_below_the_threshold() -> None:
    scores = {**ALL, "tone": 2, "needs": 3}
    assert item_defects(DEFAULT_FORM, scores, None) == ["tone"]  # below the midpoint 3
    assert item_defects(DEFAULT_FORM, scores, 4) == ["tone", "needs"]


def test_form_and_thresholds_from_the_environment() -> None:
    loaded = score_form(config_mod.load({"CALLCENTER_QA_FORM": '{"weights": {"tone": 40}}'}).qa)
    assert loaded.item("tone") is not None
    assert loaded.item("tone").weight == 40.0  # type: ignore[union-attr]
    assert score_form(config_mod.load({}).qa) is DEFAULT_FORM
    bad = config_mod.load({"CALLCENTER_QA_FORM": '{"weights": {"tone": -1}}'})
    with pytest.raises(ConfigError, match="CALLCENTER_QA_FORM"):
        score_form(bad.qa)
    with pytest.raises(ConfigError, match="CALLCENTER_QA_SAMPLES_MIN"):
        config_mod.load({"CALLCENTER_QA_SAMPLES_MIN": "6", "CALLCENTER_QA_SAMPLES_MAX": "5"})
    forever = config_mod.load({"CALLCENTER_RECORDING_RETENTION_DAYS": "0"})
    assert forever.qa.retention_days == 0
    with pytest.raises(ConfigError):
        config_mod.load({"CALLCENTER_RECORDING_RETENTION_DAYS": "-1"})
