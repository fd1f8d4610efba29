"""``chainmatch import firms|relations``: the registry and the product graph from files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chainmatch.cli.common import database, err_console, operator, print_report, read_file
from chainmatch.settings import get_settings

import_app = typer.Typer(
    help="Import firms or product relations from JSONL, CSV or a JSON array", no_args_is_help=True
)


def _import(kind: str, file: Path, skip_invalid: bool) -> None:
    from chainmatch.indexing import IndexService
    from chainmatch.ingest.readers import Format, UnreadableInput, parse_records, sniff_format
    from chainmatch.services import firms

    settings = get_settings()
    caller = operator(settings=settings)
    data = read_file(file)
    try:
        records, encoding = parse_records(data, name=file.name)
    except UnreadableInput as exc:
        err_console.print(f"[red]无法读取 {file}[/red]: {exc}")
        raise typer.Exit(2) from exc
    head = data[:4096].decode(encoding, errors="ignore")
    by_position = sniff_format(head, file.name) is Format.JSON
    if encoding != "utf-8-sig":
        err_console.print(f"[yellow]文件编码为 {encoding}，已转换为 UTF-8[/yellow]")
    ingest = firms.import_firms if kind == "firms" else firms.import_relations
    report = ingest(caller, records, skip_invalid=skip_invalid, progress=True)
    print_report(report, file.name, by_position=by_position)
    if not report.written:
        raise typer.Exit(1)
    # Keep the persisted index in step, so a server that starts next loads it as it is.
    IndexService(settings, database(settings)).start(progress=True)


@import_app.command("firms")
def import_firms(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL, CSV or JSON array")],
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="write the valid records")] = False,
) -> None:
    """Upsert firms by id. A file with any invalid record writes nothing unless --skip-invalid."""
    _import("firms", file, skip_invalid)


@import_app.command("relations")
def import_relations(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid")] = False,
) -> None:
    """Add product relations {product, relation, target}."""
    _import("relations", file, skip_invalid)
