"""The engine's input and output records: plain, immutable, database-free."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Scope(StrEnum):
    """Which side of the region a match may come from."""

    OUTSIDE = "outside"  # investment targets: firms to attract into the region
    INSIDE = "inside"  # local supporting firms (本地配套)
    ALL = "all"


class RelationKind(StrEnum):
    UPSTREAM_MATERIAL = "upstream_material"  # target is an upstream material/component of product
    SUBCLASS = "subclass"  # target is a narrower kind of product
    DOWNSTREAM_PRODUCT = "downstream_product"


@dataclass(frozen=True, slots=True)
class Product:
    name: str
    share: float | None = None  # revenue share in [0, 1]; None when unknown


@dataclass(frozen=True, slots=True)
class FirmDoc:
    """What the engine knows of one firm. Texts are already normalised by ingest."""

    id: str
    name: str
    fullname: str | None = None
    province: str | None = None
    city: str | None = None
    country: str = "中国"
    industry: tuple[str, ...] = ()
    products: tuple[Product, ...] = ()
    tags: tuple[str, ...] = ()
    scale: str = "unknown"  # micro / small / medium / large / unknown
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Relation:
    product: str
    relation: RelationKind
    target: str


@dataclass(frozen=True, slots=True)
class Region:
    """A province, optionally narrowed to a city. ``None`` province means no region."""

    province: str
    city: str | None = None

    def contains(self, firm: FirmDoc) -> bool:
        if firm.country != "中国" or firm.province != self.province:
            return False
        return self.city is None or firm.city == self.city


@dataclass(frozen=True, slots=True)
class FirmFilter:
    """Hard filters applied to candidates after retrieval, before the top-k cut."""

    provinces_include: frozenset[str] = frozenset()
    provinces_exclude: frozenset[str] = frozenset()
    tags_any: frozenset[str] = frozenset()
    scales: frozenset[str] = frozenset()
    exclude_firm_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class MatchQuery:
    """One weak link (or an ad-hoc query a bureau types)."""

    text: str
    description: str | None = None
    for_product: str | None = None  # the leader product the item goes into (context)
    leader_firm_id: str | None = None  # never among its own results
    region: Region | None = None
    scope: Scope = Scope.ALL
    filters: FirmFilter = field(default_factory=FirmFilter)
    k: int = 10
    # Results scoring below this are not returned (None: EngineConfig.min_score). Fewer than k
    # results — or none — is an answer: nobody in scope really makes it.
    min_score: float | None = None


@dataclass(frozen=True, slots=True)
class MatchedProduct:
    """A capability entry of the firm that matched, with how it matched."""

    name: str
    share: float | None
    via: str  # "exact" | "subclass" | "kind" | "parent" | "similar"
    path: str | None = None  # human-readable relation path, e.g. "纸包装容器 是 包装容器 的一种"
    similarity: float = 0.0


@dataclass(slots=True)
class FirmMatch:
    firm: FirmDoc
    score: float
    matched_products: list[MatchedProduct] = field(default_factory=list)
    channel_scores: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    # The query's text was not understood with confidence (its reading is a guess): a person
    # should check the match. Such a list is never emptied by the relevance floor; its best few
    # candidates are shown instead.
    low_confidence: bool = False
    # How the list was ordered, for a merger of shards' lists (recommender.merge): the score
    # unrounded, what the list is ordered by (the score plus the local suppliers' SME bonus), and
    # whether the firm is one of the best few shown because none reached the relevance floor.
    relevance: float = 0.0
    rank_score: float = 0.0
    guessed: bool = False
