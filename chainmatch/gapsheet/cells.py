"""Reading one cell of a gap-list sheet: text, 进口占比, 年需求 and 风险等级, each with its own error."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chainmatch.gapsheet.columns import money_unit
from recommender.text import normalize_text

RISK_WORDS = {
    "极高": 5,
    "很高": 5,
    "高": 4,
    "较高": 4,
    "中": 3,
    "中等": 3,
    "一般": 3,
    "较低": 2,
    "低": 1,
    "很低": 1,
}
RISK_WORDS_EN = {
    "critical": 5,
    "very high": 5,
    "high": 4,
    "medium": 3,
    "moderate": 3,
    "low": 2,
    "very low": 1,
}
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


@dataclass(frozen=True, slots=True)
class Cell:
    value: Any  # str, int, float, datetime, bool or None
    percent: bool = False  # an XLSX number formatted as a percentage (0.7 shown as 70%)


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return normalize_text(str(value))


def header_text(value: Any) -> str:
    """A header as written (white space trimmed): reports name columns the way the user sees them."""
    return " ".join(str(value).split()) if value is not None else ""


class CellError(ValueError):
    pass


def _number(raw: str) -> float:
    cleaned = raw.replace(",", "").replace("，", "").replace(" ", "")
    if not _NUMBER.match(cleaned):
        raise CellError(f"应为数字，实际为「{raw[:40]}」 (not a number)")
    value = float(cleaned)
    if not math.isfinite(value):
        raise CellError(f"应为数字，实际为「{raw[:40]}」 (not a number)")
    return value


def parse_share(cell: Cell, *, percent_header: bool) -> float | None:
    """进口占比 as a fraction: 70% / 70 / 0.7 → 0.7. A bare number above 1 is a percentage; under a
    header that says % (进口占比(%)) every bare number is. A number formatted as a percentage in
    Excel is stored as the fraction and read as it is."""
    value = cell.value
    if isinstance(value, bool):
        raise CellError("应为数字 (not a number)")
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if not math.isfinite(number):
            raise CellError("应为数字 (not a number)")
        share = number if cell.percent else (number / 100 if percent_header or number > 1 else number)
    else:
        raw = cell_text(value)
        if not raw:
            return None
        is_pct = raw.endswith(("%", "％"))
        number = _number(raw.rstrip("%％"))
        share = number / 100 if is_pct or percent_header or number > 1 else number
    if not 0 <= share <= 1:
        raise CellError(
            f"进口占比应在 0–100% 或 0–1 之间，实际为「{cell_text(value)[:40]}」 (import share must be 0–100% or 0–1)"
        )
    return round(share, 6)


def parse_money(cell: Cell, *, header_unit: float | None) -> tuple[float | None, str | None]:
    """年需求 / 年采购额 in yuan; a cell's own unit (3000万元) beats the header's (年采购额(万元)).
    A quantity that is not money (2万吨, 500台) is no error: it is returned as spec text instead."""
    value = cell.value
    if isinstance(value, bool):
        raise CellError("应为金额 (not an amount)")
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number) or number < 0:
            raise CellError("年需求金额应为非负数 (must be a non-negative amount)")
        return number * (header_unit or 1.0), None
    raw = cell_text(value)
    if not raw:
        return None, None
    match = re.match(r"^\s*([-+]?[\d,，.]+(?:[eE][-+]?\d+)?)\s*(.*?)\s*$", raw)
    if match is None:
        raise CellError(f"应为金额，如 3000万元，实际为「{raw[:40]}」 (not an amount)")
    number = _number(match.group(1))
    unit_text = match.group(2)
    if unit_text:
        unit = money_unit(unit_text)
        if unit is None:
            return None, raw  # 2万吨: a quantity, kept as spec
        factor = unit
    else:
        factor = header_unit or 1.0
    if number < 0:
        raise CellError("年需求金额应为非负数 (must be a non-negative amount)")
    return number * factor, None


def parse_risk(cell: Cell) -> int | None:
    value = cell.value
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        raw = cell_text(value)
        if not raw:
            return None
        word = raw.removesuffix("风险").removesuffix("级").strip()
        if word in RISK_WORDS:
            return RISK_WORDS[word]
        if word.lower() in RISK_WORDS_EN:
            return RISK_WORDS_EN[word.lower()]
        number = _number(word)
    if not number.is_integer() or not 1 <= number <= 5:
        raise CellError(
            f"风险等级应为 1–5 的整数或 高/中/低，实际为「{cell_text(value)[:40]}」 (risk level: 1–5 or 高/中/低)"
        )
    return int(number)
