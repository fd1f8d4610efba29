"""Turn weak links and typed queries into engine queries, and engine matches into API results.

The API, the CLI, the demo and the benchmarks all go through here, so what a benchmark measures
is what the service returns.
"""

from __future__ import annotations

from collections.abc import Sequence

from chainmatch.gaplists import item_text
from chainmatch.labels import pct
from models.gap import GapItem, GapItemPublic, GapList, RegionIn
from models.matching import (
    Filters,
    GapListRecommendations,
    ItemRecommendations,
    MatchResponse,
    MatchResult,
    UnderstoodAs,
)
from models.regions import normalize_province
from recommender.corpus import FirmFilter, FirmMatch, MatchQuery, Region, Scope
from recommender.engine import Recommender


def firm_filter(filters: Filters | None, *, exclude: Sequence[str] = ()) -> FirmFilter:
    filters = filters or Filters()
    return FirmFilter(
        provinces_include=frozenset(
            p for p in (normalize_province(x) for x in filters.provinces_include) if p
        ),
        provinces_exclude=frozenset(
            p for p in (normalize_province(x) for x in filters.provinces_exclude) if p
        ),
        tags_any=frozenset(filters.tags),
        scales=frozenset(filters.scales),
        exclude_firm_ids=frozenset(exclude),
    )


def item_query(
    item: GapItem,
    gap_list: GapList,
    *,
    k: int,
    filters: Filters | None = None,
    min_score: float | None = None,
) -> MatchQuery:
    text, description = item_text(item)
    return MatchQuery(
        text=text,
        description=description,
        for_product=item.for_product,
        leader_firm_id=gap_list.leader_firm_id,
        region=Region(gap_list.region_province, gap_list.region_city),
        scope=Scope.ALL,
        filters=firm_filter(filters, exclude=[gap_list.leader_firm_id]),
        k=k,
        min_score=min_score,
    )


def recommend_gap_list(
    engine: Recommender,
    gap_list: GapList,
    items: Sequence[GapItem],
    *,
    k: int,
    filters: Filters | None = None,
    min_score: float | None = None,
) -> GapListRecommendations:
    """Both lists for every item; ``min_score`` None = the engine's relevance floor."""
    out = []
    for item in items:
        query = item_query(item, gap_list, k=k, filters=filters, min_score=min_score)
        understood = understood_as(engine, query)
        targets, local = engine.recommend(query)
        out.append(
            ItemRecommendations(
                item=GapItemPublic.model_validate(item, from_attributes=True),
                understood_as=understood,
                investment_targets=[MatchResult.from_match(m) for m in targets],
                local_suppliers=[MatchResult.from_match(m) for m in local],
            )
        )
    return GapListRecommendations(
        gap_list_id=gap_list.id,
        version=gap_list.version,
        region=RegionIn(province=gap_list.region_province, city=gap_list.region_city),
        k=k,
        items=out,
    )


def understood_as(engine: Recommender, query: MatchQuery) -> UnderstoodAs:
    """How the engine reads ``query``'s text: the ``understood_as`` of every answer. Call it on the
    engine that answers the query (inside the same ``index.searching()``)."""
    return UnderstoodAs.from_understanding(engine.understand(query.text, query.description))


def match_response(
    engine: Recommender, query: MatchQuery, matches: Sequence[FirmMatch] | None = None
) -> MatchResponse:
    """``POST /v1/match`` and ``chainmatch match``: the reading and the ranked firms (``matches``:
    the engine's answer to ``query`` when it is already given, as a batch's are)."""
    understood = understood_as(engine, query)
    if matches is None:
        matches = engine.match(query)
    region = query.region
    return MatchResponse(
        region=RegionIn(province=region.province, city=region.city) if region else None,
        scope=query.scope,
        understood_as=understood,
        results=[MatchResult.from_match(m) for m in matches],
    )


def recommend_text(
    engine: Recommender, query: MatchQuery
) -> tuple[UnderstoodAs, list[MatchResult], list[MatchResult]]:
    """A typed weak link's reading and both lists: (investment targets outside ``query.region``,
    local suppliers inside it) — the dashboard's search page."""
    understood = understood_as(engine, query)
    targets, local = engine.recommend(query)
    return (
        understood,
        [MatchResult.from_match(m) for m in targets],
        [MatchResult.from_match(m) for m in local],
    )


VIA_LABELS = {
    "exact": "产品名称",
    "alias": "别名/缩写",
    "mention": "文中提及的产品",
    "head": "按中心词推断",
    "none": "未识别出产品",
}


def sourcing_text(u: UnderstoodAs) -> str:
    """``依赖进口；来源国 日本、德国；单一供应商；进口占比 70%`` — or empty."""
    s = u.sourcing
    parts = []
    if s.import_dependent:
        parts.append("依赖进口")
    if s.countries:
        parts.append("来源国 " + "、".join(s.countries))
    if s.single_supplier:
        parts.append("单一供应商")
    if s.import_share is not None:
        parts.append(f"进口占比 {pct(s.import_share)}")
    return "；".join(parts)


def reading_rows(u: UnderstoodAs) -> list[tuple[str, str]]:
    """The reading as (label, value) rows a person reads — the CLI and the dashboard show these;
    rows with nothing to say are left out, except the product."""
    product = u.product or "（未识别）"
    rows = [("识别产品", f"{product}（{VIA_LABELS.get(u.via, u.via)}）")]
    if u.synonyms:
        rows.append(("同义名称", "、".join(u.synonyms)))
    if u.alternatives:
        rows.append(("其他理解", "、".join(u.alternatives)))
    if u.qualifiers:
        rows.append(("限定词", "、".join(u.qualifiers)))
    if u.for_product:
        rows.append(("用于", u.for_product))
    if u.specs:
        rows.append(("规格/数量", "；".join(u.specs)))
    if u.annual_demand_cny is not None:
        rows.append(("年采购额", f"{u.annual_demand_cny / 1e4:,.0f} 万元"))
    sourcing = sourcing_text(u)
    if sourcing:
        rows.append(("供应情况", sourcing))
    if u.unparsed:
        rows.append(("未解析", "、".join(u.unparsed)))
    confidence = f"{u.confidence:.0%}"
    if u.low_confidence:
        confidence += "（置信度低：请核对识别的产品，或换一种说法）"
    rows.append(("置信度", confidence))
    return rows
