"""``chainmatch offers …`` (supply offers, 配套意愿) and ``chainmatch ranker refresh``.

The CLI acts as the platform operator (admin), through :mod:`chainmatch.services.offers` and
:mod:`chainmatch.services.match`: a bulk import writes every row or, when any row is bad, nothing
(``--skip-invalid`` writes the valid ones).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from chainmatch.cli.common import console, database, err_console, operator
from chainmatch.settings import get_settings

offers_app = typer.Typer(help="配套意愿 (supply offers): import, list", no_args_is_help=True)


@offers_app.command("import")
def offers_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="XLSX, CSV, JSON array or JSON lines")
    ],
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="write the valid rows")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate and report, write nothing")] = False,
) -> None:
    """批量导入配套意愿，每行一条 (bulk import: one offer per row; any bad row → nothing written)."""
    from chainmatch.errors import UnreadableInput
    from chainmatch.services import offers

    data = file.read_bytes()
    try:
        report = offers.import_file(
            operator(), data, file.name, skip_invalid=skip_invalid, dry_run=dry_run, capped=False
        )
    except UnreadableInput as exc:
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    for issue in report.errors:
        err_console.print(f"第 {issue.row} 行 {issue.field or ''}: {issue.message}", highlight=False)
    console.print(
        f"读取 {report.received} 行，有效 {report.valid}，写入 {report.written}"
        f" (received {report.received}, valid {report.valid}, written {report.written})",
        highlight=False,
    )
    if report.errors and not report.written:
        raise typer.Exit(1)


@offers_app.command("list")
def offers_list(
    firm: Annotated[str | None, typer.Option(help="only this firm's offers")] = None,
    limit: Annotated[int, typer.Option(min=1, help="rows shown")] = 200,
) -> None:
    """配套意愿列表 (offers, newest first)."""
    from chainmatch.services import offers

    table = Table("id", "firm", "title", "products", "version", "valid until", "valid")
    for offer in offers.latest(operator(), limit=limit, firm_id=firm):
        table.add_row(
            offer.id,
            offer.firm_id,
            offer.title,
            "、".join(offer.products),
            str(offer.version),
            offer.valid_until.isoformat(),
            "是" if offer.valid else "否",
        )
    console.print(table)


def ranker_refresh() -> None:
    """按本部署记录的对接结果更新排序模型 (refit the deployment's ranker on its outreach outcomes;
    the offline ranker stays the prior and the offline benchmark never drops)."""
    from chainmatch.errors import RefreshError
    from chainmatch.indexing import IndexService
    from chainmatch.services import match

    settings = get_settings()
    index = IndexService(settings, database(settings))
    index.start()
    try:
        status = match.refresh_ranker(operator(index=index, settings=settings))
    except RefreshError as exc:
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(1) from exc
    model = status.refresh
    if model is None:  # written by the refresh, then unreadable: say so rather than print nothing
        err_console.print("[red]更新后的排序模型无法读取 (the refreshed model cannot be read back)[/red]")
        raise typer.Exit(1)
    bench = model.benchmark
    console.print(
        f"模型 {status.offline}+{model.version}：{model.n_outcomes} 条结果"
        f"（成功 {model.n_positive}），权重 {model.weight:g}；离线基准 nDCG@10 {bench['offline_ndcg10']:.4f}"
        f" → {bench['refreshed_ndcg10']:.4f}（{bench['queries']} 个查询）",
        highlight=False,
    )
