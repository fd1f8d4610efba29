"""The investment map's request and response models (全球招商地图): query, candidates, counts by place."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from chainmatch.chains.schemas import GapListRef, ProductCandidates, WeakLink
from chainmatch.places import PlaceClass
from models.chain import Segment
from models.gap import RegionIn
from models.matching import MatchResult, MinMatchScore
from models.outreach import Stage

ListKind = Literal["target", "local"]
ScaleCode = Literal["micro", "small", "medium", "large", "unknown"]


class MapQuery(BaseModel):
    """What to draw: one weak link (``item``: a node id, or a product of a weak link) or the ``top``
    weakest, and filters on the candidates."""

    model_config = ConfigDict(extra="forbid")

    item: str | None = Field(None, max_length=200, description="weak link (node id) or one of its products")
    segment: Segment | None = Field(None, description="only weak links of this segment")
    scales: list[ScaleCode] = Field(default_factory=list, max_length=5)
    tags: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=20)
    places: list[PlaceClass] = Field(default_factory=list, max_length=6)
    min_match_score: MinMatchScore = None
    top: int = Field(6, ge=1, le=50, description="weak links (weakest first) when no item is given")
    k: int = Field(8, ge=1, le=30, description="candidates per list per product")
    products_per_link: int = Field(2, ge=1, le=10)


class Ranking(BaseModel):
    """One place where the firm stands in a list."""

    node_id: str
    link: str
    product: str
    declared: bool
    kind: ListKind = Field(description="target (招商目标) | local (本地配套)")
    rank: int
    score: float
    reasons: list[str]


def rankings_of(link: WeakLink, pc: ProductCandidates) -> Iterator[tuple[MatchResult, Ranking]]:
    """Every match of one product's two lists (investment targets, then local suppliers) with the
    place it holds there."""
    lists: tuple[tuple[ListKind, list[MatchResult]], ...] = (
        ("target", pc.investment_targets),
        ("local", pc.local_suppliers),
    )
    for kind, results in lists:
        for rank, m in enumerate(results, start=1):
            ranking = Ranking(
                node_id=link.node_id,
                link=link.name,
                product=pc.product,
                declared=pc.declared,
                kind=kind,
                rank=rank,
                score=m.score,
                reasons=m.reasons,
            )
            yield m, ranking


class Tracking(BaseModel):
    record_id: int
    node_id: str
    product: str
    stage: Stage
    stage_label: str


class MapCandidate(BaseModel):
    firm_id: str
    name: str
    province: str | None
    city: str | None
    country: str
    place: str = Field(description="as one reads it: 江苏省苏州市; the country abroad")
    place_class: PlaceClass
    place_label: str
    scale: str
    tags: list[str]
    best_score: float
    rankings: list[Ranking] = Field(description="every list it appears in, best first")
    outreach: list[Tracking] = Field(description="the caller's outreach records of this firm on this chain")


class CityCount(BaseModel):
    city: str
    firms: int
    score: float
    lon: float | None
    lat: float | None


class ProvinceCount(BaseModel):
    province: str
    firms: int
    score: float
    local: bool = Field(description="the bureau's own province")
    place_class: PlaceClass
    place_label: str
    cities: list[CityCount]


class CountryCount(BaseModel):
    country: str
    firms: int
    score: float
    on_map: bool = Field(description="the world map knows this country")


class MapLink(BaseModel):
    node_id: str
    name: str
    segment: Segment
    score: float | None
    rank: int | None


class InvestmentMap(BaseModel):
    chain_id: str
    chain_name: str
    chain_version: int
    region: RegionIn
    query: MapQuery
    links: list[MapLink] = Field(description="the weak links drawn")
    provinces: list[ProvinceCount] = Field(description="China, by province: most candidates first")
    countries: list[CountryCount] = Field(description="abroad, by country")
    unplaced: int = Field(description="candidates in China whose province the registry does not know")
    candidates: list[MapCandidate] = Field(description="best first; narrowed by ?province= / ?country=")
    gap_lists: list[GapListRef] = Field(
        default_factory=list, description="leaders' gap lists whose items chose the products queried; audited"
    )
