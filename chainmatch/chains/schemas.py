"""Response bodies of weak-link assessment, gap candidates and the chain investment map."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.chain import ChainPublic, Segment
from models.gap import RegionIn
from models.matching import MatchResult, MinMatchScore

SupplyFlag = Literal["zero_source", "single_source", "few_sources", "supplied"]
Level = Literal["high", "medium", "low"]
MatchedBy = Literal["exact", "subclass", "contains"]


class FirmRef(BaseModel):
    id: str
    name: str
    province: str | None
    city: str | None
    country: str


class PlaceCount(BaseModel):
    place: str = Field(description="province in China, '境外·<country>' abroad, '未知省份' when unknown")
    makers: int
    local: bool = False


class ProductSupply(BaseModel):
    product: str
    local_makers: int
    elsewhere_makers: int = Field(description="in China outside the region (province unknown included)")
    abroad_makers: int
    flag: SupplyFlag
    local_firms: list[FirmRef] = Field(description="up to 5 local makers")


class GapListRef(BaseModel):
    """A leader's gap list, at the version a response drew on (each such read is audited)."""

    id: str
    version: int


class Declaration(BaseModel):
    """A gap-list item of the region mapped to this node (only lists the caller may read)."""

    gap_list_id: str
    gap_list_version: int
    leader_firm_id: str
    leader_name: str
    item: str
    for_product: str | None
    description: str | None
    spec: str | None
    import_share: float | None
    risk_level: int | None
    annual_demand_cny: float | None
    current_source_country: str | None
    matched_by: MatchedBy


class DeclaredSummary(BaseModel):
    items: int = 0
    leaders: int = 0
    max_import_share: float | None = None
    max_risk_level: int | None = None
    annual_demand_cny: float = 0.0
    declarations: list[Declaration] = Field(default_factory=list)


class ScorePart(BaseModel):
    name: str
    label: str
    weight: float
    value: float = Field(description="0..1")
    points: float = Field(description="weight × value × 100: this part's share of the score")
    detail: str


class WeakLink(BaseModel):
    node_id: str
    name: str
    segment: Segment
    role: Literal["supply", "market"] = Field(
        description="market: a downstream application node, shown but not scored"
    )
    products: list[str]
    score: float | None = Field(description="0..100, higher = weaker; null for market nodes")
    rank: int | None
    level: Level | None
    parts: list[ScorePart]
    local_makers: int
    elsewhere_makers: int
    abroad_makers: int
    places: list[PlaceCount]
    hhi: float | None = Field(description="Herfindahl–Hirschman index of makers by place, 0..1")
    zero_source_products: list[str]
    single_source_products: list[str]
    supply: list[ProductSupply]
    declared: DeclaredSummary
    upstream_of: list[str] = Field(description="node ids this node supplies")
    supplied_by: list[str]
    flags: list[str] = Field(description="human-readable findings, Chinese first")


class WeakLinkAssessment(BaseModel):
    model_config = ConfigDict(json_schema_extra={"description": "weak links of a chain in a region"})

    chain_id: str
    chain_name: str
    chain_version: int
    region: RegionIn
    assessed_at: datetime
    method: str
    weights: dict[str, float]
    links: list[WeakLink] = Field(description="supply nodes by score (weakest first), then market nodes")
    places: list[PlaceCount] = Field(description="distinct makers of the chain's supply nodes by place")
    unmapped_declarations: list[Declaration] = Field(
        description="declared items of the region that match no node of the chain"
    )
    gap_lists: list[GapListRef] = Field(
        default_factory=list,
        description="the leaders' gap lists (id, version) whose items this assessment shows; "
        "each read is written to the audit log",
    )


class GapCandidate(BaseModel):
    need: str
    for_product: str
    node_id: str | None
    local_makers: int = Field(description="local makers other than the leader itself")
    elsewhere_makers: int
    abroad_makers: int
    declared: bool = Field(description="already in one of the leader's gap lists the caller may read")
    reason: str


class LeaderGapCandidates(BaseModel):
    leader: FirmRef
    products: list[str]
    candidates: list[GapCandidate]


class GapCandidates(BaseModel):
    chain_id: str
    region: RegionIn
    max_local_makers: int
    leaders: list[LeaderGapCandidates]
    gap_lists: list[GapListRef] = Field(
        default_factory=list,
        description="the leaders' gap lists (id, version) read to mark candidates as declared; audited",
    )


class ProductCandidates(BaseModel):
    product: str
    for_product: str | None
    declared: bool
    investment_targets: list[MatchResult]
    local_suppliers: list[MatchResult]


class MapEntry(BaseModel):
    node_id: str
    name: str
    score: float | None
    rank: int | None
    products: list[ProductCandidates]


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: Annotated[str, Field(max_length=40)] | RegionIn | None = Field(
        None, description="province (广东省 / 广东 / 粤) or {province, city}; a bureau's default is its own"
    )
    k: int = Field(5, ge=1, le=50, description="candidates per list per product")
    top: int = Field(10, ge=1, le=100, description="weak links in the map (weakest first)")
    min_score: float = Field(0.0, ge=0, le=100, strict=True, description="only links scoring at least this")
    products_per_link: int = Field(3, ge=1, le=10, description="products queried per weak link")
    min_match_score: MinMatchScore = None  # candidates' floor (min_score above picks weak links)


class ChainReport(BaseModel):
    chain: ChainPublic
    region: RegionIn
    generated_at: datetime
    k: int
    assessment: WeakLinkAssessment
    investment_map: list[MapEntry]
    gap_candidates: GapCandidates


def gap_lists_read(*results: WeakLinkAssessment | GapCandidates | ChainReport) -> list[GapListRef]:
    """Every gap list whose contents ``results`` carry, once each (for the audit log)."""
    seen: dict[str, GapListRef] = {}
    for result in results:
        parts: list[WeakLinkAssessment | GapCandidates] = (
            [result.assessment, result.gap_candidates] if isinstance(result, ChainReport) else [result]
        )
        for part in parts:
            for ref in part.gap_lists:
                seen.setdefault(ref.id, ref)
            if isinstance(part, WeakLinkAssessment):  # declarations name their list too
                declarations = [d for lk in part.links for d in lk.declared.declarations]
                for d in [*declarations, *part.unmapped_declarations]:
                    seen.setdefault(d.gap_list_id, GapListRef(id=d.gap_list_id, version=d.gap_list_version))
    return sorted(seen.values(), key=lambda ref: ref.id)
