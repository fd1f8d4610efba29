"""``chainmatch chains …``, ``chainmatch report`` and ``chainmatch outreach …``.

The CLI is the platform operator's tool: it acts with admin scope (every region's declared data).
Heavy modules are imported inside the commands, so ``chainmatch --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from chainmatch.labels import OUTCOMES

if TYPE_CHECKING:
    from chainmatch.services.chains import ChainInRegion
    from chainmatch.services.context import Caller

chains_app = typer.Typer(
    help="产业链图谱：导入、构建、研判薄弱环节 (industry chains: define from a file or the product graph, assess weak links)",
    no_args_is_help=True,
)
outreach_app = typer.Typer(
    help="招商跟踪：查看记录、导出反馈 (outreach pipeline: list records, export feedback)",
    no_args_is_help=True,
)

console = Console()
err_console = Console(stderr=True)


def _caller() -> Caller:
    """The platform operator's caller (admin scope over every region, reads not audited) on the
    configured database; its index is started only by the commands that search."""
    from chainmatch.db import init_db, make_engine
    from chainmatch.services.context import operator_caller
    from chainmatch.settings import get_settings

    settings = get_settings()
    engine = make_engine(settings)
    init_db(engine)
    return operator_caller(settings, engine)


def _fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]{message}[/red]")
    return typer.Exit(code)


def _located(caller: Caller, chain_id: str, region: str | None, city: str | None) -> ChainInRegion:
    """The live chain and the region asked for (default: the chain's); exit 2 when either is wrong."""
    from chainmatch.errors import ChainError
    from chainmatch.services.chains import chain_in_region

    try:
        return chain_in_region(caller, chain_id, region, city)
    except ChainError as exc:
        raise _fail(str(exc), 2) from exc


@chains_app.command("list")
def chains_list() -> None:
    """产业链列表 (chains with their default region and node counts)."""
    from chainmatch.labels import SOURCES, place
    from chainmatch.services.chains import list_chains

    chains = list_chains(_caller())
    table = Table()
    table.add_column("id", no_wrap=True, min_width=max((len(c.id) for c in chains), default=2))
    for column in ("名称", "默认区域", "环节（上/中/下游）", "关系", "来源", "版本"):
        table.add_column(column, overflow="fold")
    for c in chains:
        s = c.segments
        table.add_row(
            c.id,
            c.name,
            place(c.region_province, c.region_city) or "—",
            f"{c.n_nodes}（{s.get('upstream', 0)}/{s.get('midstream', 0)}/{s.get('downstream', 0)}）",
            str(c.n_edges),
            SOURCES.get(c.source.value, c.source.value),
            str(c.version),
        )
    console.print(table)


@chains_app.command("import")
def chains_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="chain definition, .json or .yaml")
    ],
) -> None:
    """导入产业链定义文件 (create the chain, or replace it when the file's content differs)."""
    from chainmatch.chains.store import read_definition_file
    from chainmatch.errors import ChainError
    from chainmatch.services.chains import import_chain

    try:
        body = read_definition_file(file)
        outcome = import_chain(_caller(), body)
    except ChainError as exc:
        raise _fail(str(exc), 2) from exc
    console.print(
        f"产业链 {body.id}（{body.name}）：{len(body.nodes)} 个环节，{len(body.edges)} 条关系 — {OUTCOMES[outcome]}"
    )


@chains_app.command("build")
def chains_build(
    chain_id: Annotated[str, typer.Option("--id", help="id of the new chain")],
    name: Annotated[str, typer.Option(help="e.g. 光谱仪器")],
    product: Annotated[list[str], typer.Option("--product", "-p", help="start product(s): midstream nodes")],
    region: Annotated[str | None, typer.Option(help="default region, e.g. 广东省")] = None,
    upstream_depth: Annotated[int, typer.Option(help="upstream_material steps")] = 2,
    downstream_depth: Annotated[int, typer.Option(help="steps towards products that use them")] = 1,
    subclass_depth: Annotated[int, typer.Option(help="narrower kinds grouped into a node")] = 1,
    max_nodes: Annotated[int, typer.Option(help="at most this many nodes")] = 40,
    out: Annotated[Path | None, typer.Option(help="also write the definition (.json or .yaml)")] = None,
    save: Annotated[bool, typer.Option("--save/--no-save", help="store it in the registry")] = True,
) -> None:
    """由产品图谱构建产业链 (build a chain from the product graph, starting at PRODUCT(s))."""
    import yaml
    from pydantic import ValidationError

    from chainmatch.errors import ChainError
    from chainmatch.labels import SEGMENTS
    from chainmatch.services.chains import chain_from_graph, import_chain
    from models.chain import ChainFromGraph, ChainSource

    caller = _caller()
    try:
        request = ChainFromGraph.model_validate(
            {
                "id": chain_id,
                "name": name,
                "products": product,
                "region": {"province": region} if region else None,
                "upstream_depth": upstream_depth,
                "downstream_depth": downstream_depth,
                "subclass_depth": subclass_depth,
                "max_nodes": max_nodes,
            }
        )
        definition = chain_from_graph(caller, request)
    except ValidationError as exc:
        raise _fail(
            f"参数无效 (invalid options): {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}", 2
        ) from exc
    except ChainError as exc:
        raise _fail(str(exc), 1) from exc
    segments: dict[str, int] = {}
    for node in definition.nodes:
        segments[node.segment.value] = segments.get(node.segment.value, 0) + 1
    counts = " · ".join(f"{label} {segments.get(code, 0)}" for code, label in SEGMENTS.items())
    console.print(
        f"{definition.name}（{definition.id}）：{len(definition.nodes)} 个环节（{counts}），{len(definition.edges)} 条关系"
    )
    if out is not None:
        data = definition.model_dump(mode="json", exclude_none=True)
        text = (
            yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
            if out.suffix.lower() in (".yaml", ".yml")
            else json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        )
        out.write_text(text, encoding="utf-8")
        console.print(f"已写入 {out}")
    if save:
        outcome = import_chain(caller, definition, source=ChainSource.GRAPH)
        console.print(f"已保存：{OUTCOMES[outcome]}")


@chains_app.command("weak-links")
def chains_weak_links(
    chain_id: Annotated[str, typer.Argument(help="chain id")],
    region: Annotated[str | None, typer.Option(help="province; default: the chain's")] = None,
    city: Annotated[str | None, typer.Option(help="optionally a city")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's JSON")] = False,
) -> None:
    """薄弱环节研判 (weak links of a chain in a region, weakest first, with the parts of each score)."""
    from chainmatch.labels import LEVELS, SEGMENTS
    from chainmatch.services.chains import weak_links

    caller = _caller()
    where = _located(caller, chain_id, region, city)
    result = weak_links(caller, chain_id, region, city)
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    table = Table(title=f"{result.chain_name} · {where.label} 薄弱环节", title_justify="left")
    for column in (
        "#",
        "环节",
        "分段",
        "薄弱度",
        "构成（缺口/集中/进口/风险/需求）",
        "本地/省外/境外",
        "研判发现",
    ):
        table.add_column(column, overflow="fold")
    for lk in result.links:
        parts = "/".join(f"{p.points:.0f}" for p in lk.parts) if lk.parts else "—"
        table.add_row(
            str(lk.rank or ""),
            lk.name,
            SEGMENTS.get(lk.segment.value, lk.segment.value),
            f"{lk.score:.1f} {LEVELS.get(lk.level or '', '')}".strip()
            if lk.score is not None
            else "应用市场",
            parts,
            f"{lk.local_makers}/{lk.elsewhere_makers}/{lk.abroad_makers}",
            "；".join(lk.flags[:3]),
        )
    console.print(table)
    console.print(f"[dim]{result.method}[/dim]")


@chains_app.command("gap-candidates")
def chains_gap_candidates(
    chain_id: Annotated[str, typer.Argument(help="chain id")],
    region: Annotated[str | None, typer.Option(help="province; default: the chain's")] = None,
    city: Annotated[str | None, typer.Option()] = None,
    max_local: Annotated[int, typer.Option(help="at most this many local makers")] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """链主缺口候选 (upstream needs of each leader's products that the region can hardly supply)."""
    from chainmatch.services.chains import gap_candidates

    caller = _caller()
    _located(caller, chain_id, region, city)
    result = gap_candidates(caller, chain_id, region, city, max_local=max_local)
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    for group in result.leaders:
        table = Table(title=f"{group.leader.name}（{group.leader.id}）", title_justify="left")
        for column in ("上游需求", "用于", "本地", "省外", "境外", "已申报"):
            table.add_column(column)
        for c in group.candidates:
            table.add_row(
                c.need,
                c.for_product,
                str(c.local_makers),
                str(c.elsewhere_makers),
                str(c.abroad_makers),
                "是" if c.declared else "否",
            )
        console.print(table)


def report_cmd(
    chain_id: Annotated[str, typer.Argument(help="chain id")],
    region: Annotated[str | None, typer.Option(help="province; default: the chain's")] = None,
    city: Annotated[str | None, typer.Option()] = None,
    formats: Annotated[
        str, typer.Option("--format", "-f", help="comma-separated: html,xlsx,csv,json")
    ] = "html,xlsx,csv,json",
    out: Annotated[Path, typer.Option(help="folder to write the files to")] = Path("."),
    k: Annotated[int, typer.Option("-k", help="candidates per list per product")] = 5,
    top: Annotated[int, typer.Option(help="weak links in the map, weakest first")] = 10,
    min_score: Annotated[float, typer.Option(help="only links scoring at least this")] = 0.0,
    min_match_score: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="leave out candidates scoring below this (default: the setting)"),
    ] = None,
    products_per_link: Annotated[int, typer.Option(help="products queried per weak link")] = 3,
) -> None:
    """招商图谱报告 (the chain investment map for a region: HTML, XLSX, CSV, JSON).

    Weak links with investment targets and local suppliers; the HTML has the chain graph and charts."""
    from pydantic import ValidationError
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from chainmatch.chains.render import ReportFormat, filename, render
    from chainmatch.chains.schemas import ReportRequest
    from chainmatch.errors import ChainError
    from chainmatch.services.reports import chain_report

    try:
        wanted = [ReportFormat(f.strip().lower()) for f in formats.split(",") if f.strip()]
        request = ReportRequest(
            k=k,
            top=top,
            min_score=min_score,
            products_per_link=products_per_link,
            min_match_score=min_match_score,
        )
    except (ValueError, ValidationError) as exc:
        raise _fail(f"参数无效 (invalid options): {exc}", 2) from exc
    if not wanted:
        raise _fail("请指定至少一种格式 --format html,xlsx,csv,json", 2)
    caller = _caller()
    where = _located(caller, chain_id, region, city)
    caller.index.start(progress=True)
    with Progress(
        TextColumn("[bold]招商图谱[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as bar:
        task = bar.add_task("评估薄弱环节…", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        try:
            result = chain_report(caller, chain_id, region, city, request, progress=progress)
        except ChainError as exc:
            raise _fail(str(exc), 1) from exc
    out.mkdir(parents=True, exist_ok=True)
    for fmt in wanted:
        path = out / filename(result, fmt)
        path.write_bytes(render(result, fmt))
        console.print(f"已写入 {path}")
    console.print(f"{result.chain.name} · {where.label}：{len(result.investment_map)} 个薄弱环节入图")


@outreach_app.command("list")
def outreach_list(
    chain: Annotated[str | None, typer.Option(help="only this chain")] = None,
    region: Annotated[str | None, typer.Option(help="only this province")] = None,
) -> None:
    """招商跟踪记录 (tracked candidates with their stage)."""
    from chainmatch.labels import KINDS, place
    from chainmatch.services.outreach import list_records

    table = Table("id", "区域", "产业链", "环节", "产品", "企业", "类别", "阶段", "负责人", "更新")
    for r in list_records(_caller(), size=100_000, chain_id=chain, region=region or None).items:
        table.add_row(
            str(r.id),
            place(r.region_province, r.region_city),
            r.chain_id,
            r.node_id,
            r.product,
            f"{r.firm_name} ({r.firm_id})",
            KINDS.get(r.kind.value, r.kind.value),
            r.stage_label,
            r.owner or "",
            f"{r.stage_changed_at:%Y-%m-%d}",
        )
    console.print(table)


@outreach_app.command("export")
def outreach_export(
    out: Annotated[Path, typer.Option(help="file to write (.jsonl or .csv)")] = Path(
        "outreach_feedback.jsonl"
    ),
    chain: Annotated[str | None, typer.Option(help="only this chain")] = None,
) -> None:
    """导出阶段变更反馈 (every stage change as a labelled pair: training data for the ranker)."""
    from chainmatch.exports import write_csv
    from chainmatch.services.outreach import feedback
    from models.outreach import FeedbackRow

    rows = feedback(_caller(), chain_id=chain)
    if out.suffix.lower() == ".csv":
        columns = list(FeedbackRow.model_fields)
        data = (row.model_dump(mode="json") for row in rows)
        with out.open("w", encoding="utf-8-sig", newline="") as handle:
            write_csv(handle, columns, ([d[c] for c in columns] for d in data))
    else:
        out.write_text("".join(r.model_dump_json() + "\n" for r in rows), encoding="utf-8")
    console.print(f"已导出 {len(rows)} 条反馈 → {out}")
