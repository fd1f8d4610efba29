"""Where a candidate is, seen from the bureau's region: same city, same province, a neighbouring
province, elsewhere in China, or abroad — as a reason line, a map colour and a filter.

The place class is context for the bureau (travel, 飞地/异地招商 ties, 区域协同); it changes no score.
A filter by place class is applied before the engine's top-k cut by translating it into the
engine's :class:`~recommender.corpus.FirmFilter` (``provinces_include`` / ``provinces_exclude``).
Two distinctions the engine's filter cannot express — a city inside a province, and abroad versus
a Chinese firm whose province is unknown — are applied after a search with a larger ``k``
(:data:`WIDEN`), then cut to ``k``: such a list may hold fewer than ``k`` firms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from models.regions import PROVINCES
from recommender.corpus import Region
from recommender.explain import DOMESTIC


class PlaceClass(StrEnum):
    SAME_CITY = "same_city"
    SAME_PROVINCE = "same_province"
    NEIGHBOURING = "neighbouring"
    ELSEWHERE = "elsewhere_china"
    ABROAD = "abroad"
    UNKNOWN = "unknown"  # in China, province not known


PLACE_LABELS: dict[PlaceClass, str] = {
    PlaceClass.SAME_CITY: "同城",
    PlaceClass.SAME_PROVINCE: "本省",
    PlaceClass.NEIGHBOURING: "邻省",
    PlaceClass.ELSEWHERE: "国内其他省份",
    PlaceClass.ABROAD: "境外",
    PlaceClass.UNKNOWN: "国内（省份未知）",
}
# the order in which filters and legends list them, nearest first
PLACE_ORDER: tuple[PlaceClass, ...] = tuple(PlaceClass)

# Provincial-level divisions that share a land border (and the two strait pairs 广东–海南 across the
# 琼州海峡 and 福建–台湾 across the 台湾海峡, which are each other's nearest provinces). Symmetric;
# tests/api/test_map.py checks it.
_BORDERS: dict[str, tuple[str, ...]] = {
    "北京市": ("天津市", "河北省"),
    "天津市": ("北京市", "河北省"),
    "河北省": ("北京市", "天津市", "山西省", "内蒙古自治区", "辽宁省", "山东省", "河南省"),
    "山西省": ("河北省", "内蒙古自治区", "陕西省", "河南省"),
    "内蒙古自治区": (
        "黑龙江省", "吉林省", "辽宁省", "河北省", "山西省", "陕西省", "宁夏回族自治区", "甘肃省",
    ),
    "辽宁省": ("吉林省", "内蒙古自治区", "河北省"),
    "吉林省": ("黑龙江省", "内蒙古自治区", "辽宁省"),
    "黑龙江省": ("吉林省", "内蒙古自治区"),
    "上海市": ("江苏省", "浙江省"),
    "江苏省": ("上海市", "浙江省", "安徽省", "山东省"),
    "浙江省": ("上海市", "江苏省", "安徽省", "江西省", "福建省"),
    "安徽省": ("江苏省", "浙江省", "江西省", "湖北省", "河南省", "山东省"),
    "福建省": ("浙江省", "江西省", "广东省", "台湾省"),
    "江西省": ("浙江省", "安徽省", "湖北省", "湖南省", "广东省", "福建省"),
    "山东省": ("河北省", "河南省", "安徽省", "江苏省"),
    "河南省": ("河北省", "山西省", "陕西省", "湖北省", "安徽省", "山东省"),
    "湖北省": ("河南省", "安徽省", "江西省", "湖南省", "重庆市", "陕西省"),
    "湖南省": ("湖北省", "江西省", "广东省", "广西壮族自治区", "贵州省", "重庆市"),
    "广东省": ("福建省", "江西省", "湖南省", "广西壮族自治区", "海南省", "香港特别行政区", "澳门特别行政区"),
    "广西壮族自治区": ("广东省", "湖南省", "贵州省", "云南省"),
    "海南省": ("广东省",),
    "重庆市": ("四川省", "贵州省", "湖南省", "湖北省", "陕西省"),
    "四川省": ("重庆市", "贵州省", "云南省", "西藏自治区", "青海省", "甘肃省", "陕西省"),
    "贵州省": ("四川省", "重庆市", "湖南省", "广西壮族自治区", "云南省"),
    "云南省": ("四川省", "贵州省", "广西壮族自治区", "西藏自治区"),
    "西藏自治区": ("新疆维吾尔自治区", "青海省", "四川省", "云南省"),
    "陕西省": (
        "山西省", "内蒙古自治区", "宁夏回族自治区", "甘肃省", "四川省", "重庆市", "湖北省", "河南省",
    ),
    "甘肃省": ("新疆维吾尔自治区", "青海省", "四川省", "陕西省", "宁夏回族自治区", "内蒙古自治区"),
    "青海省": ("新疆维吾尔自治区", "西藏自治区", "四川省", "甘肃省"),
    "宁夏回族自治区": ("内蒙古自治区", "甘肃省", "陕西省"),
    "新疆维吾尔自治区": ("甘肃省", "青海省", "西藏自治区"),
    "台湾省": ("福建省",),
    "香港特别行政区": ("广东省",),
    "澳门特别行政区": ("广东省",),
}  # fmt: skip
NEIGHBOURS: dict[str, frozenset[str]] = {p: frozenset(n) for p, n in _BORDERS.items()}
WIDEN = 4  # k multiplier when a class must be applied after the engine's cut


def neighbours(province: str) -> frozenset[str]:
    return NEIGHBOURS.get(province, frozenset())


def place_class(region: Region, province: str | None, city: str | None, country: str | None) -> PlaceClass:
    """The class of (province, city, country) seen from ``region``."""
    if country and country != DOMESTIC:
        return PlaceClass.ABROAD
    if not province:
        return PlaceClass.UNKNOWN
    if province == region.province:
        same_city = region.city is not None and city == region.city
        return PlaceClass.SAME_CITY if same_city else PlaceClass.SAME_PROVINCE
    if province in neighbours(region.province):
        return PlaceClass.NEIGHBOURING
    return PlaceClass.ELSEWHERE


def place_label(cls: PlaceClass, region: Region) -> str:
    if cls is PlaceClass.SAME_PROVINCE and region.city is not None:
        return "同省其他城市"
    return PLACE_LABELS[cls]


@dataclass(frozen=True, slots=True)
class PlaceFilter:
    """A place-class filter as the engine can take it, plus what must be checked after its cut."""

    classes: frozenset[PlaceClass]
    provinces_include: frozenset[str] = frozenset()
    provinces_exclude: frozenset[str] = frozenset()
    after_cut: bool = False  # some class needs a check the engine's filter cannot make

    def admits(self, region: Region, province: str | None, city: str | None, country: str | None) -> bool:
        return not self.classes or place_class(region, province, city, country) in self.classes


def place_filter(region: Region, classes: Iterable[PlaceClass | str]) -> PlaceFilter:
    """``classes`` (empty: no filter) as the engine's province include/exclude sets.

    same_province with a city region, same_city, abroad and unknown cannot be told apart from
    their provinces alone: those are checked after the engine's cut (``after_cut``)."""
    wanted = frozenset(PlaceClass(c) for c in classes)
    if not wanted:
        return PlaceFilter(wanted)
    home, near = region.province, neighbours(region.province)
    provinces: set[str] = set()
    after = False
    if wanted & {PlaceClass.SAME_CITY, PlaceClass.SAME_PROVINCE}:
        provinces.add(home)
        # a city region: the province holds both classes; only one of them asked for → check after
        after |= region.city is not None and not {PlaceClass.SAME_CITY, PlaceClass.SAME_PROVINCE} <= wanted
        after |= (
            region.city is None and PlaceClass.SAME_CITY in wanted and PlaceClass.SAME_PROVINCE not in wanted
        )
    if PlaceClass.NEIGHBOURING in wanted:
        provinces |= near
    if PlaceClass.ELSEWHERE in wanted:
        provinces |= set(PROVINCES) - {home} - near
    if wanted & {PlaceClass.ABROAD, PlaceClass.UNKNOWN}:
        # the engine can only leave out Chinese provinces: what is left is abroad + province unknown
        excluded = frozenset(set(PROVINCES) - provinces)
        after |= not {PlaceClass.ABROAD, PlaceClass.UNKNOWN} <= wanted
        return PlaceFilter(wanted, provinces_exclude=excluded, after_cut=after)
    return PlaceFilter(wanted, provinces_include=frozenset(provinces), after_cut=after)


_WHERE = re.compile(r"^位于 (?P<where>[^，（]*)(?:（[^）]*）)?，为")


def annotate(
    reasons: list[str], region: Region, province: str | None, city: str | None, country: str | None
) -> list[str]:
    """The engine's place line (``位于 江苏省苏州市，为区外企业…``) naming the place class:
    ``位于 江苏省苏州市（邻省），为区外企业…``; appended when the engine gave none."""
    label = place_label(place_class(region, province, city, country), region)
    out = list(reasons)
    for i, line in enumerate(out):
        m = _WHERE.match(line)
        if m:
            out[i] = f"位于 {m.group('where')}（{label}），为" + line[m.end() :]
            return out
    out.append(f"地点：{label}")
    return out
