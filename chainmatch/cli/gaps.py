"""``chainmatch gaps import``: gap lists from a JSON file, or one list from a spreadsheet, with the
per-row report of what each row was read as."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from chainmatch.cli.common import console, err_console, operator, print_report, read_file, started_index
from chainmatch.labels import OUTCOMES
from chainmatch.settings import get_settings
from models.matching import GapSheetReport

gaps_app = typer.Typer(help="Gap lists (断链断供风险清单)", no_args_is_help=True)


@gaps_app.command("import")
def import_gaps(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON, XLSX or CSV")],
    leader: Annotated[str | None, typer.Option(help="XLSX/CSV: the leader firm id")] = None,
    title: Annotated[str | None, typer.Option(help="XLSX/CSV: the list's title")] = None,
    region: Annotated[str | None, typer.Option(help="XLSX/CSV: province (default: the leader's)")] = None,
    city: Annotated[str | None, typer.Option(help="XLSX/CSV: city")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="read and report, write nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="XLSX/CSV: print the API's report JSON")] = False,
) -> None:
    """Create gap lists from a JSON file (each with leader_firm_id), or one list from a spreadsheet
    (XLSX or CSV: one weak link a row, --leader and --title). The same leader + title again is a
    revision. Every item's text is read as the API reads it: sourcing facts it states fill empty
    fields. A spreadsheet gets a per-row report; any bad row writes nothing (exit 1)."""
    from chainmatch.gapsheet import is_sheet_file
    from chainmatch.services import gap_lists

    settings = get_settings()
    data = read_file(file)
    if not is_sheet_file(file, data[:8]):
        caller = operator(index=started_index(settings), settings=settings)
        report = gap_lists.import_file(caller, file)
        print_report(report, file.name, by_position=True)
        if not report.written:
            raise typer.Exit(1)
        return
    if not leader or not title or not title.strip():
        err_console.print(
            "[red]从 XLSX/CSV 导入需指定 --leader 与 --title (a spreadsheet needs --leader and --title)[/red]"
        )
        raise typer.Exit(2)
    caller = operator(index=started_index(settings), settings=settings)
    sheet, outcome = gap_lists.import_sheet(
        caller,
        data,
        file.name,
        leader_firm_id=leader,
        title=title,
        province=region,
        city=city,
        dry_run=dry_run,
    )
    if as_json:
        print(json.dumps(sheet.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        print_sheet_report(sheet, file.name, outcome)
    if sheet.errors:
        raise typer.Exit(1)


def print_sheet_report(report: GapSheetReport, name: str, outcome: str | None) -> None:
    """The per-row report of a spreadsheet import: what each row was read as, what was not."""
    from chainmatch.gapsheet import FIELD_LABELS
    from chainmatch.matching import sourcing_text

    if report.columns:
        mapped = "，".join(f"{h}→{FIELD_LABELS.get(f, f)}" for h, f in report.columns.items())
        console.print(f"{name}：第{report.header_row}行为表头；列：{mapped}")
    if report.ignored_columns:
        console.print(f"[yellow]未识别的列（未使用）：{'、'.join(report.ignored_columns)}[/yellow]")
    if report.rows:
        table = Table(title=f"{name} — 逐行识别结果", title_justify="left", show_lines=False)
        for column in (
            "行",
            "原文",
            "识别产品",
            "限定词",
            "用于",
            "规格",
            "供应情况",
            "置信度",
            "补全字段",
            "未识别",
        ):
            table.add_column(column, overflow="fold")
        for r in report.rows:
            u = r.understood_as
            confidence = f"{u.confidence:.0%}" + (" [red]低[/red]" if r.low_confidence else "")
            table.add_row(
                f"第{r.row}行",
                r.name,
                u.product or "—",
                "、".join(u.qualifiers),
                u.for_product or "",
                "；".join(u.specs),
                sourcing_text(u),
                confidence,
                "、".join(FIELD_LABELS.get(f, f) for f in r.filled_from_text),
                "；".join(r.not_understood),
            )
        console.print(table)
    for issue in report.errors:
        where = "" if issue.row is None else f"第{issue.row}行 "
        column = "" if not issue.column else f"列「{issue.column}」: "
        err_console.print(f"[red]错误[/red] {where}{column}{issue.message}")
    if report.low_confidence_rows:
        rows = "、".join(f"第{n}行" for n in report.low_confidence_rows)
        err_console.print(f"[yellow]置信度低，请核对：{rows}[/yellow]")
    if report.errors:
        status = "[red]未写入任何记录 nothing written[/red]"
    elif outcome is None:
        status = "试运行，未写入 (dry run: nothing written)"
    else:
        status = f"清单{OUTCOMES.get(outcome, outcome)} {report.gap_list.id if report.gap_list else ''} — 已写入 written"
    console.print(
        f"{name}: 读取 {report.received} 行，有效 {len(report.rows)} 行，错误 {len(report.errors)} 个 — {status}"
    )
