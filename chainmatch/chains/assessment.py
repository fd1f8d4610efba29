"""Weak-link assessment (薄弱环节研判) of a chain in a region, and gap candidates for its leaders.

For every node the assessment counts the firms that make its products (or narrower kinds, see
:mod:`chainmatch.chains.corpus`) inside the region, elsewhere in China and abroad, measures how
concentrated they are, and reads what the region's chain leaders declared in their gap lists (only
lists the caller may read: a bureau sees its own region's, see ``chainmatch.gaplists.visible_lists``).

The weak-link score (0–100, higher = weaker) is a weighted sum of five parts, each in 0..1, all
returned with the score so that a bureau can see why a link ranks where it does:

=================  ======  ====================================================================
part               weight  value
=================  ======  ====================================================================
``local_gap``      0.35    mean over the node's products of 1 / (1 + local makers): 1 when the region
                           makes none of them, 0.5 with one maker each, → 0 with many
``concentration``  0.15    HHI of all makers by place (province; country abroad) × the share of
                           makers outside the region: 1 = the region depends on one other place
                           for everything (also 1 when nobody makes it anywhere); 0 when all
                           makers are local
``import_share``   0.20    highest import share declared for the node in the region's gap lists
``risk``           0.15    highest declared risk level, (level − 1) / 4
``demand``         0.15    declared annual demand, log-scaled against the chain's largest
=================  ======  ====================================================================

Undeclared nodes therefore score at most 50: what leaders report weighs as much as what the
registry shows. Levels: high ≥ 60, medium ≥ 40, low below. Downstream nodes are applications and
markets: their makers are shown but they are not scored.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from chainmatch.chains.corpus import CorpusView, FirmInfo, corpus_view
from chainmatch.chains.schemas import (
    Declaration,
    DeclaredSummary,
    FirmRef,
    GapCandidate,
    GapCandidates,
    GapListRef,
    LeaderGapCandidates,
    Level,
    MatchedBy,
    PlaceCount,
    ProductSupply,
    ScorePart,
    SupplyFlag,
    WeakLink,
    WeakLinkAssessment,
)
from chainmatch.chains.store import edges_of, nodes_of
from chainmatch.gaplists import in_city, visible_lists
from chainmatch.keys import Principal
from models.chain import Chain, ChainNode, Segment
from models.common import utcnow
from models.gap import GapItem, GapList, RegionIn
from recommender.corpus import Region
from recommender.text import normalize_key

WEIGHTS: dict[str, float] = {
    "local_gap": 0.35,
    "concentration": 0.15,
    "import_share": 0.20,
    "risk": 0.15,
    "demand": 0.15,
}
LABELS: dict[str, str] = {
    "local_gap": "本地供给缺口",
    "concentration": "产地集中度",
    "import_share": "进口依赖（清单申报）",
    "risk": "断供风险（清单申报）",
    "demand": "需求规模（清单申报）",
}
HIGH, MEDIUM = 60.0, 40.0
HHI_CONCENTRATED = 0.25
LEADER_TAG = "链主企业"
METHOD = (
    "薄弱度 = 100 × (0.35·本地供给缺口 + 0.15·产地集中度 + 0.20·进口依赖 + 0.15·断供风险 + 0.15·需求规模)，越高越薄弱。"
    "本地供给缺口 = 各产品 1/(1+本地生产企业数) 的平均；产地集中度 = 生产企业按省份（境外按国家）分布的 HHI × 外地企业占比"
    "（全国及境外均无生产企业时记 1）；后三项取本区域链主清单申报值：进口占比最大值、(最高风险等级−1)/4、"
    "年需求额取对数后按全链最大值归一，未申报记 0。≥60 为高，≥40 为中，其余为低；下游应用市场不评分。"
)


def region_in(region: Region) -> RegionIn:
    return RegionIn(province=region.province, city=region.city)


def firm_ref(firm: FirmInfo) -> FirmRef:
    return FirmRef(id=firm.id, name=firm.name, province=firm.province, city=firm.city, country=firm.country)


def hhi(counts: Iterable[int]) -> float | None:
    values = [c for c in counts if c > 0]
    total = sum(values)
    if not total:
        return None
    return sum((c / total) ** 2 for c in values)


def level_of(score: float) -> Level:
    return "high" if score >= HIGH else "medium" if score >= MEDIUM else "low"


def supply_flag(local: int) -> SupplyFlag:
    return (
        "zero_source"
        if local == 0
        else "single_source"
        if local == 1
        else "few_sources"
        if local <= 2
        else "supplied"
    )


@dataclass
class _Split:
    local: set[str] = field(default_factory=set)
    elsewhere: set[str] = field(default_factory=set)
    abroad: set[str] = field(default_factory=set)

    def add(self, firm: FirmInfo, region: Region) -> None:
        if firm.inside(region):
            self.local.add(firm.id)
        elif firm.in_china:
            self.elsewhere.add(firm.id)
        else:
            self.abroad.add(firm.id)

    @property
    def total(self) -> int:
        return len(self.local) + len(self.elsewhere) + len(self.abroad)


def _split(view: CorpusView, firm_ids: Iterable[str], region: Region, exclude: str | None = None) -> _Split:
    out = _Split()
    for firm_id in firm_ids:
        firm = view.firms.get(firm_id)
        if firm is not None and firm_id != exclude:
            out.add(firm, region)
    return out


# ------------------------------------------------------------------------------- declarations
@dataclass(frozen=True)
class _Declared:
    gap_list: GapList
    item: GapItem


def _finite(value: float | None) -> float | None:
    """A stored number as it may be used: a non-finite one (written before validation refused
    them) counts as not declared, so no page or report ever meets NaN or inf."""
    return value if value is None or math.isfinite(value) else None


def lists_of(declared: Sequence[_Declared]) -> list[GapListRef]:
    lists = {d.gap_list.id: d.gap_list for d in declared}
    return [GapListRef(id=gl.id, version=gl.version) for _, gl in sorted(lists.items())]


def declared_items(session: Session, principal: Principal, region: Region) -> list[_Declared]:
    """Items of the gap lists of ``region`` that ``principal`` may read (never others')."""
    query = visible_lists(principal).where(GapList.region_province == region.province)
    if region.city:
        query = query.where(in_city(region.city))
    lists = {gl.id: gl for gl in session.exec(query)}
    if not lists:
        return []
    items = session.exec(
        select(GapItem)
        .where(col(GapItem.gap_list_id).in_(list(lists)))
        .order_by(col(GapItem.gap_list_id), col(GapItem.position))
    )
    return [_Declared(lists[item.gap_list_id], item) for item in items]


class _NodeIndex:
    """Maps product names to the chain's nodes: exactly, through subclasses, or by containment."""

    def __init__(self, view: CorpusView, nodes: Sequence[ChainNode]) -> None:
        self.view = view
        self.exact: dict[str, str] = {}
        self.closure: dict[str, str] = {}
        self.keys: list[tuple[str, str]] = []  # (product key, node id), longest first
        for node in nodes:
            if node.segment is Segment.DOWNSTREAM:
                continue
            for product in node.products:
                key = normalize_key(product)
                self.exact.setdefault(key, node.key)
                self.keys.append((key, node.key))
                for narrower in view.narrower(key):
                    self.closure.setdefault(narrower, node.key)
        self.keys.sort(key=lambda kn: -len(kn[0]))

    def find(self, name: str) -> tuple[str, MatchedBy] | None:
        key = normalize_key(name)
        if key in self.exact:
            return self.exact[key], "exact"
        if key in self.closure:
            return self.closure[key], "subclass"
        for broader in self.view.broader(key)[1:]:
            if broader in self.exact:
                return self.exact[broader], "subclass"
        for product_key, node_id in self.keys:
            if len(product_key) >= 2 and len(key) >= 2 and (product_key in key or key in product_key):
                return node_id, "contains"
        return None


def _declaration(view: CorpusView, d: _Declared, matched_by: MatchedBy) -> Declaration:
    leader = view.firms.get(d.gap_list.leader_firm_id)
    return Declaration(
        gap_list_id=d.gap_list.id,
        gap_list_version=d.gap_list.version,
        leader_firm_id=d.gap_list.leader_firm_id,
        leader_name=leader.name if leader else d.gap_list.leader_firm_id,
        item=d.item.name,
        for_product=d.item.for_product,
        description=d.item.description,
        spec=d.item.spec,
        import_share=_finite(d.item.import_share),
        risk_level=d.item.risk_level,
        annual_demand_cny=_finite(d.item.annual_demand_cny),
        current_source_country=d.item.current_source_country,
        matched_by=matched_by,
    )


def _summary(declarations: list[Declaration]) -> DeclaredSummary:
    shares = [d.import_share for d in declarations if d.import_share is not None]
    risks = [d.risk_level for d in declarations if d.risk_level is not None]
    return DeclaredSummary(
        items=len(declarations),
        leaders=len({d.leader_firm_id for d in declarations}),
        max_import_share=max(shares) if shares else None,
        max_risk_level=max(risks) if risks else None,
        annual_demand_cny=float(sum(d.annual_demand_cny or 0.0 for d in declarations)),
        declarations=declarations,
    )


# ------------------------------------------------------------------------------- assessment
def _fmt_cny(value: float) -> str:
    if value >= 1e8:
        return f"{value / 1e8:.2f} 亿元"
    if value >= 1e4:
        return f"{value / 1e4:.0f} 万元"
    return f"{value:.0f} 元"


def _names(items: Sequence[str], limit: int = 6) -> str:
    shown = "、".join(items[:limit])
    return shown + (f" 等 {len(items)} 项" if len(items) > limit else "")


def assess(
    session: Session, chain: Chain, region: Region, principal: Principal, *, view: CorpusView | None = None
) -> WeakLinkAssessment:
    view = view or corpus_view(session)
    nodes = nodes_of(session, chain)
    edges = edges_of(session, chain)
    upstream_of: dict[str, list[str]] = {}
    supplied_by: dict[str, list[str]] = {}
    for e in edges:
        upstream_of.setdefault(e.source, []).append(e.target)
        supplied_by.setdefault(e.target, []).append(e.source)

    index = _NodeIndex(view, nodes)
    by_node: dict[str, list[Declaration]] = {}
    unmapped: list[Declaration] = []
    declared_lists = declared_items(session, principal, region)
    for d in declared_lists:
        found = index.find(d.item.name)
        if found is None:
            unmapped.append(_declaration(view, d, "exact"))
        else:
            by_node.setdefault(found[0], []).append(_declaration(view, d, found[1]))
    summaries = {node.key: _summary(by_node.get(node.key, [])) for node in nodes}
    max_demand = max((s.annual_demand_cny for s in summaries.values()), default=0.0)

    chain_places: dict[str, set[str]] = {}
    links: list[WeakLink] = []
    for node in nodes:
        supply: list[ProductSupply] = []
        union = _Split()
        gaps: list[float] = []
        nowhere: list[str] = []
        for product in node.products:
            split = _split(view, view.makers([product]), region)
            union.local |= split.local
            union.elsewhere |= split.elsewhere
            union.abroad |= split.abroad
            gaps.append(1.0 / (1 + len(split.local)))
            if split.total == 0:
                nowhere.append(product)
            local_firms = sorted((view.firms[i] for i in split.local), key=lambda f: f.name)[:5]
            supply.append(
                ProductSupply(
                    product=product,
                    local_makers=len(split.local),
                    elsewhere_makers=len(split.elsewhere),
                    abroad_makers=len(split.abroad),
                    flag=supply_flag(len(split.local)),
                    local_firms=[firm_ref(f) for f in local_firms],
                )
            )
        places: Counter[str] = Counter()
        local_place = region.province
        for firm_id in union.local | union.elsewhere | union.abroad:
            firm = view.firms[firm_id]
            places[firm.place] += 1
            if node.segment is not Segment.DOWNSTREAM:
                chain_places.setdefault(firm.place, set()).add(firm_id)
        concentration = hhi(places.values())
        n_makers = len(union.local) + len(union.elsewhere) + len(union.abroad)
        dependence = 1.0 if concentration is None else concentration * (1 - len(union.local) / n_makers)
        top_place, top_n = places.most_common(1)[0] if places else ("", 0)
        zero = [s.product for s in supply if s.flag == "zero_source"]
        single = [s.product for s in supply if s.flag == "single_source"]
        declared = summaries[node.key]
        market = node.segment is Segment.DOWNSTREAM
        parts: list[ScorePart] = []
        score: float | None = None
        if not market:
            values = {
                "local_gap": sum(gaps) / len(gaps) if gaps else 1.0,
                "concentration": dependence,
                "import_share": declared.max_import_share or 0.0,
                "risk": (declared.max_risk_level - 1) / 4 if declared.max_risk_level else 0.0,
                "demand": (
                    math.log1p(declared.annual_demand_cny) / math.log1p(max_demand)
                    if max_demand > 0 and declared.annual_demand_cny > 0
                    else 0.0
                ),
            }
            details = {
                "local_gap": f"{len(node.products)} 种产品，本地零供给 {len(zero)} 种、单一来源 {len(single)} 种；"
                f"本地生产企业 {len(union.local)} 家",
                "concentration": (
                    "全国及境外均无生产企业"
                    if concentration is None
                    else f"HHI {concentration:.2f}，外地占 {1 - len(union.local) / n_makers:.0%}，"
                    f"最多在 {top_place}（{top_n} 家）"
                ),
                "import_share": (
                    f"申报进口占比最高 {declared.max_import_share:.0%}"
                    if declared.max_import_share is not None
                    else "未申报"
                ),
                "risk": f"申报风险最高 {declared.max_risk_level} 级" if declared.max_risk_level else "未申报",
                "demand": (
                    f"申报年需求合计 {_fmt_cny(declared.annual_demand_cny)}"
                    if declared.annual_demand_cny > 0
                    else "未申报"
                ),
            }
            for name, weight in WEIGHTS.items():
                value = round(min(max(values[name], 0.0), 1.0), 4)
                parts.append(
                    ScorePart(
                        name=name,
                        label=LABELS[name],
                        weight=weight,
                        value=value,
                        points=round(weight * value * 100, 2),
                        detail=details[name],
                    )
                )
            score = round(sum(p.weight * p.value for p in parts) * 100, 1)
        flags: list[str] = []
        if nowhere and not market:
            flags.append(f"全国及境外均无企业生产：{_names(nowhere)}")
        if zero and not market:
            flags.append(f"本地零供给：{_names(zero)}")
        if single and not market:
            flags.append(f"本地单一来源：{_names(single)}")
        if concentration is not None and dependence >= HHI_CONCENTRATED and not market:
            flags.append(f"外地供给高度集中：HHI {concentration:.2f}，{top_n} 家在 {top_place}")
        if declared.items:
            risk = f"，最高风险 {declared.max_risk_level} 级" if declared.max_risk_level else ""
            share = (
                f"，进口占比最高 {declared.max_import_share:.0%}"
                if declared.max_import_share is not None
                else ""
            )
            flags.append(f"{declared.leaders} 家链主申报 {declared.items} 项{share}{risk}")
        links.append(
            WeakLink(
                node_id=node.key,
                name=node.name,
                segment=node.segment,
                role="market" if market else "supply",
                products=list(node.products),
                score=score,
                rank=None,
                level=level_of(score) if score is not None else None,
                parts=parts,
                local_makers=len(union.local),
                elsewhere_makers=len(union.elsewhere),
                abroad_makers=len(union.abroad),
                places=[
                    PlaceCount(place=p, makers=n, local=p == local_place) for p, n in places.most_common()
                ],
                hhi=round(concentration, 4) if concentration is not None else None,
                zero_source_products=zero,
                single_source_products=single,
                supply=supply,
                declared=declared,
                upstream_of=upstream_of.get(node.key, []),
                supplied_by=supplied_by.get(node.key, []),
                flags=flags,
            )
        )
    scored = sorted((lk for lk in links if lk.score is not None), key=lambda lk: (-(lk.score or 0), lk.name))
    for rank, link in enumerate(scored, start=1):
        link.rank = rank
    markets = [lk for lk in links if lk.score is None]
    return WeakLinkAssessment(
        chain_id=chain.id,
        chain_name=chain.name,
        chain_version=chain.version,
        region=region_in(region),
        assessed_at=utcnow(),
        method=METHOD,
        weights=dict(WEIGHTS),
        links=scored + markets,
        places=[
            PlaceCount(place=p, makers=len(ids), local=p == region.province)
            for p, ids in sorted(chain_places.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ],
        unmapped_declarations=unmapped,
        gap_lists=lists_of(declared_lists),
    )


# ------------------------------------------------------------------------------- gap candidates
def chain_leaders(
    view: CorpusView,
    nodes: Sequence[ChainNode],
    region: Region,
    declared: Sequence[_Declared],
    *,
    limit: int = 20,
) -> list[FirmInfo]:
    """The region's chain leaders for this chain: firms tagged 链主企业 that make one of its products,
    and firms whose gap lists of the region the caller may read. Without either, the largest local
    makers of the midstream products."""
    chain_keys: set[str] = set()
    mid_keys: set[str] = set()
    for node in nodes:
        if node.segment is Segment.DOWNSTREAM:
            continue
        for product in node.products:
            keys = set(view.narrower(normalize_key(product)))
            chain_keys |= keys
            if node.segment is Segment.MIDSTREAM:
                mid_keys |= keys
    chosen: dict[str, FirmInfo] = {}
    for d in declared:
        firm = view.firms.get(d.gap_list.leader_firm_id)
        if firm is not None:
            chosen.setdefault(firm.id, firm)
    for firm in view.firms.values():
        if LEADER_TAG in firm.tags and firm.inside(region):
            makes = {normalize_key(name) for name, _ in view.products_of.get(firm.id, [])}
            if makes & chain_keys:
                chosen.setdefault(firm.id, firm)
    if not chosen:
        makers: dict[str, float] = {}
        for key in mid_keys:
            for firm_id, share in view.makers_by_key.get(key, {}).items():
                firm = view.firms.get(firm_id)
                if firm is not None and firm.inside(region):
                    makers[firm_id] = max(makers.get(firm_id, 0.0), share or 0.0)
        ranked = sorted(
            makers, key=lambda i: (-(view.firms[i].revenue_cny or 0.0), -makers[i], view.firms[i].name)
        )
        chosen = {i: view.firms[i] for i in ranked[:limit]}
    ordered = sorted(chosen.values(), key=lambda f: (-(f.revenue_cny or 0.0), f.name))
    return ordered[:limit]


def gap_candidates(
    session: Session,
    chain: Chain,
    region: Region,
    principal: Principal,
    *,
    max_local_makers: int = 1,
    per_leader: int = 30,
    view: CorpusView | None = None,
) -> GapCandidates:
    """For each leader: upstream needs of its products (and of their broader kinds) that no firm in
    the region — or at most ``max_local_makers`` firms, the leader never counted — makes."""
    view = view or corpus_view(session)
    nodes = nodes_of(session, chain)
    index = _NodeIndex(view, nodes)
    declared = declared_items(session, principal, region)
    declared_by_leader: dict[str, set[str]] = {}
    for d in declared:
        keys = declared_by_leader.setdefault(d.gap_list.leader_firm_id, set())
        key = normalize_key(d.item.name)
        keys.update(view.narrower(key))
    out: list[LeaderGapCandidates] = []
    for leader in chain_leaders(view, nodes, region, declared):
        products = sorted(
            view.products_of.get(leader.id, []), key=lambda ps: -(ps[1] if ps[1] is not None else -1.0)
        )[:5]
        needs: dict[str, str] = {}  # need key → the leader product needing it
        for name, _ in products:
            for broader in view.broader(normalize_key(name)):
                for material in view.upstream.get(broader, ()):
                    needs.setdefault(material, name)
        candidates: list[GapCandidate] = []
        own_declared = declared_by_leader.get(leader.id, set())
        for need, for_product in needs.items():
            need_name = view.name(need)
            split = _split(view, view.makers([need_name]), region, exclude=leader.id)
            if len(split.local) > max_local_makers:
                continue
            found = index.find(need_name)
            where = f"本地仅 {len(split.local)} 家生产" if split.local else "本地无企业生产"
            candidates.append(
                GapCandidate(
                    need=need_name,
                    for_product=for_product,
                    node_id=found[0] if found else None,
                    local_makers=len(split.local),
                    elsewhere_makers=len(split.elsewhere),
                    abroad_makers=len(split.abroad),
                    declared=bool(own_declared & set(view.narrower(need))),
                    reason=f"{leader.name} 的 {for_product} 需要 {need_name}；{where}，"
                    f"省外 {len(split.elsewhere)} 家、境外 {len(split.abroad)} 家",
                )
            )
        candidates.sort(key=lambda c: (c.local_makers, -(c.elsewhere_makers + c.abroad_makers), c.need))
        out.append(
            LeaderGapCandidates(
                leader=firm_ref(leader),
                products=[name for name, _ in products],
                candidates=candidates[:per_leader],
            )
        )
    return GapCandidates(
        chain_id=chain.id,
        region=region_in(region),
        max_local_makers=max_local_makers,
        leaders=out,
        gap_lists=lists_of(declared),
    )
