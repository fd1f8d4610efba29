"""The chain investment map (招商图谱): every weak link of a chain in a region with, per product,
its investment targets (outside the region) and local suppliers (inside), ranked by the engine.

For each weak link (weakest first) the products queried are the items the region's leaders declared
for it, then the node's products with the fewest local makers (those that can still be attracted
first). The engine is reached through ``IndexService.searching()`` one query at a time, so index
updates are never held up for a whole report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy.engine import Engine
from sqlmodel import Session

from chainmatch.chains.assessment import assess
from chainmatch.chains.corpus import corpus_view
from chainmatch.chains.gapcandidates import gap_candidates
from chainmatch.chains.schemas import (
    ChainReport,
    MapEntry,
    ProductCandidates,
    ReportRequest,
    WeakLink,
    WeakLinkAssessment,
)
from chainmatch.chains.store import live_chain, to_public
from chainmatch.chains.supply import region_in
from chainmatch.indexing import IndexService
from chainmatch.keys import Principal
from chainmatch.matching import firm_filter
from chainmatch.places import WIDEN, PlaceFilter, annotate
from models.common import utcnow
from models.matching import Filters, MatchResult
from recommender.corpus import FirmMatch, MatchQuery, Region, Scope
from recommender.text import normalize_key

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
MAX_WIDE_K = 100  # the engine's k limit (settings.max_k's default)


@dataclass(frozen=True, slots=True)
class LinkQuery:
    """One product of a weak link to find candidates for."""

    product: str
    for_product: str | None
    description: str | None
    declared: bool
    exclude: tuple[str, ...]  # the leaders that declared it never appear among its candidates


def link_queries(link: WeakLink, assessment: WeakLinkAssessment, limit: int) -> list[LinkQuery]:
    """Declared items first (with their context), then the least locally supplied products."""
    downstream_name: str | None = None
    if link.upstream_of:
        target = next((lk for lk in assessment.links if lk.node_id == link.upstream_of[0]), None)
        if target is not None and target.products:
            downstream_name = target.products[0]
    out: dict[str, LinkQuery] = {}
    for declaration in link.declared.declarations:
        key = normalize_key(declaration.item)
        if key in out:
            previous = out[key]
            out[key] = LinkQuery(
                previous.product,
                previous.for_product,
                previous.description,
                True,
                tuple(sorted({*previous.exclude, declaration.leader_firm_id})),
            )
            continue
        description = " ".join(x for x in (declaration.description, declaration.spec) if x) or None
        out[key] = LinkQuery(
            declaration.item,
            declaration.for_product or downstream_name,
            description,
            True,
            (declaration.leader_firm_id,),
        )
    supply = sorted(
        link.supply,
        key=lambda s: (
            s.local_makers,
            -(s.elsewhere_makers + s.abroad_makers),
            link.products.index(s.product),
        ),
    )
    for s in supply:
        key = normalize_key(s.product)
        if key not in out:
            out[key] = LinkQuery(s.product, downstream_name, None, False, ())
    return list(out.values())[:limit]


def select_links(assessment: WeakLinkAssessment, top: int, min_score: float) -> list[WeakLink]:
    return [lk for lk in assessment.links if lk.score is not None and lk.score >= min_score][:top]


def placed(result: MatchResult, region: Region) -> MatchResult:
    """The result with its place line naming the place class (同城 / 本省 / 邻省 / 国内其他省份 / 境外)."""
    reasons = annotate(result.reasons, region, result.province, result.city, result.country)
    return result.model_copy(update={"reasons": reasons})


def candidates_for(
    index: IndexService,
    region: Region,
    query: LinkQuery,
    k: int,
    min_score: float | None = None,
    *,
    filters: Filters | None = None,
    places: PlaceFilter | None = None,
) -> tuple[list[MatchResult], list[MatchResult]]:
    """Both lists for one product. ``filters`` (scale, tags) and ``places`` (place classes) are
    applied by the engine before its top-k cut; a place class the engine's province filter cannot
    tell apart (see :mod:`chainmatch.places`) is checked on a list ``WIDEN`` times longer, then cut."""
    flt = firm_filter(filters, exclude=list(query.exclude))
    wide = k
    if places is not None and places.classes:
        flt = replace(
            flt,
            provinces_include=flt.provinces_include | places.provinces_include,
            provinces_exclude=flt.provinces_exclude | places.provinces_exclude,
        )
        if places.after_cut:
            wide = min(k * WIDEN, MAX_WIDE_K)
    match_query = MatchQuery(
        text=query.product,
        description=query.description,
        for_product=query.for_product,
        region=region,
        scope=Scope.ALL,
        filters=flt,
        k=wide,
        min_score=min_score,
    )
    with index.searching() as engine:
        targets, local = engine.recommend(match_query)

    def keep(matches: list[FirmMatch]) -> list[MatchResult]:
        results = [placed(MatchResult.from_match(m), region) for m in matches]
        if places is not None and places.after_cut:
            results = [r for r in results if places.admits(region, r.province, r.city, r.country)]
        return results[:k]

    return keep(targets), keep(local)


def link_candidates(
    index: IndexService,
    region: Region,
    link: WeakLink,
    assessment: WeakLinkAssessment,
    *,
    k: int,
    products: int,
    min_score: float | None = None,
    filters: Filters | None = None,
    places: PlaceFilter | None = None,
) -> list[ProductCandidates]:
    """Both candidate lists for each product queried for ``link``; an empty list is a finding
    (nobody there makes it well enough to pass the engine's relevance floor)."""
    out = []
    for query in link_queries(link, assessment, products):
        targets, local = candidates_for(index, region, query, k, min_score, filters=filters, places=places)
        out.append(
            ProductCandidates(
                product=query.product,
                for_product=query.for_product,
                declared=query.declared,
                investment_targets=targets,
                local_suppliers=local,
            )
        )
    return out


def build_report(
    db: Engine,
    index: IndexService,
    chain_id: str,
    region: Region,
    principal: Principal,
    request: ReportRequest,
    *,
    progress: Progress | None = None,
) -> ChainReport:
    """The whole investment map. ``progress(done, total, label)`` is called as links complete."""
    with Session(db) as session:
        chain = live_chain(session, chain_id)
        view = corpus_view(session)
        assessment = assess(session, chain, region, principal, view=view)
        gaps = gap_candidates(session, chain, region, principal, view=view)
        public = to_public(session, chain)
    links = select_links(assessment, request.top, request.min_score)
    total = len(links)
    if progress:
        progress(0, total, "评估完成，开始匹配候选企业 (assessed; matching candidates)")
    entries: list[MapEntry] = []
    for done, link in enumerate(links, start=1):
        products = link_candidates(
            index,
            region,
            link,
            assessment,
            k=request.k,
            products=request.products_per_link,
            min_score=request.min_match_score,
        )
        entries.append(
            MapEntry(
                node_id=link.node_id, name=link.name, score=link.score, rank=link.rank, products=products
            )
        )
        if progress:
            progress(done, total, link.name)
    logger.info("report for chain %s in %s: %d weak links", chain_id, region.province, total)
    return ChainReport(
        chain=public,
        region=region_in(region),
        generated_at=utcnow(),
        k=request.k,
        assessment=assessment,
        investment_map=entries,
        gap_candidates=gaps,
    )
