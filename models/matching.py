"""Shared request and result types of matching (not entity families): the API, the CLI, reports and
services all speak them, so they live below all of those."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.common import NormText, OptNormText
from models.gap import GapItemCreate, GapItemPublic, GapListPublic, RegionIn
from recommender.corpus import FirmMatch, Scope
from recommender.text import normalize_text
from recommender.understanding import Understanding

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
    low_confidence: bool = Field(
        False,
        description="the text was not understood with confidence and this candidate is below the "
        "relevance floor: the best guess, to be checked by a person",
    )

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
            low_confidence=bool(match.low_confidence),
        )


class SourcingOut(BaseModel):
    """Sourcing facts the text states (断链断供风险 evidence)."""

    import_dependent: bool = Field(description="依赖进口 / 进口品牌 / 国外垄断 …")
    countries: list[str] = Field(description="source countries named, e.g. 日本, 德国")
    single_supplier: bool = Field(description="单一供应商 / 仅靠一家 …")
    import_share: float | None = Field(description="进口占比70% → 0.7")


class UnderstoodAs(BaseModel):
    """How the weak-link text was read: the product the engine searched for and the rest, kept
    as soft context. Shown to the user so that a wrong reading can be corrected."""

    text: str = Field(description="the text as read (normalised)")
    product: str | None = Field(description="the product searched for; null: none recognised")
    via: str = Field(description="exact | alias | mention | head | none — how the product was found")
    confidence: float = Field(ge=0, le=1)
    low_confidence: bool = Field(description="the reading is a guess: check it, or rephrase the text")
    alternatives: list[str] = Field(description="other readings, best first")
    synonyms: list[str] = Field(
        default_factory=list, description="the same product by other names, searched as the product"
    )
    qualifiers: list[str] = Field(description="高精度, 电子级, 车规级 …")
    for_product: str | None = Field(description="the end use: 用于质谱仪的离子源 → 质谱仪")
    specs: list[str] = Field(description="specs and quantities: 抽速300L/s以上, 年需求2万吨 …")
    annual_demand_cny: float | None = Field(description="stated yearly purchases in yuan (年采购额3000万元)")
    sourcing: SourcingOut
    unparsed: list[str] = Field(description="words left over (used as soft context only)")

    @classmethod
    def from_understanding(cls, u: Understanding) -> UnderstoodAs:
        s = u.sourcing
        return cls(
            text=u.text,
            product=u.product,
            via=u.via,
            confidence=round(min(max(float(u.confidence), 0.0), 1.0), 4),
            low_confidence=u.low_confidence,
            alternatives=list(u.alternatives),
            synonyms=list(u.synonyms),
            qualifiers=list(u.qualifiers),
            for_product=u.for_product,
            specs=list(u.specs),
            annual_demand_cny=u.annual_demand_cny,
            sourcing=SourcingOut(
                import_dependent=s.import_dependent,
                countries=list(s.countries),
                single_supplier=s.single_supplier,
                import_share=s.import_share,
            ),
            unparsed=list(u.unparsed),
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
    understood_as: UnderstoodAs
    results: list[MatchResult]


class BatchMatchQuery(MatchRequest):
    """One query of a batch: the fields of ``POST /v1/match`` and the caller's ``id`` for it."""

    id: str = Field(min_length=1, max_length=100, description="echoed on this query's answer line")


class BatchMatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queries: list[BatchMatchQuery] = Field(
        min_length=1, description="at most the server's max_batch_queries (1,000); ids unique"
    )

    @field_validator("queries", mode="after")
    @classmethod
    def _unique_ids(cls, value: list[BatchMatchQuery]) -> list[BatchMatchQuery]:
        seen: set[str] = set()
        for q in value:
            if q.id in seen:
                raise ValueError(f"重复的查询 id {q.id!r} (query ids must be unique)")
            seen.add(q.id)
        return value


class BatchMatchLine(BaseModel):
    """One line of the NDJSON answer: a query's answer (``status`` 200 with the fields of
    ``MatchResponse``) or its error (``status`` 403/422/503 and ``error``). The last line is
    ``{"done": true, ...}``: a stream without it was cut short and is not complete."""

    id: str
    status: int
    region: RegionIn | None = None
    scope: Scope | None = None
    understood_as: UnderstoodAs | None = None
    results: list[MatchResult] | None = None
    error: str | None = None


class RematchRequest(BaseModel):
    """A region's gap lists ranked again; a bureau's default region is its own."""

    model_config = ConfigDict(extra="forbid")

    region: RegionIn | None = None
    k: int = Field(10, ge=1)
    min_score: MinMatchScore = None


class BatchMatchTrailer(BaseModel):
    done: bool = True
    queries: int
    answered: int
    errors: int


class ItemRecommendations(BaseModel):
    item: GapItemPublic
    understood_as: UnderstoodAs
    investment_targets: list[MatchResult]
    local_suppliers: list[MatchResult]


class GapListRecommendations(BaseModel):
    gap_list_id: str
    version: int
    region: RegionIn
    k: int
    items: list[ItemRecommendations]


class SheetIssue(BaseModel):
    """A problem with an uploaded spreadsheet: where (row as Excel numbers it, the header being row 1
    when nothing stands above it; column as headed) and why. ``row`` null: the file as a whole."""

    row: int | None
    column: str | None
    message: str


class SheetRowReport(BaseModel):
    """One row of an uploaded gap list: the item to be stored and how its text was read."""

    row: int = Field(description="the row number as Excel shows it")
    name: str = Field(description="the name as written (stored unchanged)")
    item: GapItemCreate = Field(description="the item as it is stored, with the facts filled from its text")
    understood_as: UnderstoodAs
    filled_from_text: list[str] = Field(
        description="fields left empty in the sheet and filled from what the text states"
    )
    low_confidence: bool = Field(description="the product was not recognised with confidence: check it")
    not_understood: list[str] = Field(description="what was not understood, in words")


class GapSheetReport(BaseModel):
    """The per-row report of a spreadsheet upload. With any error nothing is written."""

    file: str | None = None
    sheet: str | None = Field(None, description="the worksheet read (the first one); null for CSV")
    encoding: str | None = Field(None, description="the CSV's encoding (utf-8-sig, gb18030, utf-16)")
    header_row: int | None = None
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="column header as written → the item field it fills ('text': free text)",
    )
    ignored_columns: list[str] = Field(default_factory=list, description="headers not understood, not used")
    received: int = Field(0, description="weak-link rows read")
    rows: list[SheetRowReport] = Field(default_factory=list)
    low_confidence_rows: list[int] = Field(default_factory=list)
    errors: list[SheetIssue] = Field(default_factory=list)
    written: bool = False
    gap_list: GapListPublic | None = None
