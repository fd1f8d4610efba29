"""The investment map as a map (全球招商地图): where the candidate makers of a chain's weak links are —
by province (with cities) in China and by country abroad — with each candidate's reasons, place
class seen from the bureau's region, and outreach stage.

The candidates are the engine's two lists (investment targets and local suppliers) for the weak
links (weakest first, or the one asked for), exactly as the report and the dashboard's weak-link
page rank them; filters (scale, tags, place class, match-score floor) are applied by the engine
before its top-k cut (see :func:`chainmatch.chains.report.candidates_for`). Counts are distinct
firms; ``score`` sums each firm's best match score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Literal, TypedDict, Unpack

from sqlalchemy.engine import Engine
from sqlmodel import Session

from chainmatch import geography
from chainmatch.chains.assessment import assess
from chainmatch.chains.corpus import corpus_view
from chainmatch.chains.mapschemas import (
    CityCount,
    CountryCount,
    InvestmentMap,
    MapCandidate,
    MapLink,
    MapQuery,
    ProvinceCount,
    Ranking,
    ScaleCode,
    Tracking,
    rankings_of,
)
from chainmatch.chains.outreach import list_records
from chainmatch.chains.report import link_candidates
from chainmatch.chains.schemas import (
    ChainReport,
    ProductCandidates,
    WeakLink,
    WeakLinkAssessment,
    gap_lists_read,
)
from chainmatch.chains.scope import region_key
from chainmatch.chains.store import live_chain
from chainmatch.chains.supply import region_in
from chainmatch.errors import ChainNotFound
from chainmatch.indexing import IndexService
from chainmatch.keys import Principal
from chainmatch.labels import place
from chainmatch.places import place_class, place_filter, place_label
from models.gap import RegionIn
from models.matching import Filters, MatchResult
from models.outreach import STAGE_LABELS, OutreachRecord
from models.regions import normalize_province
from recommender.corpus import Region
from recommender.explain import DOMESTIC
from recommender.text import normalize_key

# Re-exported: the API, the dashboard and the services import the models from here.
__all__ = ["InvestmentMap", "MapQuery", "ScaleCode", "build_map", "pictures", "pictures_of", "report_map"]


def select_links(assessment: WeakLinkAssessment, query: MapQuery) -> list[WeakLink]:
    supply = [lk for lk in assessment.links if lk.score is not None]
    if query.segment is not None:
        supply = [lk for lk in supply if lk.segment is query.segment]
    if query.item:
        key = normalize_key(query.item)
        chosen = [lk for lk in supply if lk.node_id == query.item] or [
            lk for lk in supply if key in {normalize_key(p) for p in lk.products}
        ]
        if not chosen:
            raise ChainNotFound(
                f"产业链 {assessment.chain_id} 没有薄弱环节 {query.item[:60]} (no such weak link)"
            )
        return chosen[:1]
    return supply[: query.top]


def _product_filter(link: WeakLink, item: str | None) -> str | None:
    """When ``item`` names a product (not the node), only that product is queried."""
    if item and item != link.node_id:
        return normalize_key(item)
    return None


def build_map(
    db: Engine,
    index: IndexService,
    chain_id: str,
    region: Region,
    principal: Principal,
    query: MapQuery,
    *,
    province: str | None = None,
    country: str | None = None,
) -> InvestmentMap:
    """The map's data; ``province`` / ``country`` narrow the candidate list (not the counts)."""
    with Session(db) as session:
        chain = live_chain(session, chain_id)
        view = corpus_view(session)
        assessment = assess(session, chain, region, principal, view=view)
        records = [
            r
            for r in list_records(session, principal, chain_id=chain.id, region=region, limit=5000)
            if r.region_key == region_key(region)
        ]
    links = select_links(assessment, query)
    filters = Filters(scales=list(query.scales), tags=query.tags)
    places = place_filter(region, query.places)
    found: list[tuple[WeakLink, ProductCandidates]] = []
    for link in links:
        only = _product_filter(link, query.item)
        products = link_candidates(
            index,
            region,
            link,
            assessment,
            k=query.k,
            products=query.products_per_link if only is None else 10,
            min_score=query.min_match_score,
            filters=filters,
            places=places,
        )
        found += [(link, pc) for pc in products if only is None or normalize_key(pc.product) == only]
    candidates = collect(found, region, records)
    candidates.sort(key=lambda c: (-c.best_score, c.name))
    provinces, countries, unplaced = counts(candidates, region)
    shown = candidates
    if province:
        wanted = normalize_province(province)
        shown = [c for c in shown if c.country == DOMESTIC and c.province == wanted]
    if country:
        wanted_country = geography.country_name(country) or country
        shown = [
            c
            for c in shown
            if c.country != DOMESTIC and (geography.country_name(c.country) or c.country) == wanted_country
        ]
    return InvestmentMap(
        chain_id=chain.id,
        chain_name=chain.name,
        chain_version=chain.version,
        region=region_in(region),
        query=query,
        links=[
            MapLink(node_id=lk.node_id, name=lk.name, segment=lk.segment, score=lk.score, rank=lk.rank)
            for lk in links
        ],
        provinces=provinces,
        countries=countries,
        unplaced=unplaced,
        candidates=shown,
        gap_lists=gap_lists_read(assessment),
    )


def collect(
    found: Sequence[tuple[WeakLink, ProductCandidates]],
    region: Region,
    records: Sequence[OutreachRecord] = (),
) -> list[MapCandidate]:
    """Every firm of the lists, once, with every place it is ranked (best first) and its outreach
    records, best match first."""
    best: dict[str, MatchResult] = {}
    rankings: dict[str, list[Ranking]] = defaultdict(list)
    for link, pc in found:
        for m, ranking in rankings_of(link, pc):
            if m.firm_id not in best or m.score > best[m.firm_id].score:
                best[m.firm_id] = m
            rankings[m.firm_id].append(ranking)
    tracked: dict[str, list[Tracking]] = defaultdict(list)
    for r in records:
        if r.id is None:
            continue
        tracked[r.firm_id].append(
            Tracking(
                record_id=r.id,
                node_id=r.node_key,
                product=r.product,
                stage=r.stage,
                stage_label=STAGE_LABELS[r.stage],
            )
        )
    candidates = []
    for firm_id, m in best.items():
        cls = place_class(region, m.province, m.city, m.country)
        candidates.append(
            MapCandidate(
                firm_id=firm_id,
                name=m.name,
                province=m.province,
                city=m.city,
                country=m.country,
                place=place(m.province, m.city, m.country) or "所在地未知",
                place_class=cls,
                place_label=place_label(cls, region),
                scale=m.scale,
                tags=m.tags,
                best_score=m.score,
                rankings=sorted(rankings[firm_id], key=lambda r: (-r.score, r.rank)),
                outreach=tracked.get(firm_id, []),
            )
        )
    candidates.sort(key=lambda c: (-c.best_score, c.name))
    return candidates


def report_map(
    report: ChainReport,
) -> tuple[list[MapCandidate], list[ProvinceCount], list[CountryCount], int]:
    """The map of a finished report (its candidate lists, nothing queried again)."""
    region = Region(report.region.province, report.region.city)
    links = {lk.node_id: lk for lk in report.assessment.links}
    found = [(links[e.node_id], pc) for e in report.investment_map if e.node_id in links for pc in e.products]
    candidates = collect(found, region)
    provinces, countries, unplaced = counts(candidates, region)
    return candidates, provinces, countries, unplaced


def counts(
    candidates: list[MapCandidate], region: Region
) -> tuple[list[ProvinceCount], list[CountryCount], int]:
    by_province: dict[str, list[MapCandidate]] = defaultdict(list)
    by_country: dict[str, list[MapCandidate]] = defaultdict(list)
    unplaced = 0
    for c in candidates:
        if c.country != DOMESTIC:
            by_country[geography.country_name(c.country) or c.country].append(c)
        elif c.province:
            by_province[c.province].append(c)
        else:
            unplaced += 1
    provinces = []
    for name, firms in by_province.items():
        by_city: dict[str, list[MapCandidate]] = defaultdict(list)
        for c in firms:
            if c.city:
                by_city[c.city].append(c)
        cities = []
        for city, there in by_city.items():
            point = geography.city_point(name, city)
            cities.append(
                CityCount(
                    city=city,
                    firms=len(there),
                    score=round(sum(c.best_score for c in there), 4),
                    lon=point[0] if point else None,
                    lat=point[1] if point else None,
                )
            )
        cities.sort(key=lambda c: (-c.firms, c.city))
        provinces.append(
            ProvinceCount(
                province=name,
                firms=len(firms),
                score=round(sum(c.best_score for c in firms), 4),
                local=name == region.province,
                place_class=place_class(region, name, None, DOMESTIC),
                place_label=place_label(place_class(region, name, None, DOMESTIC), region),
                cities=cities,
            )
        )
    provinces.sort(key=lambda p: (-p.firms, p.province))
    countries = [
        CountryCount(
            country=name,
            firms=len(firms),
            score=round(sum(c.best_score for c in firms), 4),
            on_map=name in geography.countries(),
        )
        for name, firms in by_country.items()
    ]
    countries.sort(key=lambda c: (-c.firms, c.country))
    return provinces, countries, unplaced


# ----------------------------------------------------------------------------- pictures
class PictureOptions(TypedDict, total=False):
    """How :func:`pictures_of` draws: the metric, what is selected and where a place links to."""

    metric: Literal["firms", "score"]
    selected_province: str | None
    selected_country: str | None
    province_href: Callable[[str], str | None] | None
    country_href: Callable[[str], str | None] | None


def pictures(data: InvestmentMap, **options: Unpack[PictureOptions]) -> tuple[str, str]:
    """(China map, world map) as inline SVG for ``data``."""
    return pictures_of(data.region, data.provinces, data.countries, unplaced=data.unplaced, **options)


def pictures_of(
    region: RegionIn,
    provinces: Sequence[ProvinceCount],
    countries: Sequence[CountryCount],
    *,
    unplaced: int = 0,
    metric: Literal["firms", "score"] = "firms",
    selected_province: str | None = None,
    selected_country: str | None = None,
    province_href: Callable[[str], str | None] | None = None,
    country_href: Callable[[str], str | None] | None = None,
) -> tuple[str, str]:
    from chainmatch.chains import mapsvg

    def value(x: ProvinceCount | CountryCount) -> float:
        return float(x.firms) if metric == "firms" else x.score

    label = "候选企业数" if metric == "firms" else "匹配得分合计"
    cities = [
        mapsvg.CityDot(p.province, c.city, c.lon, c.lat, c.firms)
        for p in provinces
        for c in p.cities
        if c.lon is not None and c.lat is not None
    ]
    china = mapsvg.china_map(
        {p.province: value(p) for p in provinces},
        {p.province: p.firms for p in provinces},
        home=region.province,
        selected=selected_province,
        cities=cities,
        href=province_href,
        metric=label,
        title=f"全国招商地图 · {place(region.province, region.city)}视角",
    )
    world = mapsvg.world_map(
        {c.country: value(c) for c in countries},
        {c.country: c.firms for c in countries},
        selected=selected_country,
        china_count=sum(p.firms for p in provinces) + unplaced,
        href=country_href,
        metric=label,
    )
    return china, world
