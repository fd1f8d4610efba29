"""Gap-list sheet rows to items: validation, per-row report and reading with ``understand``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chainmatch.gaplists import Understand, fill_from_text
from chainmatch.gapsheet.cells import Cell, CellError, cell_text, parse_money, parse_risk, parse_share
from chainmatch.gapsheet.columns import FIELD_LABELS, TEXT, ColumnMap, map_columns
from chainmatch.gapsheet.reading import SheetUnreadable, is_xlsx, read_sheet
from models.gap import GapItemCreate
from models.matching import GapSheetReport, SheetIssue, SheetRowReport, UnderstoodAs

MAX_LENGTHS = {
    "name": 200,
    "description": 2000,
    "for_product": 200,
    "spec": 1000,
    "current_source_country": 60,
}


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
        text = cell_text(cell(name).value)
        if text:
            record[name] = text
    free = cell_text(cell(TEXT).value)
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
