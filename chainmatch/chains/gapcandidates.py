"""Gap candidates (缺口候选) for a region's chain leaders: upstream needs that the region hardly makes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from chainmatch.chains.corpus import CorpusView, FirmInfo, corpus_view
from chainmatch.chains.declared import Declared, NodeIndex, declared_items, lists_of
from chainmatch.chains.schemas import GapCandidate, GapCandidates, LeaderGapCandidates
from chainmatch.chains.store import nodes_of
from chainmatch.chains.supply import firm_ref, region_in, split_makers
from chainmatch.keys import Principal
from models.chain import Chain, ChainNode, Segment
from recommender.corpus import Region
from recommender.text import normalize_key

LEADER_TAG = "链主企业"


def chain_leaders(
    view: CorpusView,
    nodes: Sequence[ChainNode],
    region: Region,
    declared: Sequence[Declared],
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
    index = NodeIndex(view, nodes)
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
            split = split_makers(view, view.makers([need_name]), region, exclude=leader.id)
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
