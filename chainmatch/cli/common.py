"""What every command shares: the consoles, the database, the operator's service caller, and the
printing of an import report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from chainmatch.ingest.report import IngestReport, RecordIssue
from chainmatch.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from chainmatch.indexing import IndexService
    from chainmatch.services.context import Caller

console = Console()
err_console = Console(stderr=True)


def database(settings: Settings) -> Engine:
    from chainmatch.db import init_db, make_engine

    engine = make_engine(settings)
    init_db(engine)
    return engine


def operator(*, index: IndexService | None = None, settings: Settings | None = None) -> Caller:
    """The service caller the CLI acts as: the platform operator (admin scope, reads not audited).
    ``index``: one the command has started; else an unstarted one."""
    from chainmatch.services.context import operator_caller

    settings = settings or get_settings()
    db = index.db if index is not None else database(settings)
    return operator_caller(settings, db, index)


def started_index(settings: Settings) -> IndexService:
    """The index, loaded (or built) with a progress bar, for commands that search."""
    from chainmatch.indexing import IndexService

    service = IndexService(settings, database(settings))
    service.start(progress=True)
    return service


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` in red on stderr; raise the returned exit (``raise fail(...)``)."""
    err_console.print(f"[red]{message}[/red]")
    return typer.Exit(code)


def read_file(path: Path) -> bytes:
    """The bytes of ``path``, or exit 2 saying why it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        err_console.print(f"[red]无法读取 {path}[/red]: {exc}")
        raise typer.Exit(2) from exc


def print_report(report: IngestReport, what: str, *, by_position: bool = False) -> None:
    """``by_position``: issues carry the record's position in a JSON array (第N条), not a line."""
    shown = 20

    def where(issue: RecordIssue) -> str:
        at = "" if issue.line is None else f"第{issue.line}{'条' if by_position else '行'} "
        return f"{at}id={issue.id} 字段={issue.field}: {issue.message}"

    for issue in report.errors[:shown]:
        err_console.print(f"[red]错误[/red] {where(issue)}")
    if len(report.errors) > shown:
        err_console.print(f"… 另有 {len(report.errors) - shown} 个错误 (more errors)")
    if report.warnings:
        err_console.print(f"[yellow]{len(report.warnings)} 条警告 (warnings)[/yellow]，例如:")
        for issue in report.warnings[:5]:
            err_console.print(f"  {where(issue)}")
    status = "已写入 written" if report.written else "[red]未写入任何记录 nothing written[/red]"
    console.print(
        f"{what}: 收到 {report.received}，新增 {report.inserted}，更新 {report.updated}，未变 {report.unchanged}，"
        f"无效 {report.invalid} — {status}"
    )
