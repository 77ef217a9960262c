"""CSV export of a report table, made for Excel.

Pure. UTF-8 with a byte-order mark: without it Excel reads the file in the
machine's ANSI code page and the Chinese labels and notes come out garbled.
Text cells that a spreadsheet would take for a formula (=, +, -, @) are
prefixed with an apostrophe, since agents type some of them (CSV injection).
"""

from __future__ import annotations

import csv
import io
import re

from callcenter.reports.table import Cell, Table

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SAFE_NAME = re.compile(r"[^0-9A-Za-z._-]+")


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def to_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header for c in table.columns])
    for row in table.rows:
        writer.writerow([_cell(row.get(c.key)) for c in table.columns])
    return (BOM + buffer.getvalue()).encode("utf-8")


def filename(*parts: str) -> str:
    """An ASCII file name for Content-Disposition: `workload-2026-11-01-2026-11-07.csv`."""
    stem = "-".join(_SAFE_NAME.sub("_", p).strip("_") for p in parts if p)
    return f"{stem or 'report'}.csv"
