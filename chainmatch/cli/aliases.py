"""``chainmatch aliases …``: the product aliases (缩写、英文名、化学式、俗名 → 产品名称).

The CLI acts as the platform operator (admin), through :mod:`chainmatch.services.aliases`. A change
is written to the database and bumps its alias revision: a running server's workers reload the user
aliases at their next search.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from chainmatch.cli.common import console, err_console, operator

aliases_app = typer.Typer(
    help="产品别名：缩写、英文名、化学式、俗名 (product aliases: list, add, remove, import)",
    no_args_is_help=True,
)

SOURCES = ("curated", "cedict", "corpus", "user")
ERRORS_SHOWN = 50


def _fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` in red on stderr, as written (no highlighting of its numbers)."""
    err_console.print(f"[red]{message}[/red]", highlight=False)
    return typer.Exit(code)


@aliases_app.command("list")
def aliases_list(
    q: Annotated[str | None, typer.Option("--q", "-q", help="in the alias or the product name")] = None,
    source: Annotated[str | None, typer.Option(help="curated | cedict | corpus | user")] = None,
    limit: Annotated[int, typer.Option(min=1, help="rows shown")] = 200,
) -> None:
    """别名列表，含来源 (aliases in effect, each with its source; user ones with their id)."""
    from chainmatch.services import aliases
    from models.alias import AliasSource

    if source is not None and source not in SOURCES:
        raise _fail(f"--source 须为 {' | '.join(SOURCES)} 之一 (unknown source {source!r})", 2)
    items, next_cursor = aliases.list_page(
        operator(), limit=limit, q=q, source=AliasSource(source) if source else None
    )
    table = Table("id", "别名 alias", "产品名称 canonical", "来源 source")
    for item in items:
        table.add_row(str(item.id or ""), item.alias, item.canonical, item.source.value)
    console.print(table)
    suffix = f"（仅显示前 {limit} 条，--limit 可调整）" if next_cursor is not None else ""
    console.print(f"{len(items)} 条别名 aliases{suffix}", highlight=False)


@aliases_app.command("add")
def aliases_add(
    alias: Annotated[str, typer.Argument(help="缩写、英文名、化学式或俗名，如 PMT")],
    canonical: Annotated[str, typer.Argument(help="登记的产品名称，如 光电倍增管")],
) -> None:
    """添加别名 (add a user alias; effective at the next search, no rebuild)."""
    from pydantic import ValidationError

    from chainmatch.errors import AliasExists
    from chainmatch.ingest.report import validation_issues
    from chainmatch.services import aliases
    from models.alias import ProductAliasCreate

    try:
        body = ProductAliasCreate.model_validate({"alias": alias, "canonical": canonical})
    except ValidationError as exc:
        issues = validation_issues(exc, line=None, record_id=None)
        raise _fail("; ".join(f"{i.field or '别名'}: {i.message}" for i in issues), 2) from exc
    try:
        row = aliases.add(operator(), body)
    except AliasExists as exc:
        raise _fail(str(exc)) from exc
    console.print(f"已添加 added: {row.alias} → {row.canonical} (id {row.id})", highlight=False)


@aliases_app.command("remove")
def aliases_remove(
    alias: Annotated[str, typer.Argument(help="the alias")],
    canonical: Annotated[str | None, typer.Argument(help="only the pair to this product")] = None,
) -> None:
    """删除管理员添加的别名 (remove user aliases; shipped ones cannot be removed)."""
    from chainmatch.errors import AliasNotFound
    from chainmatch.services import aliases

    try:
        removed = aliases.remove_named(operator(), alias, canonical)
    except AliasNotFound as exc:
        raise _fail(str(exc)) from exc
    for row in removed:
        console.print(f"已删除 removed: {row.alias} → {row.canonical} (id {row.id})", highlight=False)


@aliases_app.command("import")
def aliases_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="TSV or CSV: alias, canonical")],
) -> None:
    """从 TSV/CSV 导入别名，全部成功才写入 (import aliases: any bad row writes nothing)."""
    from chainmatch.errors import UnreadableInput
    from chainmatch.services import aliases

    caller = operator()
    try:
        report = aliases.import_file(caller, file.read_bytes(), file.name)
    except (OSError, UnreadableInput) as exc:
        raise _fail(f"无法读取 {file}: {exc}", 2) from exc
    for issue in report.errors[:ERRORS_SHOWN]:
        at = f"第{issue.line}行 " if issue.line is not None else ""
        field = f"字段={issue.field}: " if issue.field else ""
        err_console.print(f"[red]错误[/red] {at}{field}{issue.message}", highlight=False)
    if len(report.errors) > ERRORS_SHOWN:
        err_console.print(f"… 另有 {len(report.errors) - ERRORS_SHOWN} 个错误 (more errors)")
    if not report.written:
        err_console.print(f"{file.name}: 未写入任何别名 nothing written", highlight=False)
        raise typer.Exit(1)
    console.print(
        f"{file.name}: 收到 {report.received}，新增 {report.inserted}，已存在 {report.unchanged} — 已写入 written",
        highlight=False,
    )
