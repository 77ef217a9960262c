"""The monthly QA summary as a report table (SERVICE_RULES sections 5 and 6).

Pure. The numbers are the QA module's own (`ReportService.summary`, built on
`callcenter.qa.reports.monthly_summary`); this only lays them out like the
other reports, one row per agent with a column per scoring item, so the
supervisors' monthly service-quality report exports to CSV the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callcenter.reports.table import Column, Table, count, number, text


def qa_table(summary: Mapping[str, Any], agent: str | None = None) -> Table:
    items = list(summary.get("form", {}).get("items", []))
    columns: list[Column] = [
        text("month", "月份", "month"),
        text("agent", "工號", "agent"),
        count("samples", "抽檢通話", "sampled calls"),
        count("evaluations", "評分次數", "evaluations"),
        number("total", "平均總分", "average total"),
        number("total_min", "最低分", "lowest"),
        number("total_max", "最高分", "highest"),
        *[
            number(f"item:{i['key']}", i.get("label_zh", i["key"]), i.get("label_en", i["key"]))
            for i in items
        ],
        count("defects", "缺陷數", "defects"),
    ]
    rows = []
    for row in summary.get("agents", []):
        if agent is not None and row.get("agent") != agent:
            continue
        averages = row.get("items", {})
        rows.append(
            {
                "month": summary.get("month"),
                "agent": row.get("agent"),
                "samples": row.get("samples", 0),
                "evaluations": row.get("evaluations", 0),
                "total": row.get("total"),
                "total_min": row.get("total_min"),
                "total_max": row.get("total_max"),
                **{f"item:{i['key']}": averages.get(i["key"]) for i in items},
                "defects": row.get("defects", 0),
            }
        )
    return Table(
        "qa-monthly",
        columns,
        rows,
        {"month": summary.get("month"), "defect_below": summary.get("defect_below")},
    )
