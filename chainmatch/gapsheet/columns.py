"""Which column of a gap-list sheet fills which item field: header names, money units, percentages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from recommender.text import normalize_text

# Fields of GapItemCreate a column may fill, plus TEXT: a free-text column read as the item's name.
TEXT = "text"
IGNORED = "ignored"
FIELD_LABELS: dict[str, str] = {
    "name": "名称",
    "description": "描述",
    "for_product": "用途",
    "spec": "规格",
    "import_share": "进口占比",
    "current_source_country": "来源国",
    "annual_demand_cny": "年需求",
    "risk_level": "风险等级",
    TEXT: "自由文本",
}
# Normalised header (lower case, no spaces or punctuation, units in brackets removed) → field.
HEADERS: dict[str, str] = {}
for _field, _names in {
    "name": (
        "名称 产品名称 物料名称 零部件 零部件名称 零件名称 部件名称 短板环节 产品 物料 部件 材料 材料名称 元器件 "
        "元器件名称 器件名称 品名 设备名称 关键零部件 关键部件 关键材料 短板产品 薄弱环节 卡脖子环节 断链环节 风险物料 "
        "风险产品 产品/物料 物料/产品 "
        "name product item component material part partname productname itemname materialname "
        "componentname weaklink"
    ),
    "description": (
        "描述 说明 风险描述 风险说明 情况说明 问题描述 现状 现状描述 备注 详细描述 断供风险 风险情况 "
        "description desc notes note remark remarks riskdescription details"
    ),
    "for_product": (
        "用途 用于 配套产品 应用产品 所用产品 配套整机 用于产品 应用 应用领域 使用产品 "
        "forproduct usedin enduse application use"
    ),
    "spec": (
        "规格 技术参数 规格型号 型号规格 技术指标 参数 型号 技术要求 性能指标 规格参数 "
        "spec specs specification specifications technicalparameters parameters model"
    ),
    "import_share": (
        "进口占比 进口比例 进口比重 进口依存度 进口份额 进口占比率 进口依赖度 "
        "importshare importratio import importdependence importdependency"
    ),
    "current_source_country": (
        "来源国 主要来源国 供应国 来源国家 进口来源国 主要供应国 原产国 来源地 主要进口国 进口国 供应商国别 国别 "
        "sourcecountry country suppliercountry countryoforigin origin"
    ),
    "annual_demand_cny": (
        "年需求 年采购额 年采购金额 年需求金额 年需求额 年采购量 年用量 采购额 采购金额 年度采购额 年度需求 "
        "annualdemand annualpurchases annualspend annualdemandcny annualpurchase"
    ),
    "risk_level": "风险等级 风险级别 风险程度 风险 等级 断供风险等级 risk risklevel riskgrade",
    TEXT: (
        "内容 清单内容 风险点 短板描述 需求描述 文本 原文 条目 短板 需求 短板弱项 风险清单 断链断供风险 "
        "text content freetext weaklinktext entry"
    ),
    IGNORED: "序号 编号 行号 no no. # index id seq",
}.items():
    for _name in _names.split():
        HEADERS[_name] = _field

MONEY_UNITS = {"亿元": 1e8, "万元": 1e4, "千元": 1e3, "元": 1.0, "亿": 1e8, "万": 1e4, "cny": 1.0, "rmb": 1.0}
_BRACKETS = re.compile(r"[(（\[【].*?[)）\]】]")


@dataclass
class ColumnMap:
    fields: dict[str, int]  # field → column index (the first column naming it)
    units: dict[str, float]  # annual_demand_cny: the money unit its header states
    percent_header: set[str]  # fields whose header says the values are percentages
    ignored: list[str]  # headers not understood (reported; their cells are not used)
    mapping: dict[str, str]  # header as written → field, for the report


def normalize_header(header: str) -> str:
    text = normalize_text(header).lower()
    text = _BRACKETS.sub("", text)
    text = re.sub(r"[\s_\-:：*·.。%％]+", "", text) or text.replace(" ", "")
    return text


def money_unit(text: str) -> float | None:
    lowered = normalize_text(text).lower()
    for unit, factor in MONEY_UNITS.items():
        if unit in lowered:
            return factor
    return None


def map_columns(headers: list[str]) -> ColumnMap:
    fields: dict[str, int] = {}
    units: dict[str, float] = {}
    percent: set[str] = set()
    ignored: list[str] = []
    mapping: dict[str, str] = {}
    for index, header in enumerate(headers):
        if not header:
            continue
        target = HEADERS.get(normalize_header(header))
        if target is None:
            ignored.append(header)
            continue
        if target == IGNORED:
            continue
        if target in fields:
            ignored.append(header)  # a second column for the same field: the first one counts
            continue
        fields[target] = index
        mapping[header] = target
        if target == "annual_demand_cny":
            unit = money_unit("".join(_BRACKETS.findall(normalize_text(header))) or header)
            if unit is not None:
                units[target] = unit
        if "%" in header or "％" in header or "百分比" in header:
            percent.add(target)
    if "name" not in fields and TEXT not in fields:
        named = [i for i, h in enumerate(headers) if h]
        if len(named) == 1:  # a single column of free text, whatever its header says
            fields[TEXT] = named[0]
            mapping[headers[named[0]]] = TEXT
            ignored = [h for h in ignored if h != headers[named[0]]]
    return ColumnMap(fields=fields, units=units, percent_header=percent, ignored=ignored, mapping=mapping)
