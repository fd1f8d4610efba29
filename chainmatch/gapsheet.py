"""Gap lists from spreadsheets: a leader's 断链断供风险清单 as XLSX or CSV, one weak link a row.

Used by ``POST /v1/gap-lists/upload`` and ``chainmatch gaps import FILE.xlsx|.csv``:

1. :func:`read_sheet` reads the first worksheet of an XLSX workbook, or a CSV file in UTF-8 (BOM or
   not), GBK/GB18030 or UTF-16 (Excel's "Unicode text"), comma-, tab- or semicolon-separated. The
   header is the first row, among the first ten, that names a known column (a title row above it
   is skipped). Rows are numbered as Excel shows them: the header of a sheet without a title row
   is 第1行, its first weak link 第2行.
2. :func:`map_columns` maps the usual headers (名称 / 产品名称 / 物料名称 / 零部件 / 短板环节, 描述 / 说明 /
   风险描述, 用途 / 用于 / 配套产品, 规格 / 技术参数, 进口占比 / 进口比例, 来源国 / 主要来源国 / 供应国,
   年需求 / 年采购额 (元, 万元, 亿元), 风险等级 … and their English equivalents) to item fields. A sheet
   with a single column, or with a free-text column (内容 / 风险点 / 短板描述 / text …) and no name
   column, is read as free text: each cell is the item's name, as the leader wrote it.
3. :func:`parse_sheet` validates every row and reads it with ``Recommender.understand``: what was
   understood (product, qualifiers, end use, specs, sourcing, confidence) and what was not (no
   product, low confidence, leftover words) goes into a per-row report, and the sourcing facts the
   text states fill the row's empty fields (:func:`chainmatch.gaplists.fill_from_text`).

Any bad row (empty name, 进口占比 not a number or outside 0–100 % / 0–1, a text too long, a risk level
outside 1–5 …) is reported with its row number and column, and then nothing is written; so is a file
that cannot be read, or one with more weak links than a list may hold.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chainmatch.gaplists import Understand, fill_from_text
from chainmatch.ingest.readers import UnreadableInput, decode
from models.gap import GapItemCreate
from models.matching import GapSheetReport, SheetIssue, SheetRowReport, UnderstoodAs
from recommender.text import normalize_text

# Fields of GapItemCreate a column may fill, plus TEXT: a free-text column read as the item's name.
TEXT = "text"
IGNORED = "ignored"
FIELD_LABELS: dict[str, str] = {
    "name": "名称",
    "description": "描述",
    "for_product": "用途",
    "spec": "规格",
    "import_share": "进口占比",
    "current_source_country": "来源国",
    "annual_demand_cny": "年需求",
    "risk_level": "风险等级",
    TEXT: "自由文本",
}
# Normalised header (lower case, no spaces or punctuation, units in brackets removed) → field.
HEADERS: dict[str, str] = {}
for _field, _names in {
    "name": (
        "名称 产品名称 物料名称 零部件 零部件名称 零件名称 部件名称 短板环节 产品 物料 部件 材料 材料名称 元器件 "
        "元器件名称 器件名称 品名 设备名称 关键零部件 关键部件 关键材料 短板产品 薄弱环节 卡脖子环节 断链环节 风险物料 "
        "风险产品 产品/物料 物料/产品 "
        "name product item component material part partname productname itemname materialname "
        "componentname weaklink"
    ),
    "description": (
        "描述 说明 风险描述 风险说明 情况说明 问题描述 现状 现状描述 备注 详细描述 断供风险 风险情况 "
        "description desc notes note remark remarks riskdescription details"
    ),
    "for_product": (
        "用途 用于 配套产品 应用产品 所用产品 配套整机 用于产品 应用 应用领域 使用产品 "
        "forproduct usedin enduse application use"
    ),
    "spec": (
        "规格 技术参数 规格型号 型号规格 技术指标 参数 型号 技术要求 性能指标 规格参数 "
        "spec specs specification specifications technicalparameters parameters model"
    ),
    "import_share": (
        "进口占比 进口比例 进口比重 进口依存度 进口份额 进口占比率 进口依赖度 "
        "importshare importratio import importdependence importdependency"
    ),
    "current_source_country": (
        "来源国 主要来源国 供应国 来源国家 进口来源国 主要供应国 原产国 来源地 主要进口国 进口国 供应商国别 国别 "
        "sourcecountry country suppliercountry countryoforigin origin"
    ),
    "annual_demand_cny": (
        "年需求 年采购额 年采购金额 年需求金额 年需求额 年采购量 年用量 采购额 采购金额 年度采购额 年度需求 "
        "annualdemand annualpurchases annualspend annualdemandcny annualpurchase"
    ),
    "risk_level": "风险等级 风险级别 风险程度 风险 等级 断供风险等级 risk risklevel riskgrade",
    TEXT: (
        "内容 清单内容 风险点 短板描述 需求描述 文本 原文 条目 短板 需求 短板弱项 风险清单 断链断供风险 "
        "text content freetext weaklinktext entry"
    ),
    IGNORED: "序号 编号 行号 no no. # index id seq",
}.items():
    for _name in _names.split():
        HEADERS[_name] = _field

MAX_LENGTHS = {
    "name": 200,
    "description": 2000,
    "for_product": 200,
    "spec": 1000,
    "current_source_country": 60,
}
MAX_COLUMNS = 60  # columns read per row (risk lists have a dozen)
HEADER_SEARCH_ROWS = 10  # a title row or two may stand above the header
MAX_SCANNED_ROWS = 100_000  # rows looked at, blank ones included (a sheet formatted down to row 1,048,576)
MAX_UNCOMPRESSED = 200 * 1024 * 1024  # an XLSX that inflates beyond this is refused (zip bomb)

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
MONEY_UNITS = {"亿元": 1e8, "万元": 1e4, "千元": 1e3, "元": 1.0, "亿": 1e8, "万": 1e4, "cny": 1.0, "rmb": 1.0}
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_BRACKETS = re.compile(r"[(（\[【].*?[)）\]】]")


class SheetUnreadable(UnreadableInput):
    """The file as a whole cannot be read: not XLSX or CSV, undecodable, no header, no rows."""


@dataclass(frozen=True, slots=True)
class Cell:
    value: Any  # str, int, float, datetime, bool or None
    percent: bool = False  # an XLSX number formatted as a percentage (0.7 shown as 70%)


@dataclass
class Sheet:
    name: str | None  # the worksheet's name; None for CSV
    encoding: str | None  # the CSV's encoding; None for XLSX
    header_row: int  # 1-based, as Excel shows it
    headers: list[str]  # as written (normalised white space)
    rows: list[tuple[int, list[Cell]]] = field(default_factory=list)  # (row number, cells), non-blank


@dataclass
class ColumnMap:
    fields: dict[str, int]  # field → column index (the first column naming it)
    units: dict[str, float]  # annual_demand_cny: the money unit its header states
    percent_header: set[str]  # fields whose header says the values are percentages
    ignored: list[str]  # headers not understood (reported; their cells are not used)
    mapping: dict[str, str]  # header as written → field, for the report


# ------------------------------------------------------------------------------- reading
def is_xlsx(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def read_sheet(data: bytes, name: str | None = None, *, max_rows: int) -> Sheet:
    """The header and the non-blank rows of ``data`` (XLSX or CSV). Reads at most ``max_rows``
    weak-link rows and one more, so that a caller can say the file has too many."""
    if not data.strip():
        raise SheetUnreadable("文件为空 (the file is empty)")
    suffix = Path(name).suffix.lower() if name else ""
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or suffix == ".xls":
        raise SheetUnreadable(
            "不支持旧版 Excel (.xls) 文件，请另存为 .xlsx 或 CSV (legacy .xls is not supported: save as .xlsx or CSV)"
        )
    if is_xlsx(data):
        return _read_xlsx(data, max_rows=max_rows)
    if suffix in (".xlsx", ".xlsm"):
        raise SheetUnreadable("不是有效的 XLSX 文件 (not a valid XLSX file)")
    text, encoding = _decode(data)
    return _collect(_csv_rows(text), None, encoding, max_rows=max_rows)


def _decode(data: bytes) -> tuple[str, str]:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise SheetUnreadable("无法按 UTF-16 读取文件 (cannot decode as UTF-16)") from exc
    try:
        text, encoding = decode(data)
    except UnreadableInput as exc:
        raise SheetUnreadable(str(exc)) from exc
    if "\x00" in text:  # UTF-16 without its BOM, or a binary file
        raise SheetUnreadable(
            "无法识别文件编码，请使用 UTF-8 或 GBK/GB18030 (cannot decode: use UTF-8 or GB18030)"
        )
    return text, encoding


def _csv_rows(text: str) -> Iterator[list[Cell]]:
    delimiter = ","
    with contextlib.suppress(csv.Error):
        delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",\t;").delimiter
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            yield [Cell(v) for v in row[:MAX_COLUMNS]]
    except csv.Error as exc:
        raise SheetUnreadable(f"CSV 格式错误，第{reader.line_num}行 (malformed CSV: {exc})") from exc


def _read_xlsx(data: bytes, *, max_rows: int) -> Sheet:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNCOMPRESSED:
                raise SheetUnreadable("XLSX 文件解压后过大 (the workbook inflates too much)")
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except SheetUnreadable:
        raise
    except Exception as exc:  # zipfile and openpyxl raise many kinds on a damaged file
        raise SheetUnreadable(f"无法读取 XLSX 文件 (unreadable XLSX: {type(exc).__name__})") from exc
    try:
        if not workbook.worksheets:
            raise SheetUnreadable("工作簿中没有工作表 (the workbook has no worksheet)")
        worksheet = workbook.worksheets[0]
        rows = (
            [Cell(c.value, "%" in str(getattr(c, "number_format", "") or "")) for c in row]
            for row in worksheet.iter_rows(max_col=MAX_COLUMNS)
        )
        return _collect(rows, str(worksheet.title), None, max_rows=max_rows)
    except SheetUnreadable:
        raise
    except Exception as exc:
        raise SheetUnreadable(f"无法读取 XLSX 文件 (unreadable XLSX: {type(exc).__name__})") from exc
    finally:
        workbook.close()


def _blank(cells: list[Cell]) -> bool:
    return all(_text(c.value) == "" for c in cells)


def _looks_like_header(text: str) -> bool:
    """A lone first cell that reads as a column title (内容, 短板清单), not as a weak link."""
    return len(text) <= 12 and not re.search(r"[0-9，。,；;、%％:：]", text)


def _collect(
    rows: Iterable[list[Cell]], sheet_name: str | None, encoding: str | None, *, max_rows: int
) -> Sheet:
    numbered = enumerate(rows, start=1)
    head: list[tuple[int, list[Cell]]] = []  # the non-blank rows among the first few
    header: tuple[int, list[str]] | None = None
    for number, cells in numbered:
        if not _blank(cells):
            head.append((number, cells))
            texts = [_header(c.value) for c in cells]
            if any(normalize_header(t) in HEADERS for t in texts if t):
                header = (number, texts)
                head = []
                break
        if number >= HEADER_SEARCH_ROWS:
            break
    data: list[tuple[int, list[Cell]]] = []
    if header is None:
        if not head:
            raise SheetUnreadable("文件中没有数据 (no rows in the file)")
        number, cells = head[0]
        texts = [_header(c.value) for c in cells]
        filled = [t for t in texts if t]
        if len(filled) > 1 or any(len([c for c in r if _text(c.value)]) > 1 for _, r in head):
            found = "、".join(filled)[:200]
            raise SheetUnreadable(
                f"第{number}行未找到可识别的表头（如 名称、描述、用途、规格、进口占比、来源国、年需求），实际为：{found} "
                "(no known column header: name, description, for_product, spec, import_share …)"
            )
        if _looks_like_header(filled[0]):  # one column under a title of its own: free text
            header = (number, texts)
            data = head[1:]
        else:  # one column of weak links without a header
            header = (number - 1, ["内容" if i == texts.index(filled[0]) else "" for i in range(len(texts))])
            data = head
    number, texts = header
    for row_number, cells in numbered:
        if len(data) > max_rows or row_number > MAX_SCANNED_ROWS:
            break
        if not _blank(cells):
            data.append((row_number, cells))
    return Sheet(name=sheet_name, encoding=encoding, header_row=number, headers=texts, rows=data)


# ------------------------------------------------------------------------------- columns
def normalize_header(header: str) -> str:
    text = normalize_text(header).lower()
    text = _BRACKETS.sub("", text)
    text = re.sub(r"[\s_\-:：*·.。%％]+", "", text) or text.replace(" ", "")
    return text


def _money_unit(text: str) -> float | None:
    lowered = normalize_text(text).lower()
    for unit, factor in MONEY_UNITS.items():
        if unit in lowered:
            return factor
    return None


def map_columns(headers: list[str]) -> ColumnMap:
    fields: dict[str, int] = {}
    units: dict[str, float] = {}
    percent: set[str] = set()
    ignored: list[str] = []
    mapping: dict[str, str] = {}
    for index, header in enumerate(headers):
        if not header:
            continue
        target = HEADERS.get(normalize_header(header))
        if target is None:
            ignored.append(header)
            continue
        if target == IGNORED:
            continue
        if target in fields:
            ignored.append(header)  # a second column for the same field: the first one counts
            continue
        fields[target] = index
        mapping[header] = target
        if target == "annual_demand_cny":
            unit = _money_unit("".join(_BRACKETS.findall(normalize_text(header))) or header)
            if unit is not None:
                units[target] = unit
        if "%" in header or "％" in header or "百分比" in header:
            percent.add(target)
    if "name" not in fields and TEXT not in fields:
        named = [i for i, h in enumerate(headers) if h]
        if len(named) == 1:  # a single column of free text, whatever its header says
            fields[TEXT] = named[0]
            mapping[headers[named[0]]] = TEXT
            ignored = [h for h in ignored if h != headers[named[0]]]
    return ColumnMap(fields=fields, units=units, percent_header=percent, ignored=ignored, mapping=mapping)


# ------------------------------------------------------------------------------- cells
def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return normalize_text(str(value))


def _header(value: Any) -> str:
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
        raw = _text(value)
        if not raw:
            return None
        is_pct = raw.endswith(("%", "％"))
        number = _number(raw.rstrip("%％"))
        share = number / 100 if is_pct or percent_header or number > 1 else number
    if not 0 <= share <= 1:
        raise CellError(
            f"进口占比应在 0–100% 或 0–1 之间，实际为「{_text(value)[:40]}」 (import share must be 0–100% or 0–1)"
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
    raw = _text(value)
    if not raw:
        return None, None
    match = re.match(r"^\s*([-+]?[\d,，.]+(?:[eE][-+]?\d+)?)\s*(.*?)\s*$", raw)
    if match is None:
        raise CellError(f"应为金额，如 3000万元，实际为「{raw[:40]}」 (not an amount)")
    number = _number(match.group(1))
    unit_text = match.group(2)
    if unit_text:
        unit = _money_unit(unit_text)
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
        raw = _text(value)
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
            f"风险等级应为 1–5 的整数或 高/中/低，实际为「{_text(value)[:40]}」 (risk level: 1–5 or 高/中/低)"
        )
    return int(number)


# ------------------------------------------------------------------------------- rows
def _row_item(cells: list[Cell], columns: ColumnMap) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The item fields of one row, and its problems as (field, message)."""

    def cell(name: str) -> Cell:
        index = columns.fields.get(name)
        if index is None or index >= len(cells):
            return Cell(None)
        return cells[index]

    record: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name in ("name", "description", "for_product", "spec", "current_source_country"):
        text = _text(cell(name).value)
        if text:
            record[name] = text
    free = _text(cell(TEXT).value)
    if free:
        if "name" in record:  # both: the free text is context
            record["description"] = "；".join(x for x in (record.get("description"), free) if x)
        else:
            record["name"] = free
    try:
        share = parse_share(cell("import_share"), percent_header="import_share" in columns.percent_header)
        if share is not None:
            record["import_share"] = share
    except CellError as exc:
        problems.append(("import_share", str(exc)))
    try:
        money, quantity = parse_money(
            cell("annual_demand_cny"), header_unit=columns.units.get("annual_demand_cny")
        )
        if money is not None:
            record["annual_demand_cny"] = money
        if quantity:
            record["spec"] = "；".join(x for x in (record.get("spec"), f"年需求{quantity}") if x)
    except CellError as exc:
        problems.append(("annual_demand_cny", str(exc)))
    try:
        risk = parse_risk(cell("risk_level"))
        if risk is not None:
            record["risk_level"] = risk
    except CellError as exc:
        problems.append(("risk_level", str(exc)))
    if not record.get("name"):
        problems.append(("name" if "name" in columns.fields else TEXT, "名称为空 (the name is empty)"))
    for name, limit in MAX_LENGTHS.items():
        value = record.get(name)
        if isinstance(value, str) and len(value) > limit:
            problems.append(
                (name, f"文本过长：{len(value)} 字，最多 {limit} 字 (too long: at most {limit} characters)")
            )
    return record, problems


def _column_of(field_name: str, columns: ColumnMap, headers: list[str]) -> str:
    """The header a field came from, as the user wrote it (name / free text share the name column)."""
    index = columns.fields.get(field_name)
    if index is None and field_name == "name":
        index = columns.fields.get(TEXT)
    if index is None and field_name == "spec":
        index = columns.fields.get("annual_demand_cny")
    if index is None and field_name == "description":
        index = columns.fields.get(TEXT)
    return (
        headers[index]
        if index is not None and index < len(headers)
        else FIELD_LABELS.get(field_name, field_name)
    )


def not_understood(u: UnderstoodAs) -> list[str]:
    """What a person should check in a reading, in words."""
    notes = []
    if u.product is None:
        notes.append("未识别出产品名称")
    elif u.via == "head":
        notes.append(f"「{u.product}」不是企业库中的已知产品，按文字原样检索")
    if u.low_confidence:
        notes.append(f"置信度低（{u.confidence:.0%}），候选企业仅供参考，请核对")
    if u.unparsed:
        notes.append("未解析：" + "、".join(u.unparsed))
    return notes


def parse_sheet(
    data: bytes,
    name: str | None,
    understand: Understand,
    *,
    max_items: int,
) -> tuple[GapSheetReport, list[GapItemCreate]]:
    """Read, validate and understand every row. The items are returned only when the report has
    no error (then every row is valid); otherwise the list is empty and nothing may be written."""
    report = GapSheetReport(file=name)
    try:
        sheet = read_sheet(data, name, max_rows=max_items)
    except SheetUnreadable as exc:
        report.errors.append(SheetIssue(row=None, column=None, message=str(exc)))
        return report, []
    columns = map_columns(sheet.headers)
    report.sheet = sheet.name
    report.encoding = sheet.encoding
    report.header_row = sheet.header_row
    report.columns = dict(columns.mapping)
    report.ignored_columns = columns.ignored
    if "name" not in columns.fields and TEXT not in columns.fields:
        report.errors.append(
            SheetIssue(
                row=sheet.header_row,
                column=None,
                message="缺少名称列（如 名称、产品名称、物料名称、零部件、短板环节），或只含一列自由文本 "
                "(no name column, and not a single free-text column)",
            )
        )
        return report, []
    if not sheet.rows:
        report.errors.append(
            SheetIssue(row=None, column=None, message="表头下没有数据行 (no rows below the header)")
        )
        return report, []
    if len(sheet.rows) > max_items:
        row = sheet.rows[max_items][0]
        report.errors.append(
            SheetIssue(
                row=row,
                column=None,
                message=f"一份清单最多 {max_items} 项，本行起超出 (at most {max_items} items per list)",
            )
        )
        return report, []
    items: list[GapItemCreate] = []
    report.received = len(sheet.rows)
    for row, cells in sheet.rows:
        record, problems = _row_item(cells, columns)
        for field_name, message in problems:
            report.errors.append(
                SheetIssue(row=row, column=_column_of(field_name, columns, sheet.headers), message=message)
            )
        if problems:
            continue
        try:
            item = GapItemCreate.model_validate(record)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc = str(err.get("loc", ("",))[0])
                report.errors.append(
                    SheetIssue(
                        row=row, column=_column_of(loc, columns, sheet.headers), message=str(err.get("msg"))
                    )
                )
            continue
        filled, understanding, filled_fields = fill_from_text(item, understand)
        understood = UnderstoodAs.from_understanding(understanding)
        report.rows.append(
            SheetRowReport(
                row=row,
                name=item.name,
                item=filled,
                understood_as=understood,
                filled_from_text=filled_fields,
                low_confidence=understood.low_confidence,
                not_understood=not_understood(understood),
            )
        )
        items.append(filled)
    report.low_confidence_rows = [r.row for r in report.rows if r.low_confidence]
    if report.errors:
        return report, []
    return report, items


def is_sheet_file(path: Path, head: bytes) -> bool:
    """Whether ``gaps import`` should read ``path`` as a spreadsheet (not the JSON it always took)."""
    suffix = path.suffix.lower()
    if suffix in (".json", ".jsonl", ".ndjson"):
        return False
    return suffix in (".xlsx", ".xlsm", ".xls", ".csv", ".tsv", ".txt") or is_xlsx(head)
