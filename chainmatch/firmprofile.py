"""企业画像 — one firm as a bureau (or the firm itself) needs to see it: what it makes (products with
revenue shares, and the product graph around them), tags and scale, where it stands as a candidate
for the caller's region's weak links (rank and reasons, as the engine ranks it), the caller's
outreach history with it, and — for a leader's own firm, or a list the caller may read — its gap
lists.

Scope: admin sees everything (standing at each chain's own region unless a region is given); a
bureau sees the weak links, outreach records and gap lists of its own region only; a firm's own key
(a leader) sees its own firm only — products, graph and its gap lists, no regional analysis. Any
other firm is 404 to it, as elsewhere in the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from chainmatch.chains.assessment import assess
from chainmatch.chains.corpus import CorpusView, corpus_view
from chainmatch.chains.mapschemas import rankings_of
from chainmatch.chains.outreach import visible_records
from chainmatch.chains.report import link_candidates
from chainmatch.chains.schemas import GapListRef, gap_lists_read
from chainmatch.chains.scope import region_label
from chainmatch.chains.store import list_chains, live_chain
from chainmatch.gaplists import items_of, visible_lists
from chainmatch.indexing import IndexService
from chainmatch.keys import Principal
from chainmatch.labels import place
from chainmatch.places import PlaceClass, place_class, place_label
from models.apikey import Role
from models.firm import FirmAdminPublic
from models.gap import GapList
from models.outreach import STAGE_LABELS, OutreachRecord, Stage
from recommender.corpus import Region
from recommender.text import normalize_key

NEIGHBOURHOOD = 8  # names per relation kind per product
PROFILE_PRODUCTS = 8  # products whose graph neighbourhood is shown


class ProductNeighbourhood(BaseModel):
    product: str
    share: float | None
    upstream: list[str] = Field(description="materials and parts it is made from")
    used_in: list[str] = Field(description="products that use it")
    broader: list[str] = Field(description="kinds it belongs to")
    narrower: list[str] = Field(description="narrower kinds")
    makers: int = Field(description="firms in the registry making it (or a narrower kind)")


class Standing(BaseModel):
    """Where the firm is ranked for a weak link of the caller's region."""

    chain_id: str
    chain_name: str
    region: str
    node_id: str
    link: str
    link_score: float | None
    product: str
    declared: bool
    kind: str = Field(description="target (招商目标) | local (本地配套)")
    rank: int
    score: float
    reasons: list[str]


class OutreachEntry(BaseModel):
    record_id: int
    chain_id: str
    node_id: str
    product: str
    region: str
    stage: Stage
    stage_label: str
    rank: int | None
    updated_at: datetime


class GapListSummary(BaseModel):
    id: str
    title: str
    version: int
    region: str
    items: list[str]


class FirmProfile(BaseModel):
    firm: FirmAdminPublic
    place: str
    place_class: PlaceClass | None = Field(description="seen from the caller's region; null without one")
    place_label: str | None
    region: str | None = Field(description="the region the standing and outreach are for")
    products: list[ProductNeighbourhood]
    standing: list[Standing] = Field(description="weak links it is ranked for, best rank first")
    outreach: list[OutreachEntry]
    gap_lists: list[GapListSummary] = Field(description="its own gap lists the caller may read")
    lists_read: list[GapListRef] = Field(
        default_factory=list, description="leaders' gap lists whose items this profile shows; audited"
    )


def neighbourhood(view: CorpusView, name: str, share: float | None) -> ProductNeighbourhood:
    key = normalize_key(name)
    broader = view.broader(key, 1)[1:]

    def names(keys: Sequence[str]) -> list[str]:
        return [view.name(k) for k in list(dict.fromkeys(keys))[:NEIGHBOURHOOD]]

    return ProductNeighbourhood(
        product=name,
        share=share,
        upstream=names([u for k in [key, *broader] for u in view.upstream.get(k, ())]),
        used_in=names(view.used_by.get(key, [])),
        broader=names(broader),
        narrower=names(view.children.get(key, [])),
        makers=len(view.makers([name])),
    )


def _regions(session: Session, principal: Principal, region: Region | None) -> list[tuple[str, Region]]:
    """(chain id, region) pairs to rank the firm in: a bureau's chains of its region; admin each
    chain at ``region`` or its own default region."""
    out = []
    for summary in list_chains(session):
        if principal.role is Role.BUREAU:
            assert region is not None
            if summary.region_province != region.province:
                continue
            out.append((summary.id, region))
        elif principal.role is Role.ADMIN:
            if region is not None:
                if summary.region_province == region.province:
                    out.append((summary.id, region))
            elif summary.region_province:
                out.append((summary.id, Region(summary.region_province, summary.region_city)))
    return out


def build_profile(
    db: Engine,
    index: IndexService,
    principal: Principal,
    firm: FirmAdminPublic,
    region: Region | None,
    *,
    k: int = 10,
    products_per_link: int = 3,
    focus: tuple[str, str] | None = None,
) -> FirmProfile:
    """``focus`` (chain id, node id): a weak link to rank the firm for whether or not its products
    name it (the link a bureau came from, e.g. on the map)."""
    regional = principal.role in (Role.ADMIN, Role.BUREAU)
    standing: list[Standing] = []
    lists_read: dict[str, GapListRef] = {}
    with Session(db) as session:
        view = corpus_view(session)
        own = [(p.name, p.share) for p in firm.products]
        keys = {normalize_key(n) for n, _ in own}
        related = set(keys)
        for key in keys:
            related.update(view.broader(key))
        outreach_rows: list[OutreachRecord] = []
        if regional:
            query = visible_records(principal).where(OutreachRecord.firm_id == firm.id)
            if region is not None:
                query = query.where(OutreachRecord.region_province == region.province)
                if region.city:
                    query = query.where(OutreachRecord.region_city == region.city)
            outreach_rows = list(session.exec(query.order_by(col(OutreachRecord.id))))
        tracked_nodes = {(r.chain_id, r.node_key) for r in outreach_rows}
        plans = []
        for chain_id, where in _regions(session, principal, region) if regional else []:
            chain = live_chain(session, chain_id)
            assessment = assess(session, chain, where, principal, view=view)
            for link in assessment.links:
                if link.score is None:
                    continue
                node_keys: set[str] = set()
                for product in link.products:
                    node_keys.update(view.narrower(normalize_key(product)))
                for d in link.declared.declarations:
                    node_keys.update(view.narrower(normalize_key(d.item)))
                if node_keys & related or (chain.id, link.node_id) in tracked_nodes | {focus}:
                    plans.append((chain.id, chain.name, where, link, assessment))
        gap_rows = []
        if regional or principal.role is Role.LEADER:
            for gl in session.exec(
                visible_lists(principal)
                .where(GapList.leader_firm_id == firm.id)
                .order_by(col(GapList.created_at))
            ):
                gap_rows.append((gl, [item.name for item in items_of(session, gl)]))
    for chain_id, chain_name, where, link, assessment in plans:
        carried = False
        for pc in link_candidates(index, where, link, assessment, k=k, products=products_per_link):
            for m, ranking in rankings_of(link, pc):
                if m.firm_id != firm.id:
                    continue
                carried |= pc.declared
                standing.append(
                    Standing(
                        chain_id=chain_id,
                        chain_name=chain_name,
                        region=region_label(where),
                        link_score=link.score,
                        **ranking.model_dump(),
                    )
                )
        if carried:  # a declared item's name is on the page: the lists it came from are read
            for ref in gap_lists_read(assessment):
                lists_read.setdefault(ref.id, ref)
    standing.sort(key=lambda s: (s.rank, -s.score, s.chain_id, s.node_id))
    gap_lists = [
        GapListSummary(
            id=gl.id,
            title=gl.title,
            version=gl.version,
            region=place(gl.region_province, gl.region_city),
            items=items,
        )
        for gl, items in gap_rows
    ]
    for gl, _ in gap_rows:
        lists_read.setdefault(gl.id, GapListRef(id=gl.id, version=gl.version))
    cls = place_class(region, firm.province, firm.city, firm.country) if region is not None else None
    return FirmProfile(
        firm=firm,
        place=place(firm.province, firm.city, firm.country) or "所在地未知",
        place_class=cls,
        place_label=place_label(cls, region) if cls is not None and region is not None else None,
        region=region_label(region) if region is not None else None,
        products=[neighbourhood(view, n, s) for n, s in own[:PROFILE_PRODUCTS]],
        standing=standing,
        outreach=[
            OutreachEntry(
                record_id=r.id or 0,
                chain_id=r.chain_id,
                node_id=r.node_key,
                product=r.product,
                region=place(r.region_province, r.region_city),
                stage=r.stage,
                stage_label=STAGE_LABELS[r.stage],
                rank=r.rank,
                updated_at=r.updated_at,
            )
            for r in outreach_rows
        ],
        gap_lists=gap_lists,
        lists_read=sorted(lists_read.values(), key=lambda ref: ref.id),
    )
