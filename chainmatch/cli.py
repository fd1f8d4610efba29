"""``chainmatch`` — the command line: demo, serve, import, index, keys, match."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import Engine

from chainmatch.aliases_cli import aliases_app
from chainmatch.chains.cli import chains_app, outreach_app, report_cmd
from chainmatch.ingest.report import IngestReport, RecordIssue
from chainmatch.labels import OUTCOMES, place, scale_label, tag_label
from chainmatch.offers_cli import offers_app, ranker_refresh
from chainmatch.settings import Settings, get_settings
from models.matching import GapSheetReport, MatchResponse, MatchResult

app = typer.Typer(help="ChainMatch — 链长制 · 补链强链精准招商", no_args_is_help=True, add_completion=False)
import_app = typer.Typer(
    help="Import firms or product relations from JSONL, CSV or a JSON array", no_args_is_help=True
)
index_app = typer.Typer(help="The search index", no_args_is_help=True)
keys_app = typer.Typer(help="API keys", no_args_is_help=True)
gaps_app = typer.Typer(help="Gap lists (断链断供风险清单)", no_args_is_help=True)
ranker_app = typer.Typer(help="The learned ranker", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(index_app, name="index")
app.add_typer(keys_app, name="keys")
app.add_typer(gaps_app, name="gaps")
app.add_typer(ranker_app, name="ranker")
app.add_typer(chains_app, name="chains")
app.add_typer(outreach_app, name="outreach")
app.add_typer(aliases_app, name="aliases")
app.add_typer(offers_app, name="offers")
ranker_app.command("refresh")(ranker_refresh)
app.command("report")(report_cmd)

console = Console()
err_console = Console(stderr=True)
logger = logging.getLogger("chainmatch")


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="debug logs")] = False) -> None:
    from chainmatch.logconfig import configure_logging

    configure_logging("DEBUG" if verbose else get_settings().log_level)


def _db(settings: Settings) -> Engine:
    from chainmatch.db import init_db, make_engine

    engine = make_engine(settings)
    init_db(engine)
    return engine


def _print_report(report: IngestReport, what: str, *, by_position: bool = False) -> None:
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


def _import(kind: str, file: Path, skip_invalid: bool, *, rebuild_index: bool = True) -> None:
    from chainmatch.indexing import IndexService
    from chainmatch.ingest.firms import ingest_firms
    from chainmatch.ingest.readers import Format, UnreadableInput, parse_records, sniff_format
    from chainmatch.ingest.relations import ingest_relations

    settings = get_settings()
    engine = _db(settings)
    try:
        data = file.read_bytes()
        records, encoding = parse_records(data, name=file.name)
    except (OSError, UnreadableInput) as exc:
        err_console.print(f"[red]无法读取 {file}[/red]: {exc}")
        raise typer.Exit(2) from exc
    head = data[:4096].decode(encoding, errors="ignore")
    by_position = sniff_format(head, file.name) is Format.JSON
    if encoding != "utf-8-sig":
        err_console.print(f"[yellow]文件编码为 {encoding}，已转换为 UTF-8[/yellow]")
    ingest = ingest_firms if kind == "firms" else ingest_relations
    report = ingest(engine, records, skip_invalid=skip_invalid, progress=True)
    _print_report(report, file.name, by_position=by_position)
    if not report.written:
        raise typer.Exit(1)
    if rebuild_index:
        # Keep the persisted index in step, so a server that starts next loads it as it is.
        IndexService(settings, engine).start(progress=True)


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

    settings = get_settings()
    try:
        head = file.read_bytes()[:8]
    except OSError as exc:
        err_console.print(f"[red]无法读取 {file}[/red]: {exc}")
        raise typer.Exit(2) from exc
    if is_sheet_file(file, head):
        _import_sheet(settings, file, leader, title, region, city, dry_run=dry_run, as_json=as_json)
        return
    from chainmatch.gapfile import import_gap_lists
    from chainmatch.indexing import IndexService

    db = _db(settings)
    service = IndexService(settings, db)
    service.start(progress=True)
    with service.searching() as engine:
        report = import_gap_lists(db, file, understand=engine.understand)
    _print_report(report, file.name, by_position=True)
    if not report.written:
        raise typer.Exit(1)


def _import_sheet(
    settings: Settings,
    file: Path,
    leader: str | None,
    title: str | None,
    region: str | None,
    city: str | None,
    *,
    dry_run: bool,
    as_json: bool,
) -> None:
    from chainmatch.gapfile import import_gap_sheet
    from chainmatch.indexing import IndexService

    if not leader or not title or not title.strip():
        err_console.print(
            "[red]从 XLSX/CSV 导入需指定 --leader 与 --title (a spreadsheet needs --leader and --title)[/red]"
        )
        raise typer.Exit(2)
    db = _db(settings)
    service = IndexService(settings, db)
    service.start(progress=True)
    try:
        data = file.read_bytes()
    except OSError as exc:
        err_console.print(f"[red]无法读取 {file}[/red]: {exc}")
        raise typer.Exit(2) from exc
    with service.searching() as engine:
        report, outcome = import_gap_sheet(
            db,
            data,
            file.name,
            understand=engine.understand,
            leader_firm_id=leader,
            title=title,
            region=region,
            city=city,
            max_items=settings.max_gap_items,
            dry_run=dry_run,
        )
    if as_json:
        print(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        print_sheet_report(report, file.name, outcome)
    if report.errors:
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


@index_app.command("build")
def index_build() -> None:
    """Rebuild the index from the database (encoder fit, FAISS, lexical) and persist it."""
    from chainmatch.indexing import IndexService

    settings = get_settings()
    stats = IndexService(settings, _db(settings)).rebuild(progress=True)
    console.print(
        f"索引已建立 index built: {stats['firms']} firms, {stats['relations']} relations, "
        f"{stats['seconds']} s → {settings.index_dir}"
    )


@index_app.command("status")
def index_status() -> None:
    """Whether the persisted index is in step with the database."""
    from chainmatch.indexing import IndexService

    settings = get_settings()
    service = IndexService(settings, _db(settings))
    service.start()
    console.print_json(json.dumps(service.status(), ensure_ascii=False))


@ranker_app.command("train")
def ranker_train(
    firms: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="firms file (as for import)")],
    relations: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="product relations file")],
    gaps: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="graded gaps, JSON lines")],
    out: Annotated[Path, typer.Option(help="where ranker.npz and ranker.json go")] = Path(
        "recommender/artifacts"
    ),
    folds: Annotated[int, typer.Option(min=2, help="GroupKFold splits (grouped by item)")] = 5,
    freetext: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="the same gaps written as people write them (JSON lines with text, item, qrels)",
        ),
    ] = None,
) -> None:
    """Train the ranker on graded gaps, cross-validated by item, and write it with its provenance.

    The firms go through the importer first, so the ranker learns on the corpus the service holds.
    With --freetext the free-text rewrites are asked as typed and learned from too.
    """
    from chainmatch.corpus_files import corpus_from_files
    from recommender.training import train_ranker

    docs, rels = corpus_from_files(firms, relations, progress=True)

    def read_jsonl(path: Path) -> list[dict[str, object]]:
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    graded = read_jsonl(gaps)
    free = read_jsonl(freetext) if freetext else []
    files = [firms, relations, gaps, *([freetext] if freetext else [])]
    report = train_ranker(docs, rels, graded, out, n_splits=folds, data_files=files, freetext=free)
    console.print_json(data=report["cv"])
    console.print(f"排序模型已保存 ranker saved → {out / 'ranker.npz'} ({report['seconds']} s)")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin | bureau | leader")],
    province: Annotated[str | None, typer.Option(help="bureau: its province, e.g. 广东省")] = None,
    city: Annotated[str | None, typer.Option(help="bureau: optionally its city")] = None,
    firm: Annotated[str | None, typer.Option(help="leader: its firm id")] = None,
    label: Annotated[str | None, typer.Option(help="who holds it")] = None,
) -> None:
    """Create a key. It is printed once, as the last line; only a salted hash is stored."""
    from chainmatch.db import session_scope
    from chainmatch.keys import KeyScopeError, create_key
    from models.apikey import Role

    try:
        role_value = Role(role)
    except ValueError as exc:
        err_console.print(f"[red]未知角色 {role}[/red]：admin | bureau | leader")
        raise typer.Exit(2) from exc
    try:
        with session_scope(_db(get_settings())) as session:
            key, plaintext = create_key(
                session, role_value, province=province, city=city, firm_id=firm, label=label
            )
            key_id = key.id
    except KeyScopeError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    err_console.print(f"已创建密钥 key {key_id} ({role_value.value})；请妥善保存，之后不再显示 (shown once):")
    print(plaintext)


@keys_app.command("revoke")
def keys_revoke(key: Annotated[str, typer.Argument(help="key id or prefix")]) -> None:
    """Revoke a key at once."""
    from chainmatch.db import session_scope
    from chainmatch.keys import revoke_key

    with session_scope(_db(get_settings())) as session:
        found = revoke_key(session, key)
    if found is None:
        err_console.print(f"[red]密钥 {key} 不存在 (no such key)[/red]")
        raise typer.Exit(1)
    console.print(f"已吊销 revoked key {key}")


@keys_app.command("list")
def keys_list() -> None:
    """Keys with role, scope and last use (never the secrets)."""
    from sqlmodel import Session, col, select

    from models.apikey import ApiKey

    table = Table("id", "role", "scope", "label", "created", "last used", "revoked")
    # The prefix is what `keys revoke` takes: never cut it, whatever the terminal's width.
    table.add_column("prefix", no_wrap=True, min_width=12)
    with Session(_db(get_settings())) as session:
        for key in session.exec(select(ApiKey).order_by(col(ApiKey.id))):
            scope = key.firm_id or " ".join(x for x in (key.province, key.city) if x) or "—"
            table.add_row(
                str(key.id),
                key.role,
                scope,
                key.label or "",
                f"{key.created_at:%Y-%m-%d %H:%M}",
                f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "—",
                f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
                key.prefix,
            )
    console.print(table)


@app.command("match")
def match_cmd(
    text: Annotated[str, typer.Argument(help="component or material, e.g. 涡轮分子泵")],
    region: Annotated[str | None, typer.Option(help="province, e.g. 广东省")] = None,
    scope: Annotated[str, typer.Option(help="outside | inside | all")] = "all",
    k: Annotated[int, typer.Option("-k", help="results")] = 10,
    for_product: Annotated[str | None, typer.Option(help="the leader product it goes into")] = None,
    description: Annotated[str | None, typer.Option(help="more context (risk description, spec …)")] = None,
    leader: Annotated[str | None, typer.Option(help="leader firm id (excluded from results)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's JSON")] = False,
    min_score: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="leave out results scoring below this (default: the setting)"),
    ] = None,
) -> None:
    """Who can make TEXT? The same ranking as POST /v1/match. TEXT may be a sentence
    (用于质谱仪的离子源，依赖日本进口): how it was read is printed above the list."""
    from chainmatch.indexing import IndexService
    from chainmatch.matching import firm_filter, match_response
    from models.regions import normalize_province
    from recommender.corpus import MatchQuery, Region, Scope

    settings = get_settings()
    if k < 1 or k > settings.max_k:
        err_console.print(f"[red]k 应在 1 到 {settings.max_k} 之间[/red]")
        raise typer.Exit(2)
    try:
        scope_value = Scope(scope)
    except ValueError as exc:
        err_console.print("[red]scope 应为 outside | inside | all[/red]")
        raise typer.Exit(2) from exc
    province = normalize_province(region)
    if scope_value is not Scope.ALL and not province:
        err_console.print("[red]scope 为 inside/outside 时须指定 --region[/red]")
        raise typer.Exit(2)
    service = IndexService(settings, _db(settings))
    service.start(progress=True)
    query = MatchQuery(
        text=text,
        description=description,
        for_product=for_product,
        leader_firm_id=leader,
        region=Region(province) if province else None,
        scope=scope_value,
        filters=firm_filter(None, exclude=[leader] if leader else []),
        k=k,
        min_score=min_score,
    )
    with service.searching() as engine:
        response = match_response(engine, query)
    if as_json:
        print(json.dumps(response.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    print_reading(response)
    console.print(results_table(f"{text} — {scope_value.value}", response.results))


def print_reading(response: MatchResponse) -> None:
    """How the text was read, above the list: product, qualifiers, end use, specs, sourcing, confidence."""
    from chainmatch.matching import reading_rows

    u = response.understood_as
    table = Table(title=f"理解为：{u.text}", title_justify="left", show_header=False, box=None)
    table.add_column("项", style="bold", no_wrap=True)
    table.add_column("内容", overflow="fold")
    for label, value in reading_rows(u):
        table.add_row(label, f"[yellow]{value}[/yellow]" if label == "置信度" and u.low_confidence else value)
    console.print(table)
    flagged = sum(1 for r in response.results if r.low_confidence)
    if flagged:
        console.print(
            f"[yellow]注意：{flagged} 家候选企业低于相关度阈值，因理解不确定而列出，仅供参考 (low confidence)[/yellow]"
        )


def results_table(title: str, results: list[MatchResult]) -> Table:
    table = Table(title=title, show_lines=False, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("企业 firm")
    table.add_column("地区 region")
    table.add_column("规模/标签", overflow="fold")
    table.add_column("得分", justify="right")
    table.add_column("理由 reasons", overflow="fold")
    if not results:
        table.caption = "无匹配度达标的企业 (none above the relevance floor)"
    elif any(r.low_confidence for r in results):
        table.caption = "得分后带 ? 者：理解不确定、低于相关度阈值而列出的候选，请核对 (low confidence)"
    for rank, r in enumerate(results, start=1):
        where = place(r.province, r.city, r.country)
        tags = " ".join([scale_label(r.scale)] + [tag_label(t) for t in r.tags])
        score = f"{r.score:.3f}" + ("?" if r.low_confidence else "")
        table.add_row(str(rank), f"{r.name} ({r.firm_id})", where, tags, score, "；".join(r.reasons[:2]))
    return table


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=get_settings().log_level.lower(),
    )


@app.command("demo")
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="serve the API afterwards")] = True,
    k: Annotated[int, typer.Option("-k", help="candidates per list")] = 5,
) -> None:
    """Load the sample Guangdong precision-instrument cluster, build the index, print each weak
    link's investment targets and local suppliers, then serve the API until Ctrl-C."""
    from chainmatch.demo import run_demo

    run_demo(get_settings(), console, k=k)
    if serve_api:
        console.print(f"\nAPI: http://{host}:{port}/docs  (Ctrl-C 退出)")
        serve(host=host, port=port, workers=1)
