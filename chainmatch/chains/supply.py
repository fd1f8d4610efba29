"""Who makes a chain's products where: makers split into local / elsewhere in China / abroad,
concentration (HHI) and supply flags, shared by the assessment, gap candidates and the map."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from chainmatch.chains.corpus import CorpusView, FirmInfo
from chainmatch.chains.schemas import FirmRef, SupplyFlag
from models.gap import RegionIn
from recommender.corpus import Region


def region_in(region: Region) -> RegionIn:
    return RegionIn(province=region.province, city=region.city)


def firm_ref(firm: FirmInfo) -> FirmRef:
    return FirmRef(id=firm.id, name=firm.name, province=firm.province, city=firm.city, country=firm.country)


def hhi(counts: Iterable[int]) -> float | None:
    values = [c for c in counts if c > 0]
    total = sum(values)
    if not total:
        return None
    return sum((c / total) ** 2 for c in values)


def supply_flag(local: int) -> SupplyFlag:
    return (
        "zero_source"
        if local == 0
        else "single_source"
        if local == 1
        else "few_sources"
        if local <= 2
        else "supplied"
    )


@dataclass
class Split:
    local: set[str] = field(default_factory=set)
    elsewhere: set[str] = field(default_factory=set)
    abroad: set[str] = field(default_factory=set)

    def add(self, firm: FirmInfo, region: Region) -> None:
        if firm.inside(region):
            self.local.add(firm.id)
        elif firm.in_china:
            self.elsewhere.add(firm.id)
        else:
            self.abroad.add(firm.id)

    @property
    def total(self) -> int:
        return len(self.local) + len(self.elsewhere) + len(self.abroad)


def split_makers(
    view: CorpusView, firm_ids: Iterable[str], region: Region, exclude: str | None = None
) -> Split:
    out = Split()
    for firm_id in firm_ids:
        firm = view.firms.get(firm_id)
        if firm is not None and firm_id != exclude:
            out.add(firm, region)
    return out
