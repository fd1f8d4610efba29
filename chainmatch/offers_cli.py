"""``chainmatch offers …`` (supply offers, 配套意愿) and ``chainmatch ranker refresh``.

The CLI acts as the platform operator (admin): a bulk import writes every row or, when any row is
bad, nothing (``--skip-invalid`` writes the valid ones).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

offers_app = typer.Typer(help="配套意愿 (supply offers): import, list", no_args_is_help=True)

console = Console()
err_console = Console(stderr=True)
OPERATOR_KEY_ID = 0


def _db() -> Engine:
    from chainmatch.db import init_db, make_engine
    from chainmatch.settings import get_settings

    engine = make_engine(get_settings())
    init_db(engine)
    return engine


@offers_app.command("import")
def offers_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="XLSX, CSV, JSON array or JSON lines")
    ],
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="write the valid rows")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate and report, write nothing")] = False,
) -> None:
    """批量导入配套意愿，每行一条 (bulk import: one offer per row; any bad row → nothing written)."""
    from chainmatch.db import session_scope
    from chainmatch.ingest.readers import UnreadableInput
    from chainmatch.keys import Principal
    from chainmatch.offers import import_offers, read_rows
    from models.apikey import Role

    try:
        rows = read_rows(file.read_bytes(), file.name)
    except UnreadableInput as exc:
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
    with session_scope(_db()) as session:
        report = import_offers(
            session, Principal(OPERATOR_KEY_ID, Role.ADMIN), rows, skip_invalid=skip_invalid, dry_run=dry_run
        )
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
    from sqlmodel import Session, col, select

    from chainmatch.offers import is_valid
    from models.offer import SupplyOffer

    with Session(_db()) as session:
        query = select(SupplyOffer).where(col(SupplyOffer.deleted_at).is_(None))
        if firm:
            query = query.where(SupplyOffer.firm_id == firm)
        offers = session.exec(query.order_by(col(SupplyOffer.updated_at).desc()).limit(limit)).all()
        table = Table("id", "firm", "title", "products", "version", "valid until", "valid")
        for o in offers:
            table.add_row(
                o.id,
                o.firm_id,
                o.title,
                "、".join(o.products),
                str(o.version),
                o.valid_until.isoformat(),
                "是" if is_valid(o) else "否",
            )
    console.print(table)


def ranker_refresh() -> None:
    """按本部署记录的对接结果更新排序模型 (refit the deployment's ranker on its outreach outcomes;
    the offline ranker stays the prior and the offline benchmark never drops)."""
    from sqlmodel import Session

    from chainmatch.indexing import IndexService
    from chainmatch.refresh import RefreshError, offline_version, refresh_deployment
    from chainmatch.settings import get_settings
    from models.common import utcnow

    settings = get_settings()
    db = _db()
    index = IndexService(settings, db)
    index.start()
    try:
        with Session(db) as session, index.searching() as engine:
            model = refresh_deployment(session, engine, settings.data_dir, utcnow().isoformat())
    except RefreshError as exc:
        err_console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(1) from exc
    bench = model.benchmark
    console.print(
        f"模型 {offline_version(settings.ranker_path)}+{model.version}：{model.n_outcomes} 条结果"
        f"（成功 {model.n_positive}），权重 {model.weight:g}；离线基准 nDCG@10 {bench['offline_ndcg10']:.4f}"
        f" → {bench['refreshed_ndcg10']:.4f}（{bench['queries']} 个查询）",
        highlight=False,
    )
