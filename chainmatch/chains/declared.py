"""What a region's chain leaders declared in the gap lists the caller may read, and which chain node
each declared item belongs to."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from chainmatch.chains.corpus import CorpusView
from chainmatch.chains.schemas import Declaration, DeclaredSummary, GapListRef, MatchedBy
from chainmatch.gaplists import in_city, visible_lists
from chainmatch.keys import Principal
from models.chain import ChainNode, Segment
from models.gap import GapItem, GapList
from recommender.corpus import Region
from recommender.text import normalize_key


# ------------------------------------------------------------------------------- declarations
@dataclass(frozen=True)
class Declared:
    gap_list: GapList
    item: GapItem


def _finite(value: float | None) -> float | None:
    """A stored number as it may be used: a non-finite one (written before validation refused
    them) counts as not declared, so no page or report ever meets NaN or inf."""
    return value if value is None or math.isfinite(value) else None


def lists_of(declared: Sequence[Declared]) -> list[GapListRef]:
    lists = {d.gap_list.id: d.gap_list for d in declared}
    return [GapListRef(id=gl.id, version=gl.version) for _, gl in sorted(lists.items())]


def declared_items(session: Session, principal: Principal, region: Region) -> list[Declared]:
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
    return [Declared(lists[item.gap_list_id], item) for item in items]


class NodeIndex:
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


def declaration_of(view: CorpusView, d: Declared, matched_by: MatchedBy) -> Declaration:
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


def summary_of(declarations: list[Declaration]) -> DeclaredSummary:
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
