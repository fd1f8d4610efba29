"""Display labels: the one home of the Chinese words that the dashboard, the report files (HTML, CSV,
XLSX) and the CLI tables show for the codes of the API (firm scales and tags, chain segments,
weakness levels, candidate lists, chain sources) and for places.

JSON and the API keep the codes: they are the contract. Only what a bureau user reads goes through
these labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from recommender.explain import SCALE_LABELS, place

if TYPE_CHECKING:
    from jinja2 import Environment

SCALES: dict[str, str] = {**SCALE_LABELS, "unknown": "规模未知"}
TAGS: dict[str, str] = {"listed": "上市公司"}  # the other tags are Chinese already
SEGMENTS: dict[str, str] = {"upstream": "上游", "midstream": "中游", "downstream": "下游"}
LEVELS: dict[str, str] = {"high": "高", "medium": "中", "low": "低"}
KINDS: dict[str, str] = {"target": "招商目标", "local": "本地配套"}
SOURCES: dict[str, str] = {"file": "文件导入", "graph": "产品图谱生成", "api": "接口提交"}
# What an empty candidate list means (no firm passed the engine's relevance floor).
EMPTY_LISTS: dict[str, str] = {
    "target": "企业库中区域外暂无匹配度达标的企业（可扩充企业库，或组织技术攻关）",
    "local": "本地暂无匹配度达标的企业（本地零供给，宜作为招商引进方向）",
}
OUTCOMES: dict[str, str] = {"created": "已创建", "updated": "已更新", "unchanged": "未变"}


def _code(value: object) -> str:
    """A code as text: enums (StrEnum) by their value."""
    return str(getattr(value, "value", value))


def scale_label(code: object) -> str:
    """``small`` → 小型企业; a missing scale is unknown, a code without a label shows as is."""
    if code is None or code == "":
        return SCALES["unknown"]
    return SCALES.get(_code(code), _code(code))


def tag_label(tag: str) -> str:
    return TAGS.get(tag, tag)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{float(value):.0%}"


def cny(value: float | None) -> str:
    return "—" if not value else f"{float(value) / 1e4:,.0f} 万元"


def urlq(value: object) -> str:
    return quote(str(value), safe="")


def template_environment(folder: str | Path, **globals: Any) -> Environment:
    """A Jinja2 environment over ``folder`` (HTML autoescaped) with the shared filters (pct, cny,
    urlq, place, scale, tag) and label maps (segments, levels, kinds, sources); ``globals`` add to them."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(folder)), autoescape=select_autoescape(["html"]))
    env.filters.update(pct=pct, cny=cny, urlq=urlq, place=place, scale=scale_label, tag=tag_label)
    env.globals.update(
        segments=SEGMENTS, levels=LEVELS, kinds=KINDS, sources=SOURCES, empty_lists=EMPTY_LISTS
    )
    env.globals.update(globals)
    return env
