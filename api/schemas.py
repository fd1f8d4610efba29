"""Request and response bodies of the public API that are not entity families in ``models``."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.common import NormText, OptNormText
from models.gap import GapItemPublic, RegionIn
from recommender.corpus import FirmMatch, Scope
from recommender.text import normalize_text

# A request's relevance floor (recommender.engine.EngineConfig.min_score): strict, so a JSON
# true is not read as 1.
MinMatchScore = Annotated[
    float | None,
    Field(
        ge=0,
        le=1,
        strict=True,
        description="results scoring below this (0..1) are left out; default: the server's setting (0.1)",
    ),
]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        None, description="pass as ?cursor= to get the next page; null at the end"
    )


class MatchedProductOut(BaseModel):
    name: str
    share: float | None
    via: str = Field(description="exact | subclass | parent | similar")
    path: str | None = None
    similarity: float


class MatchResult(BaseModel):
    firm_id: str
    name: str
    province: str | None
    city: str | None
    country: str
    scale: str
    tags: list[str]
    score: float
    reasons: list[str]
    matched_products: list[MatchedProductOut]
    channel_scores: dict[str, float]

    @classmethod
    def from_match(cls, match: FirmMatch) -> MatchResult:
        firm = match.firm
        return cls(
            firm_id=firm.id,
            name=firm.name,
            province=firm.province,
            city=firm.city,
            country=firm.country,
            scale=firm.scale,
            tags=list(firm.tags),
            score=round(float(match.score), 6),
            reasons=list(match.reasons),
            matched_products=[
                MatchedProductOut(
                    name=p.name,
                    share=p.share,
                    via=p.via,
                    path=p.path,
                    similarity=round(float(p.similarity), 4),
                )
                for p in match.matched_products
            ],
            channel_scores={k: round(float(v), 4) for k, v in match.channel_scores.items()},
        )


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provinces_include: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=40)
    provinces_exclude: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=40)
    tags: list[Annotated[str, Field(max_length=40)]] = Field(
        default_factory=list, max_length=20, description="any of these tags, e.g. 专精特新"
    )
    scales: list[Annotated[str, Field(pattern="^(micro|small|medium|large|unknown)$")]] = Field(
        default_factory=list, max_length=5
    )


class MatchRequest(BaseModel):
    """The ad-hoc query a bureau types: a component or material, optionally with context."""

    model_config = ConfigDict(extra="forbid")

    text: NormText = Field(max_length=200, examples=["涡轮分子泵"])
    description: OptNormText = Field(None, max_length=2000)
    for_product: OptNormText = Field(None, max_length=200, examples=["质谱仪"])
    leader_firm_id: str | None = Field(None, max_length=64, description="never among the results")
    region: Annotated[str, Field(max_length=40)] | RegionIn | None = Field(
        None,
        description="province (e.g. 广东省 / 广东 / 粤) or {province, city}; a bureau's default is its own",
    )
    scope: Scope = Scope.ALL
    k: int = Field(10, ge=1)
    min_score: MinMatchScore = None
    filters: Filters = Field(default_factory=Filters)

    @field_validator("region", mode="after")
    @classmethod
    def _region_object(cls, value: str | RegionIn | None) -> RegionIn | None:
        if isinstance(value, str):
            if not normalize_text(value):
                raise ValueError("region 不能为空 (region must not be blank)")
            return RegionIn(province=value)
        return value


class MatchResponse(BaseModel):
    region: RegionIn | None
    scope: Scope
    results: list[MatchResult]


class ItemRecommendations(BaseModel):
    item: GapItemPublic
    investment_targets: list[MatchResult]
    local_suppliers: list[MatchResult]


class GapListRecommendations(BaseModel):
    gap_list_id: str
    version: int
    region: RegionIn
    k: int
    items: list[ItemRecommendations]


class KeyCreated(BaseModel):
    id: int
    role: str
    key: str = Field(description="shown once; only a salted hash is stored")


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: bool
    index: dict[str, object]
