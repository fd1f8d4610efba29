"""Normalisation of a firm's published product / segment list into :class:`Product` records.

Segment reports are messy (see the chainkg README). :func:`clean_products` is the one place
that turns them into clean products; the importer stores its output and shows its warnings.

Rules (applied in this order, each problem gives one warning):

1. Names are normalised with :func:`normalize_text`; empty names are dropped.
2. Elimination / reconciliation lines (分部间抵销, 抵销, 平衡项目, 调整项目, 内部交易 …) are dropped,
   whatever their share: they are accounting lines, not products.
3. A negative share is dropped together with its line (only eliminations are negative).
4. Shares above 1 are clamped to 1 (rounding in the published reports). A share that is not a
   number becomes ``None`` (unknown) here; the importer's schema rejects such a record before it
   gets here (an error naming the field, e.g. ``products.0.share``), so stored data never has one.
5. Duplicates (same :func:`normalize_key`) are merged into one product with the **maximum** share.
   Duplicates come from overlapping breakdowns (by product and by segment, or the same table
   published twice), so summing would double count; the maximum is the best lower bound of the
   real revenue share.
6. Non-product segments (其他, 其他业务, 其他主营业务, …分部 …) are **kept** (they are real
   revenue) but :func:`is_capability` says False for them, so the engine never indexes them as
   something the firm can make.

The output is ordered by share, descending (unknown shares last), then by first appearance.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .corpus import Product
from .text import cached_key, normalize_text

_ELIMINATION_RE = re.compile(
    r"(抵销|抵消|冲销|平衡项目|调整项目|调节项目|合并调整|内部交易|分部间|减[：:]|elimination|adjustment)",
    re.IGNORECASE,
)
_NON_PRODUCT_KEYS = frozenset(
    {
        "其他",
        "其它",
        "其他业务",
        "其它业务",
        "其他业务收入",
        "其他主营业务",
        "其他产品",
        "其他收入",
        "其他行业",
        "其他业务其他",
        "主营业务",
        "合计",
        "总计",
        "小计",
        "other",
        "others",
    }
)
_NON_PRODUCT_RE = re.compile(r"(分部$|^其他|^其它|^合计|^总计|^小计|补充$|^境内$|^境外$|^国内$|^国外$|地区$)")


def is_well_formed(name: str) -> bool:
    """Whether a product name extracted from text reads as a name: brackets balanced (not
    ``半导体二极管(`` cut mid-phrase) and not a sentence fragment (``是金属聚合物``). Product graphs
    mined from reports carry such fragments; a chain node or kind must not be one."""
    text = normalize_text(name)
    if not text or text.startswith("是"):
        return False
    return text.count("(") == text.count(")") and text.count("[") == text.count("]")


def is_elimination(name: str) -> bool:
    """True for accounting lines such as 分部间抵销 / 平衡项目 that are not revenue of a product."""
    return bool(_ELIMINATION_RE.search(name))


def is_capability(name: str) -> bool:
    """Whether a product name describes something the firm makes or provides.

    False for segment / residual lines (其他业务, 华东分部, 境外 …) and elimination lines.
    """
    key = cached_key(name)
    if not key or key in _NON_PRODUCT_KEYS:
        return False
    return not (is_elimination(key) or _NON_PRODUCT_RE.search(key))


def _parse_share(value: Any) -> tuple[float | None, bool]:
    """Returns (share, ok); ok is False when a present value could not be read as a number."""
    if value is None or value == "":
        return None, True
    try:
        share = float(value)
    except (TypeError, ValueError):
        return None, False
    if math.isnan(share) or math.isinf(share):
        return None, False
    return share, True


def clean_products(raw: Iterable[Mapping[str, Any] | Product]) -> tuple[list[Product], list[str]]:
    """Clean one firm's raw product list; returns ``(products, warnings)``.

    ``raw`` items are mappings with ``name`` and optional ``share`` (or :class:`Product`). Never
    raises on messy values: every problem becomes a human-readable warning (Chinese, with the
    English gist) and the documented normalisation is applied.
    """
    warnings: list[str] = []
    merged: dict[str, tuple[str, float | None, int]] = {}  # key -> (name, share, first position)
    for position, item in enumerate(raw):
        if isinstance(item, Product):
            raw_name: Any = item.name
            raw_share: Any = item.share
        else:
            raw_name = item.get("name")
            raw_share = item.get("share")
        name = normalize_text(str(raw_name)) if raw_name is not None else ""
        if not name:
            warnings.append(f"第{position + 1}项产品名称为空，已忽略 (empty product name dropped)")
            continue
        share, ok = _parse_share(raw_share)
        if not ok:
            warnings.append(
                f"产品“{name}”的营收占比“{raw_share}”不是数字，按未知处理 (non-numeric share treated as unknown)"
            )
        if is_elimination(name):
            warnings.append(
                f"“{name}”是抵销/调整项目，不是产品，已删除 (elimination/reconciliation line dropped)"
            )
            continue
        if share is not None and share < 0:
            warnings.append(
                f"产品“{name}”的营收占比为负数（{share:.4g}），已删除该行 (negative share: line dropped)"
            )
            continue
        if share is not None and share > 1:
            warnings.append(
                f"产品“{name}”的营收占比 {share:.4g} 超过 1，已截断为 1 (share above 1 clamped to 1)"
            )
            share = 1.0
        key = cached_key(name)  # normalize_key, memoised: product names repeat across firms
        if key in merged:
            old_name, old_share, first = merged[key]
            best = old_share if share is None else share if old_share is None else max(old_share, share)
            warnings.append(
                f"产品“{name}”重复出现，已合并并取较大的营收占比 (duplicate product merged, max share kept)"
            )
            merged[key] = (old_name, best, first)
            continue
        merged[key] = (name, share, position)
        if not is_capability(name):
            warnings.append(
                f"“{name}”是分部/其他类收入，保留但不作为可生产的产品参与匹配 "
                "(non-product segment kept, not indexed as a capability)"
            )
    ordered = sorted(merged.values(), key=lambda v: (v[1] is None, -(v[1] or 0.0), v[2]))
    return [Product(name=n, share=s) for n, s, _ in ordered], warnings
