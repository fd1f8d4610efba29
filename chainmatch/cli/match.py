"""``chainmatch match TEXT``: who can make it, ranked as ``POST /v1/match`` ranks, with how the text
was read; and the result table the demo prints too."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from chainmatch.cli.common import console, err_console, operator, started_index
from chainmatch.labels import place, scale_label, tag_label
from chainmatch.settings import get_settings
from models.matching import MatchResponse, MatchResult


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
    from pydantic import ValidationError

    from chainmatch.services import match
    from models.matching import MatchRequest
    from models.regions import normalize_province
    from recommender.corpus import Scope

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
    try:
        body = MatchRequest(
            text=text,
            description=description,
            for_product=for_product,
            leader_firm_id=leader,
            region=province,
            scope=scope_value,
            k=k,
            min_score=min_score,
        )
    except ValidationError as exc:
        err_console.print(f"[red]{exc.errors(include_url=False)[0]['msg']}[/red]")
        raise typer.Exit(2) from exc
    response = match.match(operator(index=started_index(settings), settings=settings), body)
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
