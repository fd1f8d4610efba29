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

from chainmatch.gapsheet.cells import Cell, CellError, parse_money, parse_risk, parse_share
from chainmatch.gapsheet.columns import FIELD_LABELS, HEADERS, TEXT, ColumnMap, map_columns, normalize_header
from chainmatch.gapsheet.reading import Sheet, SheetUnreadable, is_xlsx, read_sheet
from chainmatch.gapsheet.rows import is_sheet_file, not_understood, parse_sheet

__all__ = [
    "FIELD_LABELS",
    "HEADERS",
    "TEXT",
    "Cell",
    "CellError",
    "ColumnMap",
    "Sheet",
    "SheetUnreadable",
    "is_sheet_file",
    "is_xlsx",
    "map_columns",
    "normalize_header",
    "not_understood",
    "parse_money",
    "parse_risk",
    "parse_share",
    "parse_sheet",
    "read_sheet",
]
