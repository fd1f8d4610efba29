"""The pure parts of chains: the graph walk on a small hand-made product graph, the score helpers,
the SVG pictures, report files with hostile text, and report jobs on disk."""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest

from chainmatch.chains.assessment import level_of
from chainmatch.chains.builder import build_from_graph
from chainmatch.chains.corpus import CorpusView, FirmInfo
from chainmatch.chains.jobs import JobNotFound, ReportJobs
from chainmatch.chains.render import ReportFormat, render
from chainmatch.chains.schemas import ChainReport, PlaceCount, ScorePart, WeakLink, WeakLinkAssessment
from chainmatch.chains.supply import hhi, supply_flag
from chainmatch.chains.svg import chain_graph, place_bars, score_bar, score_colour
from chainmatch.errors import ChainError
from models.chain import ChainEdgePublic, ChainFromGraph, ChainPublic, Segment
from models.common import utcnow
from models.gap import RegionIn
from recommender.text import normalize_key


def view_of(relations: list[tuple[str, str, str]], makers: dict[str, list[str]]) -> CorpusView:
    view = CorpusView()
    for firm_ids in makers.values():
        for firm_id in firm_ids:
            view.firms.setdefault(
                firm_id, FirmInfo(firm_id, firm_id, "广东省", None, "中国", "small", (), None)
            )
    for product, firm_ids in makers.items():
        for firm_id in firm_ids:
            view.makers_by_key.setdefault(normalize_key(product), {})[firm_id] = 0.5
            view.names.setdefault(normalize_key(product), product)
    for product, kind, target in relations:
        p, t = normalize_key(product), normalize_key(target)
        view.names.setdefault(p, product)
        view.names.setdefault(t, target)
        if kind == "up":
            view.upstream.setdefault(p, []).append(t)
            view.used_by.setdefault(t, []).append(p)
        else:
            view.children.setdefault(p, []).append(t)
            view.parents.setdefault(t, []).append(p)
    return view


GRAPH = [
    ("质谱仪", "sub", "三重四极杆质谱仪"),
    ("质谱仪", "up", "分子泵"),
    ("质谱仪", "up", "离子源"),
    ("分子泵", "sub", "涡轮分子泵"),
    ("分子泵", "up", "轴承"),
    ("分子泵", "up", "无人生产的零件"),
    ("轴承", "up", "钢球"),
    ("钢球", "up", "分子泵"),  # a cycle back into the chain
    ("环境监测站", "up", "质谱仪"),
]
MAKERS = {"涡轮分子泵": ["A"], "离子源": ["B"], "轴承": ["C"], "质谱仪": ["L"], "钢球": ["D"]}


def test_graph_walk_inherits_needs_groups_kinds_and_stays_acyclic() -> None:
    view = view_of(GRAPH, MAKERS)
    chain = build_from_graph(
        view, ChainFromGraph(id="t", name="t", products=["三重四极杆质谱仪"], region=RegionIn(province="粤"))
    )
    nodes = {n.name: n for n in chain.nodes}
    assert nodes["三重四极杆质谱仪"].segment is Segment.MIDSTREAM
    # needs of the broader kind (质谱仪) are inherited; 分子泵 groups its narrower kind
    assert {"分子泵", "离子源"} <= set(nodes) and nodes["分子泵"].products == ["分子泵", "涡轮分子泵"]
    # beyond the direct needs, only materials somebody makes: 轴承 (made by C) but not the unmade part
    assert "轴承" in nodes and "无人生产的零件" not in nodes
    ids = {n.name: n.id for n in chain.nodes}
    edges = {(e.source, e.target) for e in chain.edges}
    assert (ids["分子泵"], ids["三重四极杆质谱仪"]) in edges and (ids["轴承"], ids["分子泵"]) in edges
    assert chain.region is not None and chain.region.province == "广东省"
    deeper = build_from_graph(view, ChainFromGraph(id="t", name="t", products=["质谱仪"], upstream_depth=3))
    assert "钢球" in {n.name for n in deeper.nodes}
    # 钢球 → 分子泵 closes a cycle: the edge is kept (it is in the graph) but no node is duplicated
    assert len({n.name for n in deeper.nodes}) == len(deeper.nodes)
    downstream = [n for n in deeper.nodes if n.segment is Segment.DOWNSTREAM]
    assert [n.name for n in downstream] == ["环境监测站"]


def test_graph_walk_leaves_out_text_fragments() -> None:
    # Product graphs mined from reports carry cut phrases; they become neither nodes nor kinds.
    graph = [
        *GRAPH,
        ("质谱仪", "up", "是金属聚合物"),
        ("质谱仪", "up", "半导体二极管("),
        ("分子泵", "sub", "涡轮分子泵（复合"),
    ]
    makers = {**MAKERS, "是金属聚合物": ["E"], "半导体二极管(": ["F"], "涡轮分子泵（复合": ["G"]}
    chain = build_from_graph(view_of(graph, makers), ChainFromGraph(id="t", name="t", products=["质谱仪"]))
    names = {n.name for n in chain.nodes} | {p for n in chain.nodes for p in n.products}
    assert {"分子泵", "涡轮分子泵", "离子源"} <= names
    assert not names & {"是金属聚合物", "半导体二极管(", "涡轮分子泵(复合", "涡轮分子泵（复合"}


def test_graph_walk_respects_max_nodes_and_rejects_unknown_products() -> None:
    view = view_of(GRAPH, MAKERS)
    small = build_from_graph(
        view, ChainFromGraph(id="t", name="t", products=["质谱仪"], max_nodes=3, downstream_depth=0)
    )
    assert len(small.nodes) == 3
    # under a budget, the needs somebody makes come first
    assert {n.name for n in small.nodes} == {"质谱仪", "分子泵", "离子源"}
    with pytest.raises(ChainError, match=r"(不存在|没有)"):
        build_from_graph(view, ChainFromGraph(id="t", name="t", products=["火星土壤"]))
    with pytest.raises(ChainError, match="上游"):
        build_from_graph(view, ChainFromGraph(id="t", name="t", products=["离子源"], upstream_depth=1))


def test_score_helpers() -> None:
    assert hhi([]) is None and hhi([0, 0]) is None
    assert hhi([5]) == 1.0 and abs((hhi([1, 1, 1, 1]) or 0) - 0.25) < 1e-12
    assert [level_of(s) for s in (60, 59.9, 40, 39.9)] == ["high", "medium", "medium", "low"]
    assert [supply_flag(n) for n in (0, 1, 2, 3)] == [
        "zero_source",
        "single_source",
        "few_sources",
        "supplied",
    ]
    assert score_colour(None) == "#b0bec5"
    assert score_colour(0) == "#2e7d32" and score_colour(100) == "#c62828" and score_colour(50) == "#f9a825"


def link(node_id: str, segment: Segment, score: float | None, name: str = "") -> WeakLink:
    return WeakLink(
        node_id=node_id,
        name=name or node_id,
        segment=segment,
        role="market" if score is None else "supply",
        products=[node_id],
        score=score,
        rank=None,
        level=None if score is None else level_of(score),
        parts=[
            ScorePart(name="local_gap", label="本地供给缺口", weight=0.35, value=1.0, points=35.0, detail="d")
        ],
        local_makers=0,
        elsewhere_makers=0,
        abroad_makers=0,
        places=[],
        hhi=None,
        zero_source_products=[],
        single_source_products=[],
        supply=[],
        declared={},  # type: ignore[arg-type]
        upstream_of=[],
        supplied_by=[],
        flags=["<script>alert(1)</script>"],
    )


def test_svg_layout_escapes_text_and_survives_cycles() -> None:
    links = [
        link("a", Segment.UPSTREAM, 80, "<b>&坏名字"),
        link("b", Segment.MIDSTREAM, 20),
        link("c", Segment.DOWNSTREAM, None),
        link("lonely", Segment.UPSTREAM, 50),
    ]
    edges = [ChainEdgePublic(source="a", target="b"), ChainEdgePublic(source="b", target="c")]
    picture = chain_graph(
        links, [*edges, ChainEdgePublic(source="c", target="a")], href=lambda lk: f"/x?n={lk.node_id}&r=1"
    )
    assert picture.startswith("<svg") and picture.endswith("</svg>")
    assert "<b>" not in picture and "&lt;b&gt;&amp;坏名字" in picture and "<script>" not in picture
    assert 'href="/x?n=a&amp;r=1"' in picture
    layered = chain_graph(links, edges)
    x_of = {
        node: float(layered.split(f'data-node="{node}"')[1].split('x="')[1].split('"')[0])
        for node in ("a", "b", "c", "lonely")
    }
    assert x_of["a"] < x_of["b"] < x_of["c"] and x_of["lonely"] == x_of["a"]
    bars = place_bars(
        [PlaceCount(place="广东省", makers=5, local=True), PlaceCount(place="境外·德国", makers=2)]
    )
    assert bars.count("<rect") == 2 and "#ef6c00" in bars
    assert "no makers" in place_bars([])
    assert score_bar(links[0].parts).count("<rect") == 2


def hostile_report() -> ChainReport:
    now = utcnow()
    bad = "泵\x08\x01<i>"
    chain = ChainPublic(
        id="x",
        name=bad,
        description=None,
        region_province="广东省",
        region_city=None,
        source="api",  # type: ignore[arg-type]
        version=1,
        nodes=[],
        edges=[],
        created_at=now,
        updated_at=now,
    )
    assessment = WeakLinkAssessment(
        chain_id="x",
        chain_name=bad,
        chain_version=1,
        region=RegionIn(province="广东省"),
        assessed_at=now,
        method="m",
        weights={"local_gap": 1.0},
        links=[link("a", Segment.UPSTREAM, 70, bad)],
        places=[],
        unmapped_declarations=[],
    )
    return ChainReport(
        chain=chain,
        region=RegionIn(province="广东省"),
        generated_at=now,
        k=1,
        assessment=assessment,
        investment_map=[],
        gap_candidates={
            "chain_id": "x",
            "region": {"province": "广东省"},
            "max_local_makers": 1,
            "leaders": [],
        },  # type: ignore[arg-type]
    )


def test_report_files_survive_control_characters_and_markup() -> None:
    from openpyxl import load_workbook

    report = hostile_report()
    book = load_workbook(io.BytesIO(render(report, ReportFormat.XLSX)))
    assert book["薄弱环节"].cell(2, 3).value == "泵<i>"
    html = render(report, ReportFormat.HTML).decode()
    assert "<i>" not in html and "&lt;i&gt;" in html
    assert (
        json.loads(render(report, ReportFormat.JSON))["chain"]["name"] == "泵<i>"
    )  # controls dropped on input


def test_report_jobs_on_disk(tmp_path: Path) -> None:
    jobs = ReportJobs(tmp_path / "reports")
    report = hostile_report()

    def work(progress):  # type: ignore[no-untyped-def]
        progress(1, 2, "一")
        progress(2, 2, "二")
        return report

    job = jobs.submit(work, owner_key_id=7, chain_id="x", region="广东省")
    deadline = time.monotonic() + 30
    while jobs.status(job.id, key_id=7).state not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
    status = jobs.status(job.id, key_id=7)
    assert status.state == "done" and status.percent == 100 and status.total == 2
    data, name = jobs.result(job.id, ReportFormat.CSV, key_id=7)
    assert name.endswith(".csv") and data.startswith("\ufeff".encode())
    assert (tmp_path / "reports" / job.id / "report.csv").exists()  # rendered once, then served from disk
    for attempt in ("../etc", "a/b", "x" * 80, ""):
        with pytest.raises(JobNotFound):
            jobs.status(attempt, key_id=7)
    with pytest.raises(JobNotFound):
        jobs.status(job.id, key_id=8)
    assert jobs.status(job.id, key_id=8, admin=True).state == "done"

    failing = jobs.submit(
        lambda progress: (_ for _ in ()).throw(RuntimeError("坏了")), owner_key_id=7, chain_id="x", region="r"
    )  # type: ignore[arg-type,return-value]
    while jobs.status(failing.id, key_id=7).state not in ("done", "failed"):
        time.sleep(0.05)
    assert jobs.status(failing.id, key_id=7).error == "坏了"
    with pytest.raises(JobNotFound):
        jobs.result(failing.id, ReportFormat.JSON, key_id=7)

    # a job whose process died reads as failed; old jobs are removed
    stale = jobs._load(job.id)
    stale.state, stale.updated_at = "running", utcnow() - timedelta(hours=1)
    (tmp_path / "reports" / job.id / "status.json").write_text(stale.model_dump_json())
    assert jobs.status(job.id, key_id=7).state == "failed"
    old = ReportJobs(tmp_path / "reports", ttl=timedelta(minutes=30))
    old.cleanup()
    assert not (tmp_path / "reports" / job.id).exists()
    jobs.shutdown()
    old.shutdown()
