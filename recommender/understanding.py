"""What a weak-link text was understood as: the result type of :mod:`recommender.query`.

Kept apart from the parser so that the API, the CLI and the gap-list importer can depend on the
shape without importing the parser's tables.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# How the product was found, best first.
VIA_EXACT = "exact"  # the whole text is a known product name
VIA_ALIAS = "alias"  # an abbreviation / English name / synonym of a known product
VIA_MENTION = "mention"  # a known product named inside a longer text
VIA_HEAD = "head"  # no known product: the head noun phrase of the text, as typed
VIA_NONE = "none"  # nothing that reads as a product


@dataclass(frozen=True, slots=True)
class Sourcing:
    """Sourcing facts stated in the text (断链断供风险 evidence)."""

    import_dependent: bool = False  # 依赖进口 / 进口品牌 / 国外垄断 …
    countries: tuple[str, ...] = ()  # source countries named (日本, 德国 …)
    single_supplier: bool = False  # 单一供应商 / 仅靠一家 / 气源单一 …
    import_share: float | None = None  # 进口占比70% → 0.7


@dataclass(frozen=True, slots=True)
class Understanding:
    """How one weak-link text was read. ``product`` is what the engine searches for; everything
    else is soft context shown to the user (and, for sourcing, stored on gap items)."""

    text: str  # the text as given, normalised
    product: str | None  # the product named (a registry product name when via is exact/alias/mention)
    via: str = VIA_NONE
    confidence: float = 0.0  # 0..1
    alternatives: tuple[str, ...] = ()  # other readings, best first
    # The same product by other names (a bracketed alias, a synonym): searched as the product.
    synonyms: tuple[str, ...] = ()
    qualifiers: tuple[str, ...] = ()  # 高精度, 电子级, 车规级 …
    for_product: str | None = None  # the end use: 用于质谱仪的离子源 → 质谱仪
    specs: tuple[str, ...] = ()  # 纯度≥99.9%, 抽速300L/s以上, 年需求2万吨 …
    annual_demand_cny: float | None = None  # only when the text states money (年采购额3000万元)
    sourcing: Sourcing = field(default_factory=Sourcing)
    unparsed: tuple[str, ...] = ()  # words left over (soft context, not required terms)

    @property
    def low_confidence(self) -> bool:
        return self.confidence < LOW_CONFIDENCE

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["low_confidence"] = self.low_confidence
        return d


# Below this the reading is a guess: lists are filled with the best candidates, flagged, rather
# than cut by the relevance floor (an empty list must mean "nobody makes it", not "not understood").
LOW_CONFIDENCE = 0.5

__all__ = [
    "LOW_CONFIDENCE",
    "VIA_ALIAS",
    "VIA_EXACT",
    "VIA_HEAD",
    "VIA_MENTION",
    "VIA_NONE",
    "Sourcing",
    "Understanding",
]
