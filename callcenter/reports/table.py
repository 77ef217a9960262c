"""A report's result: labelled columns and flat rows, the same for JSON, the page and CSV.

Pure. Labels are bilingual (zh-CN, English) because the same table is read
by supervisors in the page and opened in Excel from the CSV export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Cell = str | int | float | bool | None

# English names of the default wrap-up categories (SERVICE_RULES section 3).
CATEGORY_EN: Mapping[str, str] = {
    "咨詢": "inquiries",
    "查詢": "lookups",
    "投訴": "complaints",
    "建議": "suggestions",
    "報修": "repairs",
    "other": "other",
}


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    numeric: bool = False
    summable: bool = False  # a count: the totals add it up (ratios and averages are not)

    @property
    def header(self) -> str:
        return self.zh if self.zh == self.en else f"{self.zh} / {self.en}"

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "zh": self.zh, "en": self.en, "numeric": self.numeric}


@dataclass(frozen=True)
class Table:
    kind: str
    columns: Sequence[Column]
    rows: Sequence[Mapping[str, Cell]]
    # Anything else the report says (totals, a second breakdown), JSON only.
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "columns": [c.to_json() for c in self.columns],
            "rows": [dict(r) for r in self.rows],
            **self.extra,
        }


def category_column(category: str) -> Column:
    en = CATEGORY_EN.get(category, category)
    return Column(f"cat:{category}", category, en, numeric=True, summable=True)


def count(key: str, zh: str, en: str) -> Column:
    return Column(key, zh, en, numeric=True, summable=True)


def number(key: str, zh: str, en: str) -> Column:
    return Column(key, zh, en, numeric=True)


def text(key: str, zh: str, en: str) -> Column:
    return Column(key, zh, en)


def totals(columns: Sequence[Column], rows: Sequence[Mapping[str, Cell]]) -> dict[str, Cell]:
    """Sums of the count columns over all rows."""
    out: dict[str, Cell] = {}
    for column in columns:
        if column.summable:
            values = [r.get(column.key) for r in rows]
            out[column.key] = round(sum(v for v in values if isinstance(v, int | float)), 3)
    return out
