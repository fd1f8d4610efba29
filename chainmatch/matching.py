"""Turn weak links and typed queries into engine queries, and engine matches into API results.

The API, the CLI, the demo and the benchmarks all go through here, so what a benchmark measures
is what the service returns.
"""

from __future__ import annotations

from collections.abc import Sequence

from api.schemas import Filters, GapListRecommendations, ItemRecommendations, MatchResult
from chainmatch.regions import normalize_province
from models.gap import GapItem, GapItemPublic, GapList, RegionIn
from recommender.corpus import FirmFilter, MatchQuery, Region, Scope
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
    return MatchQuery(
        text=item.name,
        description=" ".join(x for x in (item.description, item.spec) if x) or None,
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
        targets, local = engine.recommend(query)
        out.append(
            ItemRecommendations(
                item=GapItemPublic.model_validate(item, from_attributes=True),
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
