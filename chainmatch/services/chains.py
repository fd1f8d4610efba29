"""Chains for bureaus: definitions, weak-link assessment, gap candidates and the investment map.

Chains are public planning data: every bureau and admin may read every chain; writing is for
admin and for bureaus on chains of their own region. Everything that reads a chain *in a region*
goes through one step — load the live chain, resolve the region against the caller's scope
(the chain's region is admin's default), audit — and every such answer is audited per gap list
whose items it carries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlmodel import Session, col, select

from chainmatch.chains import assessment, builder, gapcandidates, store
from chainmatch.chains.corpus import corpus_view
from chainmatch.chains.investmap import InvestmentMap, MapQuery, build_map
from chainmatch.chains.schemas import GapCandidates, WeakLinkAssessment, gap_lists_read
from chainmatch.chains.scope import region_label
from chainmatch.services.context import Caller
from chainmatch.services.regions import resolve_region
from models import mapping
from models.apikey import Role
from models.chain import (
    Chain,
    ChainCreate,
    ChainFromGraph,
    ChainNode,
    ChainNodePublic,
    ChainPublic,
    ChainSource,
    ChainSummary,
    ChainUpdate,
)
from recommender.corpus import Region

CHAIN_ROLES = (Role.BUREAU, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class ChainInRegion:
    """A live chain and the region a request about it is for (checked against the caller)."""

    chain: ChainPublic
    region: Region

    @property
    def label(self) -> str:
        return region_label(self.region)


@dataclass(frozen=True, slots=True)
class ChainOverview:
    """What the dashboard's chain page shows: the chain in a region, its weak links and the
    leaders' gap candidates (drawn on one view of the corpus)."""

    where: ChainInRegion
    assessment: WeakLinkAssessment
    gaps: GapCandidates


# ------------------------------------------------------------------------------- the one step
def _locate(
    session: Session, caller: Caller, chain_id: str, province: str | None, city: str | None
) -> tuple[Chain, Region]:
    """The live chain (404) and the region asked for, checked (403/422); the chain's is admin's default."""
    caller.require(*CHAIN_ROLES)
    chain = store.live_chain(session, chain_id)
    return chain, resolve_region(caller.principal, province, city, default=store.default_region(chain))


def chain_in_region(
    caller: Caller, chain_id: str, province: str | None, city: str | None, *, action: str | None = None
) -> ChainInRegion:
    """Load the live chain, resolve the region, check it; with ``action`` ("report", …) the read
    of the chain is audited (in a short write transaction of its own, after the read)."""
    with caller.reading() as session:
        chain, region = _locate(session, caller, chain_id, province, city)
        public = store.to_public(session, chain)
    if action:
        caller.record(action, "chain", chain_id)
    return ChainInRegion(public, region)


# ------------------------------------------------------------------------------- definitions
def list_chains(caller: Caller) -> list[ChainSummary]:
    """Every chain (public planning data), with node counts per segment."""
    caller.require(*CHAIN_ROLES)
    with caller.reading() as session:
        return store.list_chains(session)


def all_nodes(caller: Caller) -> list[tuple[ChainSummary, ChainNodePublic]]:
    """Every node of every chain, with its chain: by chain id, then in the chain's order."""
    caller.require(*CHAIN_ROLES)
    with caller.reading() as session:
        summaries = {c.id: c for c in store.list_chains(session)}
        if not summaries:
            return []
        nodes = session.exec(
            select(ChainNode)
            .where(col(ChainNode.chain_id).in_(list(summaries)))
            .order_by(col(ChainNode.chain_id), col(ChainNode.position))
        ).all()
        return [(summaries[n.chain_id], mapping.to_public(ChainNodePublic, n, id=n.key)) for n in nodes]


def read_chain(caller: Caller, chain_id: str) -> ChainPublic:
    caller.require(*CHAIN_ROLES)
    with caller.reading() as session:
        return store.to_public(session, store.live_chain(session, chain_id))


def create_chain(caller: Caller, body: ChainCreate, *, source: ChainSource = ChainSource.API) -> ChainPublic:
    """Define a chain; a bureau defines chains of its own region (default: its region). 409 when
    the id is taken."""
    caller.require(*CHAIN_ROLES)
    with caller.writing() as session:
        chain = store.create_chain(session, body, principal=caller.principal, source=source)
        return store.to_public(session, chain)


def chain_from_graph(caller: Caller, body: ChainFromGraph) -> ChainCreate:
    """The definition built by walking the product graph from ``body.products`` (not stored)."""
    caller.require(*CHAIN_ROLES)
    with caller.reading() as session:
        return builder.build_from_graph(corpus_view(session), body)


def create_from_graph(caller: Caller, body: ChainFromGraph) -> ChainPublic:
    """Build the chain from the product graph and store it."""
    caller.require(*CHAIN_ROLES)
    with caller.writing() as session:
        definition = builder.build_from_graph(corpus_view(session), body)
        chain = store.create_chain(session, definition, principal=caller.principal, source=ChainSource.GRAPH)
        return store.to_public(session, chain)


def replace_chain(caller: Caller, chain_id: str, body: ChainUpdate) -> ChainPublic:
    """Replace the definition; the version goes up."""
    caller.require(*CHAIN_ROLES)
    with caller.writing() as session:
        chain = store.live_chain(session, chain_id)
        store.replace_chain(session, chain, body, principal=caller.principal)
        return store.to_public(session, chain)


def delete_chain(caller: Caller, chain_id: str) -> None:
    caller.require(*CHAIN_ROLES)
    with caller.writing() as session:
        store.delete_chain(session, store.live_chain(session, chain_id), principal=caller.principal)


def import_chain(caller: Caller, body: ChainCreate, *, source: ChainSource = ChainSource.FILE) -> str:
    """Create, or replace when the content differs (admin): 'created', 'updated' or 'unchanged'."""
    caller.require(Role.ADMIN)
    with caller.writing() as session:
        return store.import_chain(session, body, source=source)


# ------------------------------------------------------------------------------- assessment
@contextmanager
def _assessing(
    caller: Caller, chain_id: str, province: str | None, city: str | None
) -> Iterator[tuple[Session, Chain, Region]]:
    with caller.reading() as session:
        chain, region = _locate(session, caller, chain_id, province, city)
        yield session, chain, region


def weak_links(caller: Caller, chain_id: str, province: str | None, city: str | None) -> WeakLinkAssessment:
    """Every node of the chain in the region, weakest first (method in the answer)."""
    with _assessing(caller, chain_id, province, city) as (session, chain, region):
        result = assessment.assess(session, chain, region, caller.principal)
    caller.record("weak_links", "chain", chain_id)
    caller.record_lists("weak_links", gap_lists_read(result))
    return result


def gap_candidates(
    caller: Caller, chain_id: str, province: str | None, city: str | None, *, max_local: int = 1
) -> GapCandidates:
    """For each of the region's chain leaders: upstream needs of its products that at most
    ``max_local`` local firms make, and whether the leader declared them."""
    with _assessing(caller, chain_id, province, city) as (session, chain, region):
        result = gapcandidates.gap_candidates(
            session, chain, region, caller.principal, max_local_makers=max_local
        )
    caller.record("gap_candidates", "chain", chain_id)
    caller.record_lists("gap_candidates", gap_lists_read(result))
    return result


def chain_overview(caller: Caller, chain_id: str, province: str | None, city: str | None) -> ChainOverview:
    """The chain in the region with its weak links and gap candidates; audited as ``weak_links``."""
    with _assessing(caller, chain_id, province, city) as (session, chain, region):
        view = corpus_view(session)
        assessed = assessment.assess(session, chain, region, caller.principal, view=view)
        gaps = gapcandidates.gap_candidates(session, chain, region, caller.principal, view=view)
        public = store.to_public(session, chain)
    caller.record("weak_links", "chain", chain_id)
    caller.record_lists("weak_links", gap_lists_read(assessed, gaps))
    return ChainOverview(ChainInRegion(public, region), assessed, gaps)


def investment_map(
    caller: Caller,
    chain_id: str,
    province: str | None,
    city: str | None,
    query: MapQuery,
    *,
    candidates_in: str | None = None,
    candidates_abroad_in: str | None = None,
) -> InvestmentMap:
    """Where the candidate makers of the chain's weak links are (全球招商地图); ``candidates_in`` /
    ``candidates_abroad_in`` (a province / a country) narrow the candidate list, not the counts."""
    with caller.reading() as session:
        _chain, region = _locate(session, caller, chain_id, province, city)
    result = build_map(
        caller.db,
        caller.index,
        chain_id,
        region,
        caller.principal,
        query,
        province=candidates_in,
        country=candidates_abroad_in,
    )
    caller.record("map", "chain", chain_id)
    caller.record_lists("map", result.gap_lists)
    return result
