"""Explanations a bureau can act on: matched products with revenue share, relation paths, reasons."""

from __future__ import annotations

import itertools

from .corpus import FirmDoc, MatchedProduct, Region
from .features import GraphMatch

SME_SCALES = frozenset({"micro", "small", "medium"})
SPECIALISED_TAGS = ("专精特新小巨人", "小巨人", "专精特新", "单项冠军", "高新技术企业")
SCALE_LABELS = {"micro": "微型企业", "small": "小型企业", "medium": "中型企业", "large": "大型企业"}


DOMESTIC = "中国"


def place(province: str | None, city: str | None = None, country: str | None = DOMESTIC) -> str:
    """Where a firm or a region is, as one reads it: 广东省深圳市; 上海市 (not 上海市上海市);
    the country for firms abroad. Empty when nothing is known."""
    if country and country != DOMESTIC:
        return country
    province, city = province or "", city or ""
    if not city:
        return province
    if not province or city.startswith(province):
        return city
    if city.removesuffix("市") == province.removesuffix("市"):  # a municipality: 上海市 + 上海(市)
        return province
    return province + city


def fmt_share(share: float | None) -> str:
    return "营收占比未知" if share is None else f"营收占比 {share:.0%}"


def relation_path(path: tuple[str, ...], via: str) -> str | None:
    """``path`` runs from the item to the firm's product."""
    if len(path) < 2:
        return None
    if via == "subclass":  # each next element is a kind of the previous one
        return "，".join(f"{b} 是 {a} 的一种" for a, b in itertools.pairwise(path))
    if via == "parent":
        return "，".join(f"{a} 是 {b} 的一种" for a, b in itertools.pairwise(path))
    return None


def is_specialised(firm: FirmDoc) -> bool:
    return any(t in SPECIALISED_TAGS or "专精特新" in t or "小巨人" in t for t in firm.tags)


def explain(
    firm: FirmDoc,
    item: str,
    graph_matches: list[GraphMatch],
    similar: list[tuple[str, float | None, float, str]],
    region: Region | None,
    for_product: str | None,
) -> tuple[list[MatchedProduct], list[str]]:
    """``similar``: (text, share, similarity, entry kind name) of the best lexical/dense entries."""
    matched: list[MatchedProduct] = []
    reasons: list[str] = []
    seen: set[str] = set()
    # a product matched through the graph and by its name is explained with the graph's path
    order = {"exact": 0, "subclass": 1, "kind": 2, "parent": 3, "context": 4}
    for m in sorted(graph_matches, key=lambda m: (order.get(m.via, 9), m.depth, -(m.share or 0.0))):
        if m.name in seen:
            continue
        seen.add(m.name)
        path = relation_path(m.path, m.via)
        if m.via == "exact":
            matched.append(MatchedProduct(m.name, m.share, "exact", None, 1.0))
            reasons.append(f"主营 {m.name}（{fmt_share(m.share)}），与需求“{item}”一致")
        elif m.via == "subclass":
            matched.append(MatchedProduct(m.name, m.share, "subclass", path, 0.0))
            chain = "，".join(f"属于 {p} 的一种" for p in reversed(m.path[:-1]))
            reasons.append(f"主营 {m.name}（{fmt_share(m.share)}），{chain}")
        elif m.via == "kind":
            matched.append(MatchedProduct(m.name, m.share, "kind", f"{m.name} 是 {item} 的一种", 0.0))
            reasons.append(f"主营 {m.name}（{fmt_share(m.share)}），是 {item} 的一种")
        elif m.via == "parent":
            matched.append(MatchedProduct(m.name, m.share, "parent", path, 0.0))
            reasons.append(
                f"主营 {m.name}（{fmt_share(m.share)}），需求“{item}”是 {m.name} 的一种，需核实具体型号"
            )
        elif m.via == "context" and for_product:
            reasons.append(
                f"还生产 {for_product} 的另一种上游材料 {m.name}（{fmt_share(m.share)}），熟悉该产业链"
            )
    for text, share, sim, kind in similar:
        if text in seen or sim <= 0:
            continue
        seen.add(text)
        if kind == "product":
            matched.append(MatchedProduct(text, share, "similar", None, round(sim, 4)))
            reasons.append(f"产品 {text}（{fmt_share(share)}）与需求“{item}”名称相近（相似度 {sim:.2f}）")
        elif kind == "description":
            reasons.append(f"企业简介提到：“{text[:60]}”（相似度 {sim:.2f}）")
    if region is not None:
        where = place(firm.province, firm.city) or "所在地未知"
        if region.contains(firm):
            reasons.append(f"位于 {where}，为区内企业，可作为本地配套")
        elif firm.country != "中国":
            reasons.append(f"位于 {firm.country}，为境外企业，可作为招商/引进对象")
        else:
            reasons.append(f"位于 {where}，为区外企业，可作为招商对象")
    tags = [t for t in firm.tags if t != "listed"]
    if is_specialised(firm) or firm.scale in SME_SCALES:
        bits = [*tags] + ([SCALE_LABELS[firm.scale]] if firm.scale in SCALE_LABELS else [])
        reasons.append("企业类型：" + "、".join(bits))
    return matched, reasons
