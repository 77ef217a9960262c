"""The scoring form (SERVICE_RULES section 5) and the validation of a filled form.

Pure. The five items and their weights are configuration (`CALLCENTER_QA_FORM`);
the total is the weighted mean of each item's position on the scale,
normalised to 0-100, so forms with other weights or scales stay comparable.
An evaluation keeps the form it was scored on (`ScoreForm.to_json`), so
changing the weights later rewrites no history.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from callcenter.config import ConfigError, QaConfig
from callcenter.kernel.errors import DomainError

MAX_ITEM_COMMENT = 2000
MAX_COMMENT = 4000
_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class ScoringError(DomainError, ValueError):
    """A form or an evaluation that cannot be accepted; `error_id` is stable."""


@dataclass(frozen=True)
class FormItem:
    key: str
    label_zh: str
    label_en: str
    weight: float

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label_zh": self.label_zh,
            "label_en": self.label_en,
            "weight": self.weight,
        }


@dataclass(frozen=True)
class ScoreForm:
    items: tuple[FormItem, ...]
    scale_min: int = 1
    scale_max: int = 5

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(item.key for item in self.items)

    def item(self, key: str) -> FormItem | None:
        return next((i for i in self.items if i.key == key), None)

    @property
    def midpoint(self) -> float:
        return (self.scale_min + self.scale_max) / 2

    def to_json(self) -> dict[str, Any]:
        return {
            "items": [item.to_json() for item in self.items],
            "scale": {"min": self.scale_min, "max": self.scale_max},
        }


DEFAULT_FORM = ScoreForm(
    items=(
        FormItem("wording", "服務用語", "Service wording", 20.0),
        FormItem("attitude", "服務態度", "Attitude", 20.0),
        FormItem("tone", "語氣語調", "Tone and intonation", 20.0),
        FormItem("needs", "需求歸納能力", "Summarising the need", 20.0),
        FormItem("adaptability", "應變能力", "Adaptability", 20.0),
    ),
    scale_min=1,
    scale_max=5,
)


def parse_form(text: str, base: ScoreForm = DEFAULT_FORM) -> ScoreForm:
    """A form from JSON text.

    Either a whole form, `{"items": [{"key", "label_zh", "label_en", "weight"}],
    "scale": {"min", "max"}}`, or only what changes from `base`:
    `{"weights": {"tone": 30}, "scale": {"min": 1, "max": 10}}`.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScoringError("form-invalid", f"the form is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ScoringError("form-invalid", "the form must be a JSON object")
    return form_from_json(data, base)


def form_from_json(data: Mapping[str, Any], base: ScoreForm = DEFAULT_FORM) -> ScoreForm:
    unknown = set(data) - {"items", "scale", "weights"}
    if unknown:
        raise ScoringError(
            "form-invalid",
            f"unknown form fields: {sorted(unknown)}",
            allowed=["items", "scale", "weights"],
        )
    items = list(base.items)
    if "items" in data:
        raw_items = data["items"]
        if not isinstance(raw_items, list) or not raw_items:
            raise ScoringError("form-invalid", "form items must be a non-empty list")
        items = [_item(raw, n) for n, raw in enumerate(raw_items)]
    if "weights" in data:
        weights = data["weights"]
        if not isinstance(weights, dict):
            raise ScoringError("form-invalid", "weights must be an object {item: weight}")
        keys = {item.key for item in items}
        stray = sorted(set(weights) - keys)
        if stray:
            raise ScoringError(
                "form-invalid", f"weights for unknown items: {stray}", items=sorted(keys)
            )
        items = [
            FormItem(i.key, i.label_zh, i.label_en, _weight(weights.get(i.key, i.weight), i.key))
            for i in items
        ]
    scale_min, scale_max = base.scale_min, base.scale_max
    if "scale" in data:
        scale = data["scale"]
        if not isinstance(scale, dict):
            raise ScoringError("form-invalid", 'scale must be an object {"min": 1, "max": 5}')
        scale_min = _int_field(scale.get("min", scale_min), "scale.min")
        scale_max = _int_field(scale.get("max", scale_max), "scale.max")
    if scale_min >= scale_max:
        raise ScoringError(
            "form-invalid", f"scale min ({scale_min}) must be below max ({scale_max})"
        )
    keys_seen = [item.key for item in items]
    duplicates = sorted({k for k in keys_seen if keys_seen.count(k) > 1})
    if duplicates:
        raise ScoringError("form-invalid", f"duplicate item keys: {duplicates}")
    return ScoreForm(tuple(items), scale_min, scale_max)


def _item(raw: object, n: int) -> FormItem:
    if not isinstance(raw, dict):
        raise ScoringError("form-invalid", f"item {n} must be an object")
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        raise ScoringError(
            "form-invalid", f"item {n}: key must be lower-case letters, digits, - or _", got=key
        )
    labels = [raw.get("label_zh", key), raw.get("label_en", key)]
    if not all(isinstance(label, str) and label for label in labels):
        raise ScoringError("form-invalid", f"item {key}: labels must be non-empty strings")
    return FormItem(key, str(labels[0]), str(labels[1]), _weight(raw.get("weight", 20), key))


def _weight(raw: object, key: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ScoringError("form-invalid", f"item {key}: weight must be a number", got=raw)
    if raw <= 0:
        raise ScoringError("form-invalid", f"item {key}: weight must be positive", got=raw)
    return float(raw)


def _int_field(raw: object, name: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ScoringError("form-invalid", f"{name} must be an integer", got=raw)
    return raw


@dataclass(frozen=True)
class Scored:
    """A validated evaluation: scores for every item, comments, the total out of 100."""

    scores: dict[str, int]
    comments: dict[str, str]
    comment: str
    total: float


def total_score(form: ScoreForm, scores: Mapping[str, int]) -> float:
    """Weighted mean of each item's position on the scale, 0-100, two decimals."""
    span = form.scale_max - form.scale_min
    weights = sum(item.weight for item in form.items)
    weighted = sum(item.weight * (scores[item.key] - form.scale_min) / span for item in form.items)
    return round(100.0 * weighted / weights, 2)


def score_evaluation(form: ScoreForm, scores: object, comments: object, comment: object) -> Scored:
    """Validate a filled form; every error names the item and what is allowed."""
    if not isinstance(scores, dict):
        raise ScoringError(
            "scores-invalid", "scores must be an object {item: score}", items=list(form.keys)
        )
    unknown = sorted(str(k) for k in scores if k not in form.keys)
    if unknown:
        raise ScoringError(
            "score-item-unknown",
            f"no such items on the form: {unknown}",
            unknown=unknown,
            items=list(form.keys),
        )
    missing = [k for k in form.keys if k not in scores]
    if missing:
        raise ScoringError(
            "score-item-missing", f"every item needs a score; missing: {missing}", missing=missing
        )
    clean: dict[str, int] = {}
    for key in form.keys:
        value = scores[key]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScoringError(
                "score-not-integer", f"{key}: the score must be a whole number", item=key, got=value
            )
        if not form.scale_min <= value <= form.scale_max:
            raise ScoringError(
                "score-out-of-range",
                f"{key}: {value} is outside the scale {form.scale_min}-{form.scale_max}",
                item=key,
                got=value,
                min=form.scale_min,
                max=form.scale_max,
            )
        clean[key] = value
    return Scored(clean, _comments(form, comments), _comment(comment), total_score(form, clean))


def _comments(form: ScoreForm, comments: object) -> dict[str, str]:
    if comments is None:
        return {}
    if not isinstance(comments, dict):
        raise ScoringError("comments-invalid", "comments must be an object {item: text}")
    clean: dict[str, str] = {}
    for key, text in comments.items():
        if key not in form.keys:
            raise ScoringError(
                "score-item-unknown",
                f"a comment for an item not on the form: {key!r}",
                unknown=[key],
                items=list(form.keys),
            )
        if text is None or text == "":
            continue
        if not isinstance(text, str):
            raise ScoringError("comments-invalid", f"{key}: a comment must be text", item=key)
        if len(text) > MAX_ITEM_COMMENT:
            raise ScoringError(
                "comment-too-long",
                f"{key}: comments are at most {MAX_ITEM_COMMENT} characters",
                item=key,
                length=len(text),
            )
        clean[key] = text.strip()
    return clean


def _comment(comment: object) -> str:
    if comment is None:
        return ""
    if not isinstance(comment, str):
        raise ScoringError("comments-invalid", "comment must be text")
    if len(comment) > MAX_COMMENT:
        raise ScoringError(
            "comment-too-long",
            f"the overall comment is at most {MAX_COMMENT} characters",
            length=len(comment),
        )
    return comment.strip()


def item_defects(form: ScoreForm, scores: Mapping[str, int], below: float | None) -> list[str]:
    """Items scored below the threshold (default: below the scale's midpoint)."""
    limit = form.midpoint if below is None else below
    return [key for key in form.keys if key in scores and scores[key] < limit]


@functools.cache
def score_form(settings: QaConfig) -> ScoreForm:
    """The configured form (CALLCENTER_QA_FORM) or the default; a bad one is a ConfigError.

    QA's setup calls it once at start, so a bad form stops the service as a
    bad setting does; later calls hit the cache.
    """
    if not settings.form_spec:
        return DEFAULT_FORM
    try:
        return parse_form(settings.form_spec)
    except ScoringError as exc:
        raise ConfigError(f"CALLCENTER_QA_FORM: {exc.message}") from None
