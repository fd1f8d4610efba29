"""Reading a gap-list sheet: the first worksheet of an XLSX workbook or a CSV file, its header row
and its non-blank rows, numbered as Excel shows them."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from chainmatch.gapsheet.cells import Cell, cell_text, header_text
from chainmatch.gapsheet.columns import HEADERS, normalize_header
from chainmatch.ingest.readers import UnreadableInput, decode

MAX_COLUMNS = 60  # columns read per row (risk lists have a dozen)
HEADER_SEARCH_ROWS = 10  # a title row or two may stand above the header
MAX_SCANNED_ROWS = 100_000  # rows looked at, blank ones included (a sheet formatted down to row 1,048,576)
MAX_UNCOMPRESSED = 200 * 1024 * 1024  # an XLSX that inflates beyond this is refused (zip bomb)


class SheetUnreadable(UnreadableInput):
    """The file as a whole cannot be read: not XLSX or CSV, undecodable, no header, no rows."""


@dataclass
class Sheet:
    name: str | None  # the worksheet's name; None for CSV
    encoding: str | None  # the CSV's encoding; None for XLSX
    header_row: int  # 1-based, as Excel shows it
    headers: list[str]  # as written (normalised white space)
    rows: list[tuple[int, list[Cell]]] = field(default_factory=list)  # (row number, cells), non-blank


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
    return all(cell_text(c.value) == "" for c in cells)


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
            texts = [header_text(c.value) for c in cells]
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
        texts = [header_text(c.value) for c in cells]
        filled = [t for t in texts if t]
        if len(filled) > 1 or any(len([c for c in r if cell_text(c.value)]) > 1 for _, r in head):
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
