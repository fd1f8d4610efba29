"""Chains on the sample cluster, in process (httpx.ASGITransport): definitions, weak-link assessment (scores, flags,
confidential declared data), gap candidates, the investment map in every format, report jobs."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import httpx
import pytest

from chainmatch.chains.store import read_definition_file
from chainmatch.db import make_engine
from models.regions import PROVINCES
from recommender.text import normalize_key
from tests.conftest import SAMPLE_DIR, World

CHAIN_ID = "precision-instruments-gd"
GD = "广东省"
# The sample's "true gaps": no Guangdong firm makes them (data/sample/README.md).
TRUE_GAPS = ("微通道板", "超导磁体", "液氦", "高速ADC芯片", "原子力显微镜探针")


pytestmark = pytest.mark.world(chain=True)  # the sample and its chain, in process


def client(world: World, role: str | None) -> httpx.Client:
    server, keys = world
    return server.client(getattr(keys, role) if role else None)


def sample_chain() -> dict[str, object]:
    data: dict[str, object] = json.loads((SAMPLE_DIR / "chain.json").read_text(encoding="utf-8"))
    return data


def declared_items() -> list[dict[str, object]]:
    lists = json.loads((SAMPLE_DIR / "gap_lists.json").read_text(encoding="utf-8"))
    return [item for gl in lists for item in gl["items"]]


# ------------------------------------------------------------------------------- definitions
def test_chains_are_listed_for_bureaus_and_admin_only(world: World) -> None:
    for role in ("admin", "bureau_gd", "bureau_js"):
        with client(world, role) as c:
            listing = c.get("/v1/chains")
        assert listing.status_code == 200
        mine = next(ch for ch in listing.json() if ch["id"] == CHAIN_ID)
        expected = sample_chain()
        assert mine["n_nodes"] == len(expected["nodes"]) and mine["n_edges"] == len(expected["edges"])  # type: ignore[arg-type]
        assert mine["region_province"] == GD and sum(mine["segments"].values()) == mine["n_nodes"]
    with client(world, "leader_a") as c:
        assert c.get("/v1/chains").status_code == 403
        assert c.get(f"/v1/chains/{CHAIN_ID}/weak-links").status_code == 403
    with client(world, None) as c:
        assert c.get("/v1/chains").status_code == 401


def test_read_returns_the_definition_as_imported(world: World) -> None:
    with client(world, "bureau_js") as c:
        chain = c.get(f"/v1/chains/{CHAIN_ID}").json()
        assert c.get("/v1/chains/no-such-chain").status_code == 404
    expected = sample_chain()
    assert [n["id"] for n in chain["nodes"]] == [n["id"] for n in expected["nodes"]]  # type: ignore[attr-defined]
    assert {(e["source"], e["target"]) for e in chain["edges"]} == {
        (e["source"], e["target"])
        for e in expected["edges"]  # type: ignore[attr-defined]
    }
    vacuum = next(n for n in chain["nodes"] if n["id"] == "vacuum")
    assert vacuum["segment"] == "upstream" and "涡轮分子泵" in vacuum["products"]


def test_create_validates_and_scopes_writes(world: World) -> None:
    body = {
        "id": "test-vacuum-js",
        "name": "真空泵",
        "nodes": [
            {"id": "pump", "name": "分子泵", "segment": "upstream", "products": ["分子泵", "涡轮分子泵"]},
            {"id": "ms", "name": "质谱仪", "segment": "midstream"},
        ],
        "edges": [{"source": "pump", "target": "ms"}],
    }
    with client(world, "bureau_js") as c:
        created = c.post("/v1/chains", json=body)
        assert created.status_code == 201, created.text
        # a bureau's chain defaults to its own region; a node without products is its own product
        assert created.json()["region_province"] == "江苏省"
        assert next(n for n in created.json()["nodes"] if n["id"] == "ms")["products"] == ["质谱仪"]
        assert c.post("/v1/chains", json=body).status_code == 409
        bad_edge = dict(body, id="bad-edge", edges=[{"source": "pump", "target": "nowhere"}])
        response = c.post("/v1/chains", json=bad_edge)
        assert response.status_code == 422 and "nowhere" in response.text
        duplicate = dict(body, id="dup-node", nodes=[body["nodes"][0], body["nodes"][0]])
        assert c.post("/v1/chains", json=duplicate).status_code == 422
        assert c.post("/v1/chains", json=dict(body, id="x", region={"province": GD})).status_code == 403
        # another region's chain can be read but not changed
        assert (
            c.put(f"/v1/chains/{CHAIN_ID}", json={k: v for k, v in body.items() if k != "id"}).status_code
            == 403
        )
        assert c.delete(f"/v1/chains/{CHAIN_ID}").status_code == 403
        revised = c.put(
            "/v1/chains/test-vacuum-js", json={k: v for k, v in body.items() if k != "id"} | {"name": "真空"}
        )
        assert (
            revised.status_code == 200 and revised.json()["version"] == 2 and revised.json()["name"] == "真空"
        )
        assert c.delete("/v1/chains/test-vacuum-js").status_code == 204
        assert c.get("/v1/chains/test-vacuum-js").status_code == 404
        assert "test-vacuum-js" not in [ch["id"] for ch in c.get("/v1/chains").json()]


def test_build_from_the_product_graph(world: World) -> None:
    body = {
        "id": "ms-graph",
        "name": "质谱仪（图谱生成）",
        "products": ["三重四极杆质谱仪"],
        "region": {"province": GD},
    }
    with client(world, "admin") as c:
        dry = c.post("/v1/chains/from-graph", params={"dry_run": True}, json=body)
        assert dry.status_code == 200, dry.text
        assert c.get("/v1/chains/ms-graph").status_code == 404  # a dry run stores nothing
        stored = c.post("/v1/chains/from-graph", json=body)
        assert stored.status_code == 201 and stored.json()["source"] == "graph"
        unknown = c.post("/v1/chains/from-graph", json=dict(body, id="nope", products=["不存在的产品XYZ"]))
        assert unknown.status_code == 422 and "不存在的产品XYZ" in unknown.text
    chain = stored.json()
    by_segment: dict[str, list[dict[str, object]]] = {}
    for node in chain["nodes"]:
        by_segment.setdefault(node["segment"], []).append(node)
    assert [n["name"] for n in by_segment["midstream"]] == ["三重四极杆质谱仪"]
    upstream_products = {normalize_key(p) for n in by_segment["upstream"] for p in n["products"]}  # type: ignore[attr-defined]
    # 三重四极杆质谱仪 is a kind of 质谱仪, so it inherits 质谱仪's upstream materials from relations.jsonl
    relations = [
        json.loads(line) for line in (SAMPLE_DIR / "relations.jsonl").read_text("utf-8").splitlines()
    ]
    needs = {
        normalize_key(r["target"])
        for r in relations
        if r["product"] == "质谱仪" and r["relation"] == "upstream_material"
    }
    assert needs and needs <= upstream_products
    midstream_id = by_segment["midstream"][0]["id"]
    assert len({e["source"] for e in chain["edges"] if e["target"] == midstream_id}) >= len(needs)


def test_yaml_and_json_definition_files(tmp_path: Path) -> None:
    import yaml

    data = sample_chain()
    path = tmp_path / "chain.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert read_definition_file(path) == read_definition_file(SAMPLE_DIR / "chain.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"id": "x", "name": "y", "nodes": []}', encoding="utf-8")
    from chainmatch.errors import ChainError

    with pytest.raises(ChainError, match="nodes"):
        read_definition_file(broken)


# ------------------------------------------------------------------------------- weak links
def test_weak_links_score_is_the_documented_sum_of_its_parts(world: World) -> None:
    with client(world, "bureau_gd") as c:
        response = c.get(f"/v1/chains/{CHAIN_ID}/weak-links")
    assert response.status_code == 200
    result = response.json()
    assert result["region"] == {"province": GD, "city": None}
    assert abs(sum(result["weights"].values()) - 1.0) < 1e-9
    links = result["links"]
    assert len(links) == len(sample_chain()["nodes"])  # type: ignore[arg-type]
    scored = [lk for lk in links if lk["score"] is not None]
    markets = [lk for lk in links if lk["score"] is None]
    assert markets and all(lk["segment"] == "downstream" and lk["role"] == "market" for lk in markets)
    assert links[: len(scored)] == scored  # supply links first, weakest first
    assert [lk["score"] for lk in scored] == sorted((lk["score"] for lk in scored), reverse=True)
    assert [lk["rank"] for lk in scored] == list(range(1, len(scored) + 1))
    for lk in scored:
        parts = {p["name"]: p for p in lk["parts"]}
        assert set(parts) == set(result["weights"])
        assert all(0 <= p["value"] <= 1 for p in parts.values())
        assert abs(sum(p["points"] for p in parts.values()) - lk["score"]) < 0.2
        expected_level = "high" if lk["score"] >= 60 else "medium" if lk["score"] >= 40 else "low"
        assert lk["level"] == expected_level
        # the local-gap part is the mean of 1/(1+local makers) over the node's products
        gap = sum(1 / (1 + s["local_makers"]) for s in lk["supply"]) / len(lk["supply"])
        assert abs(parts["local_gap"]["value"] - gap) < 1e-3
        assert lk["zero_source_products"] == [s["product"] for s in lk["supply"] if s["local_makers"] == 0]
        if lk["hhi"] is not None:
            shares = [pc["makers"] / sum(x["makers"] for x in lk["places"]) for pc in lk["places"]]
            assert abs(lk["hhi"] - sum(s * s for s in shares)) < 1e-3
        if not lk["declared"]["items"]:
            assert parts["import_share"]["value"] == parts["risk"]["value"] == parts["demand"]["value"] == 0
    # declared links outrank undeclared ones here: the sample's leaders declared the weak links
    declared = [lk for lk in scored if lk["declared"]["items"]]
    assert declared and scored[0]["declared"]["items"] > 0


def test_true_gaps_are_zero_source_and_declared_data_is_read(world: World) -> None:
    with client(world, "bureau_gd") as c:
        links = c.get(f"/v1/chains/{CHAIN_ID}/weak-links").json()["links"]
    supply = {s["product"]: s for lk in links for s in lk["supply"]}
    for gap in TRUE_GAPS:
        assert supply[gap]["local_makers"] == 0 and supply[gap]["flag"] == "zero_source"
        assert supply[gap]["elsewhere_makers"] + supply[gap]["abroad_makers"] >= 3
        link = next(lk for lk in links if gap in lk["products"])
        assert gap in link["zero_source_products"] and any(gap in f for f in link["flags"])
    cryo = next(lk for lk in links if lk["node_id"] == "cryo")
    declared = {d["item"]: d for d in cryo["declared"]["declarations"]}
    raw = {i["name"]: i for i in declared_items()}
    assert {"超导磁体", "液氦"} <= set(declared)
    assert declared["液氦"]["import_share"] == raw["液氦"]["import_share"]
    assert cryo["declared"]["max_risk_level"] == max(d["risk_level"] for d in declared.values())
    # every declared item of the region is either mapped to a node or listed as unmapped
    with client(world, "bureau_gd") as c:
        result = c.get(f"/v1/chains/{CHAIN_ID}/weak-links").json()
    mapped = sum(lk["declared"]["items"] for lk in result["links"])
    assert mapped + len(result["unmapped_declarations"]) == len(declared_items())


def test_declared_gap_data_stays_in_its_region(world: World) -> None:
    """Gap lists are confidential: a bureau sees only its own region's; another region is 403."""
    with client(world, "bureau_js") as c:
        own = c.get(f"/v1/chains/{CHAIN_ID}/weak-links")
        other = c.get(f"/v1/chains/{CHAIN_ID}/weak-links", params={"region": "广东"})
        gaps = c.get(f"/v1/chains/{CHAIN_ID}/gap-candidates")
    assert own.status_code == 200 and own.json()["region"]["province"] == "江苏省"
    assert all(lk["declared"]["items"] == 0 for lk in own.json()["links"])
    assert own.json()["unmapped_declarations"] == []
    assert "谱锐" not in own.text and "GL-" not in own.text
    assert other.status_code == 403
    assert gaps.status_code == 200 and all(
        not c["declared"] for g in gaps.json()["leaders"] for c in g["candidates"]
    )
    with client(world, "admin") as c:
        admin = c.get(f"/v1/chains/{CHAIN_ID}/weak-links", params={"region": "粤"}).json()
        admin_js = c.get(f"/v1/chains/{CHAIN_ID}/weak-links", params={"region": "江苏"}).json()
    assert admin["region"]["province"] == GD
    assert sum(lk["declared"]["items"] for lk in admin["links"]) > 0
    assert sum(lk["declared"]["items"] for lk in admin_js["links"]) == 0
    # local and elsewhere swap sides with the region
    gd = {lk["node_id"]: lk for lk in admin["links"]}
    js = {lk["node_id"]: lk for lk in admin_js["links"]}
    for node_id, lk in gd.items():
        total = lk["local_makers"] + lk["elsewhere_makers"] + lk["abroad_makers"]
        assert (
            total
            == js[node_id]["local_makers"] + js[node_id]["elsewhere_makers"] + js[node_id]["abroad_makers"]
        )
        assert lk["abroad_makers"] == js[node_id]["abroad_makers"]


def test_gap_candidates_for_the_leaders(world: World) -> None:
    with client(world, "bureau_gd") as c:
        response = c.get(f"/v1/chains/{CHAIN_ID}/gap-candidates")
        loose = c.get(f"/v1/chains/{CHAIN_ID}/gap-candidates", params={"max_local": 3}).json()
    assert response.status_code == 200
    result = response.json()
    leaders = {g["leader"]["id"]: g for g in result["leaders"]}
    lists = json.loads((SAMPLE_DIR / "gap_lists.json").read_text(encoding="utf-8"))
    assert {gl["leader_firm_id"] for gl in lists} <= set(leaders)
    for group in result["leaders"]:
        assert all(cand["local_makers"] <= 1 for cand in group["candidates"])
        assert group["leader"]["id"] not in json.dumps(group["candidates"])  # never counted as its own maker
    # each leader's declared true gaps are found from the product graph, marked as declared
    for gl in lists:
        names = {i["name"] for i in gl["items"]} & set(TRUE_GAPS)
        candidates = {cand["need"]: cand for cand in leaders[gl["leader_firm_id"]]["candidates"]}
        for name in names:
            assert name in candidates and candidates[name]["declared"] is True
            assert candidates[name]["local_makers"] == 0
    assert sum(len(g["candidates"]) for g in loose["leaders"]) >= sum(
        len(g["candidates"]) for g in result["leaders"]
    )


# ------------------------------------------------------------------------------- the map
def test_report_in_every_format(world: World) -> None:
    body = {"k": 3, "top": 4, "products_per_link": 2}
    with client(world, "bureau_gd") as c:
        as_json = c.post(f"/v1/chains/{CHAIN_ID}/report", json=body)
        as_csv = c.post(f"/v1/chains/{CHAIN_ID}/report", params={"format": "csv"}, json=body)
        as_xlsx = c.post(f"/v1/chains/{CHAIN_ID}/report", params={"format": "xlsx"}, json=body)
        as_html = c.post(f"/v1/chains/{CHAIN_ID}/report", params={"format": "html"}, json=body)
        assert c.post(f"/v1/chains/{CHAIN_ID}/report", json={"region": "江苏省"}).status_code == 403
        assert c.post(f"/v1/chains/{CHAIN_ID}/report", json={"k": 0}).status_code == 422
    assert as_json.status_code == 200, as_json.text
    report = as_json.json()
    assert "attachment" in as_json.headers["content-disposition"]
    assert "filename*=UTF-8''" in as_json.headers["content-disposition"]
    entries = report["investment_map"]
    scored = [lk for lk in report["assessment"]["links"] if lk["score"] is not None]
    assert [e["node_id"] for e in entries] == [lk["node_id"] for lk in scored[:4]]
    targets_seen = 0
    for entry in entries:
        assert 1 <= len(entry["products"]) <= 2
        link = next(lk for lk in scored if lk["node_id"] == entry["node_id"])
        declared_names = [d["item"] for d in link["declared"]["declarations"]]
        if declared_names:  # declared items are queried first
            assert entry["products"][0]["product"] in declared_names and entry["products"][0]["declared"]
        for product in entry["products"]:
            assert len(product["investment_targets"]) <= 3 and len(product["local_suppliers"]) <= 3
            for m in product["investment_targets"]:
                targets_seen += 1
                assert m["province"] != GD and m["reasons"]
            for m in product["local_suppliers"]:
                assert m["province"] == GD and m["country"] == "中国"
    assert targets_seen > 0
    # a declared true gap has targets elsewhere that really make it
    cryo = next((e for e in entries if e["node_id"] == "cryo"), None)
    if cryo is not None:
        magnet = next(p for p in cryo["products"] if p["product"] == "超导磁体")
        assert any(
            "超导磁体" in json.dumps(m["matched_products"], ensure_ascii=False)
            for m in magnet["investment_targets"]
        )

    assert as_csv.headers["content-type"].startswith("text/csv") and as_csv.content.startswith(
        "\ufeff".encode()
    )
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    n_candidates = sum(
        len(p["investment_targets"]) + len(p["local_suppliers"]) for e in entries for p in e["products"]
    )
    assert len(rows) == 1 + n_candidates and rows[0][0].startswith("薄弱排名")
    assert {r[9] for r in rows[1:]} <= {"招商目标", "本地配套"}

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(as_xlsx.content))
    fixed = ["薄弱环节", "招商目标", "本地配套", "链主缺口候选", "说明"]
    assert [n for n in book.sheetnames if n in fixed] == fixed
    areas = book.sheetnames[3:-2]  # a sheet per province of the map, then one for abroad
    assert areas and set(areas) <= {*PROVINCES, "境外", "省份未知"} and book.sheetnames[-2:] == fixed[-2:]
    weak = book["薄弱环节"]
    assert weak.max_row == 1 + len(report["assessment"]["links"])
    assert weak.cell(2, 3).value == scored[0]["name"] and weak.cell(2, 5).value == scored[0]["score"]
    assert book["招商目标"].max_row - 1 + book["本地配套"].max_row - 1 == n_candidates

    html = as_html.text
    assert as_html.headers["content-type"].startswith("text/html")
    assert html.count("<svg") >= 3 and "chain-graph" in html and "place-bars" in html
    assert "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )  # nothing loaded from the net
    for entry in entries:
        assert f'id="link-{entry["node_id"]}"' in html
    assert "<script" not in html


def test_true_gaps_get_no_padded_local_suppliers(world: World) -> None:
    """No Guangdong firm makes the sample's true gaps: their local lists are empty (and say what
    that means) rather than filled with whatever scores highest; real makers elsewhere remain."""
    body = {"k": 5, "top": 28, "products_per_link": 10}
    with client(world, "bureau_gd") as c:
        report = c.post(f"/v1/chains/{CHAIN_ID}/report", json=body).json()
        html = c.post(f"/v1/chains/{CHAIN_ID}/report", params={"format": "html"}, json=body).text
        padded = c.post(f"/v1/chains/{CHAIN_ID}/report", json={**body, "min_match_score": 0}).json()
    products = {p["product"]: p for e in report["investment_map"] for p in e["products"]}
    gaps = [products[g] for g in TRUE_GAPS if g in products]
    assert len(gaps) >= 3
    for product in gaps:
        assert product["local_suppliers"] == [], product["product"]
        assert product["investment_targets"], product["product"]
    assert "本地暂无匹配度达标的企业" in html
    every = [
        m
        for e in report["investment_map"]
        for p in e["products"]
        for m in p["investment_targets"] + p["local_suppliers"]
    ]
    assert all(m["score"] >= 0.1 for m in every)
    padded_products = {p["product"]: p for e in padded["investment_map"] for p in e["products"]}
    assert all(len(padded_products[p["product"]]["local_suppliers"]) == 5 for p in gaps)


def test_report_job_progress_and_ownership(world: World) -> None:
    with client(world, "bureau_gd") as c:
        started = c.post(f"/v1/chains/{CHAIN_ID}/report-jobs", json={"k": 2, "top": 3})
        assert started.status_code == 202, started.text
        job_id = started.json()["id"]
        seen = []
        deadline = time.monotonic() + 120
        while True:
            job = c.get(f"/v1/report-jobs/{job_id}").json()
            seen.append(job["state"])
            if job["state"] in ("done", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert job["state"] == "done" and job["done"] == job["total"] == 3, job
        html = c.get(f"/v1/report-jobs/{job_id}/result", params={"format": "html"})
        data = c.get(f"/v1/report-jobs/{job_id}/result").json()
        assert html.status_code == 200 and "<svg" in html.text
        assert len(data["investment_map"]) == 3
        assert c.get("/v1/report-jobs/not-a-real-job-id").status_code == 404
        assert c.get("/v1/report-jobs/..%2F..%2Fetc").status_code == 404
    with client(world, "bureau_js") as c:  # another key never sees the job
        assert c.get(f"/v1/report-jobs/{job_id}").status_code == 404
        assert c.get(f"/v1/report-jobs/{job_id}/result").status_code == 404
    with client(world, "admin") as c:
        assert c.get(f"/v1/report-jobs/{job_id}").status_code == 200


@pytest.mark.slow
def test_cli_chains_report_and_outreach_export(tmp_path: Path) -> None:
    from tests.chainmatch.test_cli import run

    data = tmp_path / "var"
    for name, kind in (("firms.jsonl", "firms"), ("relations.jsonl", "relations")):
        run(data, "import", kind, str(SAMPLE_DIR / name))
    run(data, "gaps", "import", str(SAMPLE_DIR / "gap_lists.json"))
    assert "已创建" in run(data, "chains", "import", str(SAMPLE_DIR / "chain.json")).stdout
    assert "未变" in run(data, "chains", "import", str(SAMPLE_DIR / "chain.json")).stdout
    assert CHAIN_ID in run(data, "chains", "list").stdout

    weak = json.loads(run(data, "chains", "weak-links", CHAIN_ID, "--json").stdout)
    assert weak["region"]["province"] == GD and weak["links"][0]["rank"] == 1
    assert sum(lk["declared"]["items"] for lk in weak["links"]) > 0  # the operator sees every region
    gaps = json.loads(run(data, "chains", "gap-candidates", CHAIN_ID, "--json").stdout)
    assert gaps["leaders"]
    bad = run(data, "chains", "weak-links", "no-such-chain", check=False)
    assert bad.returncode == 2 and "不存在" in bad.stderr

    built = tmp_path / "ms.yaml"
    run(
        data,
        "chains",
        "build",
        "--id",
        "ms",
        "--name",
        "质谱",
        "-p",
        "质谱仪",
        "--region",
        "粤",
        "--out",
        str(built),
    )
    assert read_definition_file(built).region.province == GD  # type: ignore[union-attr]

    out = tmp_path / "reports"
    result = run(data, "report", CHAIN_ID, "--out", str(out), "--top", "3", "-k", "2", "-f", "html,csv")
    assert "3 个薄弱环节入图" in result.stdout
    files = sorted(p.suffix for p in out.iterdir())
    assert files == [".csv", ".html"]
    html = next(out.glob("*.html")).read_text(encoding="utf-8")
    assert html.count('class="link-card"') == 3
    assert run(data, "report", CHAIN_ID, "-f", "pdf", check=False).returncode == 2

    exported = tmp_path / "feedback.jsonl"
    assert "已导出 0 条" in run(data, "outreach", "export", "--out", str(exported)).stdout
    assert exported.read_text(encoding="utf-8") == ""
    # two stage changes of a tracked candidate come out as two labelled rows
    from chainmatch.services import outreach
    from chainmatch.services.context import operator_caller
    from chainmatch.settings import Settings
    from models.outreach import OutreachCreate, Stage, StageChange
    from tests.chainmatch.test_cli import _DATABASES

    settings = Settings(data_dir=data, database_url=_DATABASES.get(data))
    db = make_engine(settings)
    operator = operator_caller(settings, db)
    target = next(m for m in weak["links"][0]["supply"] if m["elsewhere_makers"])["product"]
    firms = [
        json.loads(line) for line in (SAMPLE_DIR / "firms.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    firm = next(f["id"] for f in firms if f["country"] == "中国" and f["province"] not in (GD, "广东", "粤"))
    record = outreach.create_record(
        operator,
        OutreachCreate.model_validate(
            {
                "chain_id": CHAIN_ID,
                "node_id": weak["links"][0]["node_id"],
                "product": target,
                "firm_id": firm,
                "region": {"province": GD},
            }
        ),
    )
    outreach.change_stage(operator, record.id, StageChange(stage=Stage.VISITED))
    db.dispose()
    as_csv = tmp_path / "feedback.csv"
    assert "已导出 2 条" in run(data, "outreach", "export", "--out", str(as_csv)).stdout
    rows = list(csv.DictReader(io.StringIO(as_csv.read_text(encoding="utf-8-sig"))))
    assert [(r["stage"], r["grade"], r["firm_id"]) for r in rows] == [
        ("shortlisted", "1", firm),
        ("visited", "2", firm),
    ]
    assert firm in run(data, "outreach", "list").stdout
