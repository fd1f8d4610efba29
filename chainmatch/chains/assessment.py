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
from collections.abc import Sequence

from sqlmodel import Session

from chainmatch.chains.corpus import CorpusView, corpus_view
from chainmatch.chains.declared import NodeIndex, declaration_of, declared_items, lists_of, summary_of
from chainmatch.chains.schemas import (
    Declaration,
    Level,
    PlaceCount,
    ProductSupply,
    ScorePart,
    WeakLink,
    WeakLinkAssessment,
)
from chainmatch.chains.store import edges_of, nodes_of
from chainmatch.chains.supply import Split, firm_ref, hhi, region_in, split_makers, supply_flag
from chainmatch.keys import Principal
from models.chain import Chain, Segment
from models.common import utcnow
from recommender.corpus import Region

__all__ = ["assess", "level_of"]

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
METHOD = (
    "薄弱度 = 100 × (0.35·本地供给缺口 + 0.15·产地集中度 + 0.20·进口依赖 + 0.15·断供风险 + 0.15·需求规模)，越高越薄弱。"
    "本地供给缺口 = 各产品 1/(1+本地生产企业数) 的平均；产地集中度 = 生产企业按省份（境外按国家）分布的 HHI × 外地企业占比"
    "（全国及境外均无生产企业时记 1）；后三项取本区域链主清单申报值：进口占比最大值、(最高风险等级−1)/4、"
    "年需求额取对数后按全链最大值归一，未申报记 0。≥60 为高，≥40 为中，其余为低；下游应用市场不评分。"
)


def level_of(score: float) -> Level:
    return "high" if score >= HIGH else "medium" if score >= MEDIUM else "low"


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

    index = NodeIndex(view, nodes)
    by_node: dict[str, list[Declaration]] = {}
    unmapped: list[Declaration] = []
    declared_lists = declared_items(session, principal, region)
    for d in declared_lists:
        found = index.find(d.item.name)
        if found is None:
            unmapped.append(declaration_of(view, d, "exact"))
        else:
            by_node.setdefault(found[0], []).append(declaration_of(view, d, found[1]))
    summaries = {node.key: summary_of(by_node.get(node.key, [])) for node in nodes}
    max_demand = max((s.annual_demand_cny for s in summaries.values()), default=0.0)

    chain_places: dict[str, set[str]] = {}
    links: list[WeakLink] = []
    for node in nodes:
        supply: list[ProductSupply] = []
        union = Split()
        gaps: list[float] = []
        nowhere: list[str] = []
        for product in node.products:
            split = split_makers(view, view.makers([product]), region)
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
