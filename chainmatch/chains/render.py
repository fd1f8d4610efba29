"""The investment map as files: JSON, CSV (UTF-8 with BOM, opens in Excel), XLSX and a standalone
HTML report (inline SVG pictures and CSS: it opens offline and prints)."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from chainmatch.chains import investmap, svg
from chainmatch.chains.schemas import ChainReport, WeakLink
from chainmatch.exports import csv_bytes, xlsx_append
from chainmatch.geography import country_name
from chainmatch.labels import KINDS, LEVELS, SEGMENTS, place, scale_label, tag_label, template_environment
from models.matching import MatchResult
from recommender.explain import DOMESTIC

TEMPLATES = Path(__file__).with_name("templates")


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"
    HTML = "html"


MEDIA_TYPES: dict[ReportFormat, str] = {
    ReportFormat.JSON: "application/json",
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.HTML: "text/html; charset=utf-8",
}


def filename(report: ChainReport, fmt: ReportFormat) -> str:
    region = place(report.region.province, report.region.city)
    return f"招商图谱_{report.chain.id}_{region}_{report.generated_at:%Y%m%d}.{fmt.value}"


def render(report: ChainReport, fmt: ReportFormat) -> bytes:
    if fmt is ReportFormat.JSON:
        return report.model_dump_json(indent=2).encode()
    if fmt is ReportFormat.CSV:
        return to_csv(report)
    if fmt is ReportFormat.XLSX:
        return to_xlsx(report)
    return to_html(report).encode()


# --------------------------------------------------------------------------- rows
CANDIDATE_COLUMNS = [
    "薄弱排名 rank",
    "环节 node_id",
    "环节 link",
    "分段 segment",
    "薄弱度 score",
    "等级 level",
    "产品 product",
    "链主申报 declared",
    "用于 for_product",
    "名单 list",
    "名次 position",
    "企业 firm_id",
    "企业名称 firm",
    "省份 province",
    "城市 city",
    "国家 country",
    "规模 scale",
    "标签 tags",
    "匹配得分 match_score",
    "匹配产品 matched_products",
    "理由 reasons",
]


def _candidate_row(
    link: WeakLink | None, entry_rank: int | None, product: Any, kind: str, position: int, m: MatchResult
) -> list[Any]:
    return [
        entry_rank,
        link.node_id if link else "",
        link.name if link else "",
        SEGMENTS.get(str(link.segment), "") if link else "",
        link.score if link else None,
        LEVELS.get(link.level or "", "") if link else "",
        product.product,
        "是" if product.declared else "否",
        product.for_product or "",
        KINDS[kind],
        position,
        m.firm_id,
        m.name,
        m.province or "",
        m.city or "",
        m.country,
        scale_label(m.scale),
        "、".join(tag_label(t) for t in m.tags),
        m.score,
        "、".join(p.name for p in m.matched_products),
        "；".join(m.reasons),
    ]


def candidate_rows(report: ChainReport, kind: str | None = None) -> Iterator[list[Any]]:
    links = {lk.node_id: lk for lk in report.assessment.links}
    for entry in report.investment_map:
        link = links.get(entry.node_id)
        for product in entry.products:
            lists = (("target", product.investment_targets), ("local", product.local_suppliers))
            for list_kind, results in lists:
                if kind is not None and list_kind != kind:
                    continue
                for position, m in enumerate(results, start=1):
                    yield _candidate_row(link, entry.rank, product, list_kind, position, m)


def to_csv(report: ChainReport) -> bytes:
    """Every cell through the export guard: names, tags, products and reasons come from leaders and
    imports, and reach the bureau's spreadsheet as text, never as formulas."""
    return csv_bytes(CANDIDATE_COLUMNS, candidate_rows(report))


# --------------------------------------------------------------------------- XLSX
def to_xlsx(report: ChainReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    head_fill = PatternFill("solid", fgColor="263238")
    head_font = Font(color="FFFFFF", bold=True)

    def sheet(title: str, columns: list[str], rows: list[list[Any]], widths: dict[int, int]) -> Any:
        ws = book.create_sheet(title)
        xlsx_append(ws, columns)
        for cell in ws[1]:
            cell.fill, cell.font = head_fill, head_font
            cell.alignment = Alignment(vertical="center", wrap_text=True)
        for row in rows:
            xlsx_append(ws, row)  # guarded, typed as strings: data never becomes a formula
        ws.freeze_panes = "A2"
        if rows:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
        for i in range(1, len(columns) + 1):
            ws.column_dimensions[get_column_letter(i)].width = widths.get(i, 14)
        return ws

    parts = list(report.assessment.weights)
    labels = {p.name: p.label for lk in report.assessment.links for p in lk.parts}
    link_rows = []
    for lk in report.assessment.links:
        points = {p.name: p.points for p in lk.parts}
        declared = lk.declared
        link_rows.append(
            [
                lk.rank,
                lk.node_id,
                lk.name,
                SEGMENTS.get(str(lk.segment), ""),
                lk.score,
                LEVELS.get(lk.level or "", "应用市场"),
                *[points.get(p) for p in parts],
                lk.local_makers,
                lk.elsewhere_makers,
                lk.abroad_makers,
                lk.hhi,
                "、".join(lk.zero_source_products),
                "、".join(lk.single_source_products),
                declared.items,
                declared.max_import_share,
                declared.max_risk_level,
                declared.annual_demand_cny or None,
                "；".join(lk.flags),
            ]
        )
    ws = sheet(
        "薄弱环节",
        [
            "排名",
            "环节id",
            "环节",
            "分段",
            "薄弱度",
            "等级",
            *[f"{labels.get(p, p)}（分）" for p in parts],
            "本地生产企业",
            "省外生产企业",
            "境外生产企业",
            "HHI",
            "本地零供给产品",
            "本地单一来源产品",
            "链主申报项",
            "最高进口占比",
            "最高风险等级",
            "申报年需求（元）",
            "研判发现",
        ],
        link_rows,
        {2: 16, 3: 22, 16: 30, 17: 30, 23: 60},
    )
    for row in ws.iter_rows(min_row=2, min_col=5, max_col=5):
        for cell in row:
            if isinstance(cell.value, int | float):
                colour = svg.score_colour(float(cell.value)).lstrip("#").upper()
                cell.fill = PatternFill("solid", fgColor=colour)
                cell.font = Font(color="FFFFFF" if cell.value >= 30 else "000000", bold=True)
    for kind, title in (("target", "招商目标"), ("local", "本地配套")):
        sheet(title, CANDIDATE_COLUMNS, list(candidate_rows(report, kind)), {3: 20, 7: 16, 13: 20, 21: 80})
    # a sheet per province (and one for abroad): the map's candidates there, best first
    map_columns = [
        "企业 firm",
        "企业id firm_id",
        "所在地 place",
        "地点类别 place_class",
        "城市 city",
        "国家 country",
        "规模 scale",
        "标签 tags",
        "最高匹配得分 best_score",
        "环节 link",
        "产品 product",
        "名单 list",
        "名次 rank",
        "理由 reasons",
    ]
    candidates, provinces, _countries, _ = investmap.report_map(report)
    areas: dict[str, list[Any]] = defaultdict(list)
    for c in candidates:
        areas[(c.province or "省份未知") if c.country == DOMESTIC else "境外"].append(c)
    order = [p.province for p in provinces] + [a for a in ("省份未知", "境外") if a in areas]
    for area in order:
        rows = [
            [
                c.name,
                c.firm_id,
                c.place,
                c.place_label,
                c.city or "",
                c.country,
                scale_label(c.scale),
                "、".join(tag_label(t) for t in c.tags),
                c.best_score,
                r.link,
                r.product,
                KINDS[r.kind],
                r.rank,
                "；".join(r.reasons),
            ]
            for c in areas[area]
            for r in c.rankings
        ]
        sheet(area[:31], map_columns, rows, {1: 20, 3: 18, 10: 18, 11: 16, 14: 80})
    gap_rows = [
        [
            group.leader.name,
            group.leader.id,
            c.for_product,
            c.need,
            c.node_id or "",
            c.local_makers,
            c.elsewhere_makers,
            c.abroad_makers,
            "是" if c.declared else "否",
            c.reason,
        ]
        for group in report.gap_candidates.leaders
        for c in group.candidates
    ]
    sheet(
        "链主缺口候选",
        [
            "链主企业",
            "企业id",
            "链主产品",
            "上游需求",
            "所属环节",
            "本地生产",
            "省外生产",
            "境外生产",
            "已申报",
            "说明",
        ],
        gap_rows,
        {1: 16, 3: 20, 4: 18, 10: 70},
    )
    about = book.create_sheet("说明")
    region = place(report.region.province, report.region.city)
    about_rows: list[list[Any]] = [
        ["产业链", f"{report.chain.name}（{report.chain.id}，第 {report.chain.version} 版）"],
        ["区域", region],
        ["生成时间", f"{report.generated_at:%Y-%m-%d %H:%M} UTC"],
        ["每张名单", f"前 {report.k} 家"],
        ["评分方法", report.assessment.method],
        *[[f"权重 {labels.get(p, p)}", w] for p, w in report.assessment.weights.items()],
        ["说明", "清单申报数据仅含本区域、调用者有权查看的链主清单；企业数据来自产业大脑企业库。"],
    ]
    for row in about_rows:
        xlsx_append(about, row)
    about.column_dimensions["A"].width = 22
    about.column_dimensions["B"].width = 120
    del book[book.sheetnames[0]]  # the default empty sheet
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- HTML
_env: Environment | None = None


def environment() -> Environment:
    global _env
    if _env is None:
        _env = template_environment(TEMPLATES, score_colour=svg.score_colour, part_colours=svg.PART_COLOURS)
    return _env


def to_html(report: ChainReport) -> str:
    links = {lk.node_id: lk for lk in report.assessment.links}
    graph = svg.chain_graph(
        report.assessment.links,
        report.chain.edges,
        href=lambda lk: (
            f"#link-{lk.node_id}"
            if any(e.node_id == lk.node_id for e in report.investment_map)
            else "#weak-links"
        ),
        title=f"{report.chain.name} 产业链图谱",
    )
    candidates, provinces, countries, _ = investmap.report_map(report)
    by_area: dict[str, list[Any]] = defaultdict(list)
    for c in candidates:
        by_area[c.province or "" if c.country == DOMESTIC else country_name(c.country) or c.country].append(c)
    china_map, world_map = investmap.pictures_of(
        report.region,
        provinces,
        countries,
        unplaced=sum(1 for c in candidates if c.country == DOMESTIC and not c.province),
        province_href=lambda name: f"#province-{name}",
        country_href=lambda name: f"#country-{name}",
    )
    template = environment().get_template("report.html")
    return template.render(
        china_map=Markup(china_map),
        world_map=Markup(world_map),
        map_provinces=provinces,
        map_countries=countries,
        map_by_area=by_area,
        report=report,
        links=links,
        region=place(report.region.province, report.region.city),
        graph=Markup(graph),
        places=Markup(svg.place_bars(report.assessment.places, title="生产企业地区分布")),
        score_bars={
            lk.node_id: Markup(svg.score_bar(lk.parts)) for lk in report.assessment.links if lk.parts
        },
        supply_links=[lk for lk in report.assessment.links if lk.score is not None],
        high=sum(1 for lk in report.assessment.links if lk.level == "high"),
        zero_products=sum(
            len(lk.zero_source_products) for lk in report.assessment.links if lk.score is not None
        ),
    )
