"""Pictures as inline SVG, drawn on the server: no script, no network, the same in the dashboard, the
HTML report and a printout.

- :func:`chain_graph` — the chain as a layered graph, nodes coloured by weak-link score;
- :func:`place_bars` — makers by province (abroad by country), the region highlighted;
- :func:`score_bar` — a weak-link score split into its parts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape, quoteattr

from chainmatch.chains.schemas import PlaceCount, ScorePart, WeakLink
from models.chain import ChainEdgePublic, Segment

PART_COLOURS = {
    "local_gap": "#c62828",
    "concentration": "#6a1b9a",
    "import_share": "#ef6c00",
    "risk": "#ad1457",
    "demand": "#1565c0",
}
MARKET_COLOUR = "#b0bec5"
SEGMENT_LABELS = {Segment.UPSTREAM: "上游", Segment.MIDSTREAM: "中游", Segment.DOWNSTREAM: "下游"}


def _mix(a: str, b: str, t: float) -> str:
    ra, ga, ba = (int(a[i : i + 2], 16) for i in (1, 3, 5))
    rb, gb, bb = (int(b[i : i + 2], 16) for i in (1, 3, 5))
    red, green, blue = (round(x + (y - x) * t) for x, y in ((ra, rb), (ga, gb), (ba, bb)))
    return f"#{red:02x}{green:02x}{blue:02x}"


def score_colour(score: float | None) -> str:
    """Green (0, strong) → amber (50) → red (100, weak); grey for unscored market nodes."""
    if score is None:
        return MARKET_COLOUR
    s = min(max(score, 0.0), 100.0) / 100
    return _mix("#2e7d32", "#f9a825", s * 2) if s < 0.5 else _mix("#f9a825", "#c62828", (s - 0.5) * 2)


def _text_colour(fill: str) -> str:
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "#1b1b1b" if 0.299 * r + 0.587 * g + 0.114 * b > 160 else "#ffffff"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _layers(links: Sequence[WeakLink], edges: Sequence[ChainEdgePublic]) -> dict[str, int]:
    ids = [lk.node_id for lk in links]
    known = set(ids)
    layer = dict.fromkeys(ids, 0)
    usable = [(e.source, e.target) for e in edges if e.source in known and e.target in known]
    for _ in range(len(ids)):  # longest path from the sources; bounded, so a cycle cannot hang it
        changed = False
        for source, target in usable:
            if layer[target] < layer[source] + 1:
                layer[target] = layer[source] + 1
                changed = True
        if not changed:
            break
    connected = {x for pair in usable for x in pair}
    by_segment: dict[Segment, list[int]] = {}
    for lk in links:
        if lk.node_id in connected:
            by_segment.setdefault(lk.segment, []).append(layer[lk.node_id])
    top = max(layer.values(), default=0)
    defaults = {
        Segment.UPSTREAM: min(by_segment.get(Segment.UPSTREAM, [0])),
        Segment.MIDSTREAM: max(by_segment.get(Segment.MIDSTREAM, [1 if top >= 1 else 0])),
        Segment.DOWNSTREAM: max(by_segment.get(Segment.DOWNSTREAM, [top + 1])),
    }
    for lk in links:
        if lk.node_id not in connected:
            layer[lk.node_id] = defaults[lk.segment]
    # close gaps left by unused layer numbers
    used = sorted(set(layer.values()))
    remap = {v: i for i, v in enumerate(used)}
    return {k: remap[v] for k, v in layer.items()}


def chain_graph(
    links: Sequence[WeakLink],
    edges: Sequence[ChainEdgePublic],
    *,
    href: Callable[[WeakLink], str] | None = None,
    selected: str | None = None,
    title: str = "",
) -> str:
    """The chain left (upstream) to right (downstream); node fill = weak-link score."""
    if not links:
        return ""
    layer = _layers(links, edges)
    n_layers = max(layer.values()) + 1
    columns: list[list[WeakLink]] = [[] for _ in range(n_layers)]
    for lk in links:
        columns[layer[lk.node_id]].append(lk)
    order = {lk.node_id: i for i, lk in enumerate(links)}
    for col in columns:
        col.sort(key=lambda lk: order[lk.node_id])
    preds: dict[str, list[str]] = {}
    succs: dict[str, list[str]] = {}
    for e in edges:
        preds.setdefault(e.target, []).append(e.source)
        succs.setdefault(e.source, []).append(e.target)
    position: dict[str, float] = {}

    def reindex() -> None:
        for col in columns:
            for i, lk in enumerate(col):
                position[lk.node_id] = float(i)

    reindex()
    for sweep in range(6):  # barycentre ordering: fewer crossings, neighbours side by side
        forward = sweep % 2 == 0
        sequence = columns[1:] if forward else list(reversed(columns[:-1]))
        for col in sequence:

            def centre(lk: WeakLink, forward: bool = forward) -> float:
                near = (preds if forward else succs).get(lk.node_id, [])
                near = [n for n in near if n in position]
                return sum(position[n] for n in near) / len(near) if near else position[lk.node_id]

            col.sort(key=centre)
            for i, lk in enumerate(col):
                position[lk.node_id] = float(i)

    w, h, gap_x, gap_y, pad, head = 176, 44, 96, 12, 16, 58
    tallest = max(len(c) for c in columns)
    height = head + tallest * (h + gap_y) + pad
    width = pad * 2 + n_layers * w + (n_layers - 1) * gap_x
    xy: dict[str, tuple[float, float]] = {}
    for i, col in enumerate(columns):
        offset = (tallest - len(col)) * (h + gap_y) / 2
        for j, lk in enumerate(col):
            xy[lk.node_id] = (pad + i * (w + gap_x), head + offset + j * (h + gap_y))

    out = [
        f'<svg class="chain-graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label={quoteattr(title or "产业链图谱")} '
        'font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif">'
    ]
    # legend
    out.append(
        '<defs><linearGradient id="cm-weak" x1="0" x2="1" y1="0" y2="0">'
        + "".join(
            f'<stop offset="{t}" stop-color="{score_colour(t * 100)}"/>' for t in (0, 0.25, 0.5, 0.75, 1)
        )
        + "</linearGradient></defs>"
    )
    out.append(
        f'<text x="{pad}" y="16" font-size="12" fill="#455a64">薄弱度</text>'
        f'<rect x="{pad + 150}" y="6" width="160" height="12" rx="3" fill="url(#cm-weak)"/>'
        f'<text x="{pad + 150}" y="30" font-size="10" fill="#455a64">0 强</text>'
        f'<text x="{pad + 310}" y="30" font-size="10" fill="#455a64" text-anchor="end">100 弱</text>'
        f'<rect x="{pad + 330}" y="6" width="14" height="12" rx="3" fill="{MARKET_COLOUR}"/>'
        f'<text x="{pad + 350}" y="16" font-size="12" fill="#455a64">应用市场（不评分）</text>'
    )
    for i, col in enumerate(columns):
        segs = {lk.segment for lk in col}
        label = "、".join(SEGMENT_LABELS[s] for s in Segment if s in segs)
        out.append(
            f'<text x="{pad + i * (w + gap_x) + w / 2}" y="{head - 10}" font-size="12" fill="#607d8b" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    for e in edges:
        if e.source not in xy or e.target not in xy:
            continue
        (x1, y1), (x2, y2) = xy[e.source], xy[e.target]
        sx, sy, tx, ty = x1 + w, y1 + h / 2, x2, y2 + h / 2
        if tx <= sx:  # same or backward layer: route around
            sx, tx = x1 + w / 2, x2 + w / 2
            sy, ty = y1 + h, y2
        mid = (sx + tx) / 2
        out.append(
            f'<path d="M{sx:.1f},{sy:.1f} C{mid:.1f},{sy:.1f} {mid:.1f},{ty:.1f} {tx:.1f},{ty:.1f}" '
            'fill="none" stroke="#90a4ae" stroke-width="1.2" stroke-opacity="0.6"/>'
        )
    for lk in links:
        x, y = xy[lk.node_id]
        fill = score_colour(lk.score)
        ink = _text_colour(fill)
        score = "应用市场" if lk.score is None else f"薄弱度 {lk.score:.0f} · 本地 {lk.local_makers} 家"
        tip = f"{lk.name}（{lk.node_id}）" + (
            "" if lk.score is None else f"\n薄弱度 {lk.score:.1f}：" + "；".join(lk.flags[:3])
        )
        stroke = (
            ' stroke="#0d47a1" stroke-width="3"'
            if lk.node_id == selected
            else ' stroke="#ffffff" stroke-width="1"'
        )
        node = (
            f'<g class="node" data-node={quoteattr(lk.node_id)}><title>{escape(tip)}</title>'
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="7" fill="{fill}"{stroke}/>'
            f'<text x="{x + 9}" y="{y + 18}" font-size="13" font-weight="600" fill="{ink}">'
            f"{escape(_short(lk.name, 12))}</text>"
            f'<text x="{x + 9}" y="{y + 35}" font-size="11" fill="{ink}">{escape(score)}</text></g>'
        )
        if href is not None:
            node = f"<a href={quoteattr(href(lk))}>{node}</a>"
        out.append(node)
    out.append("</svg>")
    return "".join(out)


def place_bars(places: Sequence[PlaceCount], *, limit: int = 14, title: str = "") -> str:
    """Horizontal bars: makers per province / country, the region's own in orange."""
    shown = list(places[:limit])
    if not shown:
        return '<p class="muted">暂无生产企业数据 (no makers)</p>'
    rest = sum(p.makers for p in places[limit:])
    rows = [(p.place, p.makers, p.local) for p in shown]
    if rest:
        rows.append((f"其他 {len(places) - limit} 地", rest, False))
    top = max(n for _, n, _ in rows)
    label_w, bar_w, row_h, pad = 120, 360, 22, 8
    height = pad * 2 + len(rows) * row_h
    width = label_w + bar_w + 60
    out = [
        f'<svg class="place-bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label={quoteattr(title or "生产企业地区分布")} '
        'font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif">'
    ]
    for i, (place, n, local) in enumerate(rows):
        y = pad + i * row_h
        length = max(2.0, bar_w * n / top)
        colour = "#ef6c00" if local else "#5c6bc0"
        out.append(
            f'<text x="{label_w - 8}" y="{y + 15}" font-size="12" text-anchor="end" fill="#37474f">'
            f"{escape(_short(place, 10))}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row_h - 7}" rx="3" fill="{colour}">'
            f"<title>{escape(place)}: {n}</title></rect>"
            f'<text x="{label_w + length + 6:.1f}" y="{y + 15}" font-size="12" fill="#37474f">{n}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def score_bar(parts: Sequence[ScorePart], *, width: int = 200) -> str:
    """The score as stacked parts on a 0–100 scale."""
    height = 14
    out = [
        f'<svg class="score-bar" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="score parts">'
        f'<rect x="0" y="0" width="{width}" height="{height}" rx="3" fill="#eceff1"/>'
    ]
    x = 0.0
    for part in parts:
        length = width * part.points / 100
        if length <= 0:
            continue
        out.append(
            f'<rect x="{x:.1f}" y="0" width="{length:.1f}" height="{height}" '
            f'fill="{PART_COLOURS.get(part.name, "#78909c")}">'
            f"<title>{escape(part.label)} {part.points:.1f} 分：{escape(part.detail)}</title></rect>"
        )
        x += length
    out.append("</svg>")
    return "".join(out)
