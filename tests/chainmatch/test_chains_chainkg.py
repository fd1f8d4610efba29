"""On the real chainkg dataset: a chain built from the product graph around a precision instrument
(光谱仪), its weak links in 广东省 checked against an independent count from the raw files, the
investment map, outreach and the dashboard page. Slow (loads 4,586 firms and 110k relations)."""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from recommender.text import normalize_key
from tests.conftest import Keys, LiveServer, chainkg_path, chainkg_settings, make_keys

pytestmark = [pytest.mark.slow, pytest.mark.chainkg]

START = "光谱仪"  # spectrometers: a precision-instrument product of the chainkg product graph
GD = "广东省"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Keys, Path]]:
    settings = chainkg_settings(tmp_path_factory.mktemp("chainkg") / "var")
    # chainkg has no 链主企业 tags or gap lists: any two listed firms stand in for the leader keys
    keys = make_keys(settings, "688268", "600000")
    with LiveServer(settings) as server:
        yield server, keys, chainkg_path("firms.jsonl").parent


def raw_makers(folder: Path, product: str, depth: int = 2) -> dict[str, dict[str, object]]:
    """Firms of the raw files making ``product`` or a narrower kind: an independent count."""
    children: dict[str, set[str]] = defaultdict(set)
    for line in (folder / "product_relations.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["relation"] == "subclass":
            children[normalize_key(r["product"])].add(normalize_key(r["target"]))
    keys, frontier = {normalize_key(product)}, {normalize_key(product)}
    for _ in range(depth):
        frontier = {c for k in frontier for c in children[k]} - keys
        keys |= frontier
    out = {}
    for line in (folder / "firms.jsonl").read_text(encoding="utf-8").splitlines():
        firm = json.loads(line)
        if any(
            normalize_key(p["name"]) in keys and (p["share"] is None or p["share"] > 0)
            for p in firm["products"]
        ):
            out[firm["id"]] = firm
    return out


def test_weak_links_and_investment_map_on_chainkg(world: tuple[LiveServer, Keys, Path]) -> None:
    server, keys, folder = world
    body = {"id": "spectrometer-gd", "name": "光谱仪器", "products": [START], "region": {"province": GD}}
    with server.client(keys.admin) as c:
        built = c.post("/v1/chains/from-graph", json=body)
    assert built.status_code == 201, built.text
    chain = built.json()
    nodes = {n["id"]: n for n in chain["nodes"]}
    midstream = [n for n in chain["nodes"] if n["segment"] == "midstream"]
    upstream = [n for n in chain["nodes"] if n["segment"] == "upstream"]
    assert [n["name"] for n in midstream] == [START] and len(upstream) >= 5
    relations = [
        json.loads(line) for line in (folder / "product_relations.jsonl").read_text("utf-8").splitlines()
    ]
    # 光谱仪 itself lists no materials in chainkg; its narrower kinds (紫外光谱仪 …) do, and they are
    # grouped into its node, so their needs are the chain's first upstream links
    kinds = set(midstream[0]["products"])
    assert len(kinds) > 1
    needs = {r["target"] for r in relations if r["product"] in kinds and r["relation"] == "upstream_material"}
    names = {p for n in upstream for p in n["products"]}
    assert needs and needs <= names  # every direct need is (in) a link of the chain
    assert all(nodes[e["source"]]["segment"] != "downstream" for e in chain["edges"])

    with server.client(keys.bureau_gd) as c:
        response = c.get(f"/v1/chains/{chain['id']}/weak-links")
        gaps = c.get(f"/v1/chains/{chain['id']}/gap-candidates")
    assert response.status_code == 200 and gaps.status_code == 200
    links = response.json()["links"]
    scored = [lk for lk in links if lk["score"] is not None]
    assert len(scored) == len(midstream) + len(upstream)
    # counts agree with an independent count over the raw files, for every product of two links
    checked = 0
    for link in scored[:2] + scored[-1:]:
        for supply in link["supply"][:4]:
            makers = raw_makers(folder, supply["product"])
            local = [f for f in makers.values() if f["province"] == GD]
            abroad = [f for f in makers.values() if f.get("country", "中国") != "中国"]
            assert supply["local_makers"] == len(local), supply
            assert supply["elsewhere_makers"] + supply["abroad_makers"] == len(makers) - len(local), supply
            assert supply["abroad_makers"] == len(abroad)
            checked += 1
    assert checked >= 5
    # a direct need that nobody in the registry makes is a zero-source link flagged as such
    nowhere = [
        lk for lk in scored if lk["name"] in needs and lk["local_makers"] + lk["elsewhere_makers"] == 0
    ]
    assert nowhere and all(any("均无企业生产" in f for f in lk["flags"]) for lk in nowhere)

    with server.client(keys.bureau_gd) as c:
        report = c.post(f"/v1/chains/{chain['id']}/report", json={"k": 5, "top": 5})
        xlsx = c.post(f"/v1/chains/{chain['id']}/report", params={"format": "xlsx"}, json={"k": 5, "top": 5})
        html = c.post(f"/v1/chains/{chain['id']}/report", params={"format": "html"}, json={"k": 5, "top": 5})
    assert report.status_code == 200, report.text
    entries = report.json()["investment_map"]
    assert len(entries) == 5
    sides = 0
    for entry in entries:
        for product in entry["products"]:
            for m in product["investment_targets"]:
                assert m["province"] != GD
                sides += 1
            for m in product["local_suppliers"]:
                assert m["province"] == GD
    assert sides > 0
    # The candidates are real: where firms make the product (or a narrower kind), the target list
    # leads with one of them; for products nobody in the registry makes, the relevance floor keeps
    # out the padding (firms sharing a character or a word: 单色器 → 单晶硅, 电介质 → 媒介代理)
    # that the same report without a floor lists.
    with server.client(keys.bureau_gd) as c:
        padded = c.post(
            f"/v1/chains/{chain['id']}/report", json={"k": 5, "top": 5, "min_match_score": 0}
        ).json()["investment_map"]
    unfloored = {p["product"]: p for e in padded for p in e["products"]}
    judged, kept, unmade_padding = 0, 0, 0
    for entry in entries:
        for product in entry["products"]:
            makers = raw_makers(folder, product["product"])
            outside = {fid for fid, f in makers.items() if f["province"] != GD}
            targets = [m["firm_id"] for m in product["investment_targets"]]
            if outside:
                assert targets and targets[0] in outside, (product["product"], targets)
                judged += 1
            elif not makers:
                kept += len(targets) + len(product["local_suppliers"])
                other = unfloored[product["product"]]
                unmade_padding += len(other["investment_targets"]) + len(other["local_suppliers"])
    assert judged >= 2 and unmade_padding >= 20
    assert kept <= 0.2 * unmade_padding, (kept, unmade_padding)
    from openpyxl import load_workbook

    assert load_workbook(io.BytesIO(xlsx.content))["薄弱环节"].max_row == 1 + len(links)
    assert html.text.count('class="link-card"') == 5 and "chain-graph" in html.text

    # outreach on a real candidate, and the dashboard page renders the real chain
    first = next(p for e in entries for p in e["products"] if p["investment_targets"])
    with server.client(keys.bureau_gd) as c:
        tracked = c.post(
            "/v1/outreach",
            json={
                "chain_id": chain["id"],
                "node_id": next(e["node_id"] for e in entries if first in e["products"]),
                "product": first["product"],
                "firm_id": first["investment_targets"][0]["firm_id"],
            },
        )
        assert tracked.status_code == 201 and tracked.json()["kind"] == "target"
        assert (
            c.post(f"/v1/outreach/{tracked.json()['id']}/stage", json={"stage": "contacted"}).status_code
            == 200
        )
        assert len(c.get("/v1/outreach/feedback").json()) == 2
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=120) as b:
        form = b.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        assert b.post("/login", data={"api_key": keys.bureau_gd, "csrf": token}).status_code == 303
        page = b.get(f"/chains/{chain['id']}")
        assert page.status_code == 200 and START in page.text and "<svg" in page.text
