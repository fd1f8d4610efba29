"""Read records from JSONL (NDJSON), JSON arrays and CSV, in UTF-8 (with or without BOM) or GB18030.

Readers never raise on a bad record: they yield a :class:`ParsedRecord` whose ``problem`` says what
is wrong and where, so the importer can report every bad line at once.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from chainmatch import jsonsafe
from chainmatch.errors import UnreadableInput
from chainmatch.jsonsafe import JsonRejected


class Format(StrEnum):
    JSONL = "jsonl"
    JSON = "json"
    CSV = "csv"


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    line: int
    data: dict[str, Any] | None
    problem: str | None = None


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM stripped) or, failing that, GB18030 (a superset of GBK)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise UnreadableInput(
        "无法识别文件编码，请使用 UTF-8 或 GBK/GB18030 (cannot decode: use UTF-8 or GB18030)"
    )


def sniff_format(text: str, name: str | None = None) -> Format:
    suffix = Path(name).suffix.lower() if name else ""
    if suffix in (".jsonl", ".ndjson"):
        return Format.JSONL
    if suffix == ".csv":
        return Format.CSV
    stripped = text.lstrip()
    if stripped.startswith("["):
        return Format.JSON
    if stripped.startswith("{") or not stripped:
        return Format.JSONL
    if suffix == ".json":
        return Format.JSON
    return Format.CSV


def parse_records(
    data: bytes, *, fmt: Format | None = None, name: str | None = None
) -> tuple[list[ParsedRecord], str]:
    """All records of ``data`` plus the encoding it was read in."""
    text, encoding = decode(data)
    fmt = fmt or sniff_format(text, name)
    reader = {Format.JSONL: _jsonl, Format.JSON: _json_array, Format.CSV: _csv}[fmt]
    return list(reader(text)), encoding


def _refused(exc: JsonRejected) -> str:
    """A value strict JSON refuses (NaN, 1e999, a lone surrogate, deep nesting), with its field."""
    return f"{jsonsafe.describe(exc.loc)}: {exc.message}" if exc.loc else exc.message


def _jsonl(text: str) -> Iterator[ParsedRecord]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = jsonsafe.loads(raw)
        except json.JSONDecodeError as exc:
            yield ParsedRecord(number, None, f"JSON 格式错误，第 {exc.colno} 列 (invalid JSON: {exc.msg})")
            continue
        except JsonRejected as exc:
            yield ParsedRecord(number, None, _refused(exc))
            continue
        if not isinstance(value, dict):
            yield ParsedRecord(number, None, "每行应为一个 JSON 对象 (each line must be a JSON object)")
            continue
        yield ParsedRecord(number, value)


def _json_array(text: str) -> Iterator[ParsedRecord]:
    try:
        value = jsonsafe.parse(text)
    except json.JSONDecodeError as exc:
        raise UnreadableInput(
            f"JSON 格式错误，第 {exc.lineno} 行第 {exc.colno} 列 (invalid JSON: {exc.msg})"
        ) from exc
    except JsonRejected as exc:
        raise UnreadableInput(exc.message) from exc
    return _array_records(value, checked=False)


def checked_json_records(value: Any) -> list[ParsedRecord]:
    """The records of a JSON body already parsed and checked whole (``jsonsafe.check``, as the
    API's JSON boundary does): :func:`parse_records` of its bytes, without parsing them again."""
    return list(_array_records(value, checked=True))


def _array_records(value: Any, *, checked: bool) -> Iterator[ParsedRecord]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise UnreadableInput("应为 JSON 数组或 JSON 对象 (expected a JSON array of objects)")
    for position, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            yield ParsedRecord(position, None, "数组元素应为 JSON 对象 (array items must be objects)")
            continue
        try:  # each record on its own: one bad value makes one bad record, named by its field
            if not checked:
                jsonsafe.check(item, max_depth=jsonsafe.MAX_DEPTH - 1)
        except JsonRejected as exc:
            yield ParsedRecord(position, None, _refused(exc))
            continue
        yield ParsedRecord(position, item)


def _csv(text: str) -> Iterator[ParsedRecord]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        return
    for row in reader:
        line = reader.line_num
        if None in row:
            yield ParsedRecord(line, None, "列数多于表头 (more columns than the header)")
            continue
        yield ParsedRecord(line, _csv_row(row))


def _csv_row(row: dict[str, str | None]) -> dict[str, Any]:
    """CSV cells are text: empty → absent; JSON-looking cells → JSON; contact_* → contact{}."""
    record: dict[str, Any] = {}
    contact: dict[str, str] = {}
    for key, cell in row.items():
        key = (key or "").strip()
        value = (cell or "").strip()
        if not key or value == "":
            continue
        if key.startswith("contact_"):
            contact[key.removeprefix("contact_")] = value
            continue
        if value[:1] in "[{":
            try:
                record[key] = json.loads(value)
                continue
            except json.JSONDecodeError:
                pass
        record[key] = value
    if contact:
        record["contact"] = contact
    products = record.get("products")
    if isinstance(products, str):  # "分子泵:0.42;离子源:0.2"
        record["products"] = [_csv_product(p) for p in products.replace("；", ";").split(";") if p.strip()]
    return record


def _csv_product(cell: str) -> dict[str, Any]:
    name, sep, share = cell.replace("：", ":").rpartition(":")
    if not sep:
        return {"name": cell.strip()}
    return {"name": name.strip(), "share": share.strip() or None}
