"""Vendored map geometry (chainmatch/geo/, built offline by data/geo/build_geo.py; see
data/geo/README.md for sources, licences and the map's conventions) and the projections the maps
are drawn in. Nothing is fetched at run time.

- China: 34 provincial-level divisions (full names as the registry writes them), Albers equal-area
  conic (standard parallels 25°N and 47°N, central meridian 105°E), the South China Sea islands in
  an inset (南海诸岛) as on the PRC's standard landscape maps;
- the world: countries by Chinese short name, Equal Earth projection centred on 150°E (the Pacific
  in the middle, as Chinese world maps are drawn);
- cities: name → (lon, lat) for the registry's city names, where known.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from models.regions import normalize_province

GEO = Path(__file__).with_name("geo")
Point = tuple[float, float]


@dataclass(frozen=True)
class Shape:
    name: str
    rings: tuple[tuple[Point, ...], ...]
    centre: Point  # lon, lat: a label / capital point


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GEO / name).read_text(encoding="utf-8"))
    return data


def _rings(raw: Sequence[Sequence[Sequence[float]]]) -> tuple[tuple[Point, ...], ...]:
    return tuple(tuple((float(p[0]), float(p[1])) for p in ring) for ring in raw)


@cache
def provinces() -> dict[str, Shape]:
    raw = _load("china_provinces.json")["provinces"]
    return {name: Shape(name, _rings(p["rings"]), (p["cp"][0], p["cp"][1])) for name, p in raw.items()}


def _centroid(rings: Sequence[Sequence[Point]]) -> Point:
    biggest = max(rings, key=len)
    return (sum(p[0] for p in biggest) / len(biggest), sum(p[1] for p in biggest) / len(biggest))


@cache
def countries() -> dict[str, Shape]:
    raw = _load("world_countries.json")["countries"]
    return {name: Shape(name, _rings(c["rings"]), _centroid(_rings(c["rings"]))) for name, c in raw.items()}


@cache
def _country_aliases() -> dict[str, str]:
    raw = _load("world_countries.json")["countries"]
    out: dict[str, str] = {}
    for name, c in raw.items():
        for alias in (name, c.get("full_name"), c.get("iso_a2"), c.get("iso_a3")):
            if alias and alias != "-99":
                out.setdefault(str(alias).upper(), name)
    out.update(
        {"USA": "美国", "US": "美国", "UK": "英国", "美利坚": "美国", "南朝鲜": "韩国", "大韩民国": "韩国"}
    )
    return out


def country_name(value: str | None) -> str | None:
    """The map's name for a country as the registry writes it (日本, 德意志联邦共和国, DE …)."""
    if not value:
        return None
    return _country_aliases().get(value.strip().upper())


@cache
def _cities() -> dict[str, Point]:
    return {k: (v[0], v[1]) for k, v in _load("cities.json")["cities"].items()}


def city_point(province: str | None, city: str | None) -> Point | None:
    """Where a city of the registry lies, or None when the table does not know it (or places it
    outside its province's bounding box: the same name in another province)."""
    province = normalize_province(province)
    shape = provinces().get(province or "")
    if shape is None:
        return None
    if not city:
        return None
    table = _cities()
    names = [city, city.removesuffix("市"), city.removesuffix("地区"), city.removesuffix("自治州")]
    point = next((table[n] for n in names if n in table), None)
    if point is None:
        if province and city.removesuffix("市") == province.removesuffix("市"):
            return shape.centre  # a municipality: its city is itself
        return None
    xs = [p[0] for ring in shape.rings for p in ring]
    ys = [p[1] for ring in shape.rings for p in ring]
    if not (min(xs) - 0.3 <= point[0] <= max(xs) + 0.3 and min(ys) - 0.3 <= point[1] <= max(ys) + 0.3):
        return None
    return point


# ----------------------------------------------------------------------------- projections
class Albers:
    """Albers equal-area conic; y grows northwards."""

    def __init__(self, lon0: float = 105.0, lat1: float = 25.0, lat2: float = 47.0) -> None:
        p1, p2 = math.radians(lat1), math.radians(lat2)
        self.lon0 = lon0
        self.n = (math.sin(p1) + math.sin(p2)) / 2
        self.c = math.cos(p1) ** 2 + 2 * self.n * math.sin(p1)
        self.rho0 = math.sqrt(self.c) / self.n

    def __call__(self, lon: float, lat: float) -> Point:
        theta = self.n * math.radians(lon - self.lon0)
        rho = math.sqrt(max(self.c - 2 * self.n * math.sin(math.radians(lat)), 0.0)) / self.n
        return rho * math.sin(theta), self.rho0 - rho * math.cos(theta)


class EqualEarth:
    """Equal Earth (Šavrič, Patterson, Jenny 2018), centred on ``lon0``; y grows northwards."""

    A1, A2, A3, A4 = 1.340264, -0.081106, 0.000893, 0.003796
    M = math.sqrt(3) / 2

    def __init__(self, lon0: float = 150.0) -> None:
        self.lon0 = lon0

    def shift(self, lon: float) -> float:
        """Longitude relative to the centre, in [-180, 180)."""
        return (lon - self.lon0 + 180.0) % 360.0 - 180.0

    def __call__(self, lon: float, lat: float, *, relative: float | None = None) -> Point:
        lam = math.radians(self.shift(lon) if relative is None else relative)
        theta = math.asin(self.M * math.sin(math.radians(lat)))
        t2 = theta * theta
        t6 = t2 * t2 * t2
        x = (
            lam
            * math.cos(theta)
            / (self.M * (self.A1 + 3 * self.A2 * t2 + t6 * (7 * self.A3 + 9 * self.A4 * t2)))
        )
        y = theta * (self.A1 + self.A2 * t2 + t6 * (self.A3 + self.A4 * t2))
        return x, y

    def ring(self, ring: Sequence[Point]) -> list[Point]:
        """A ring kept in one piece: all its points shifted as its middle is (a ring across the
        map's edge runs a little past it, where the picture clips it)."""
        mean = sum(p[0] for p in ring) / len(ring)
        mid = self.shift(mean)
        return [self(lon, lat, relative=mid + lon - mean) for lon, lat in ring]
