"""Free-text weak links where users meet them (issue 9, part 1): ``understood_as`` on /v1/match and on
each gap-list item's recommendations, gap items from sentences filling their sourcing fields, and the
CLI printing how a text was read. Over real HTTP on the sample cluster, and the installed CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chainmatch.settings import Settings
from tests.chainmatch.test_chains import CHAIN_ID
from tests.conftest import World, load_sample, make_settings
from tests.web.test_dashboard import csrf_of, login

CLI = shutil.which("chainmatch") or str(Path(sys.executable).with_name("chainmatch"))

# (text as typed, the product it names) — the sample-cluster queries of issue 9.
TYPED = (
    ("高精度光栅尺", "光栅尺"),
    ("用于质谱仪的离子源", "离子源"),
    ("PMT", "光电倍增管"),
)
SENTENCE = "离子源，主要依赖日本进口，进口占比约70%，年采购额3000万元"


pytestmark = pytest.mark.world(chain=True)  # the sample and its chain, in process


def test_match_says_how_the_text_was_read(world: World) -> None:
    server, keys = world
    with server.client(keys.bureau_gd) as c:
        for text, product in TYPED:
            response = c.post("/v1/match", json={"text": text, "k": 5})
            assert response.status_code == 200, response.text
            body = response.json()
            understood = body["understood_as"]
            assert understood["product"] == product, (text, understood)
            assert understood["low_confidence"] is False and 0 < understood["confidence"] <= 1
            assert set(understood["sourcing"]) == {
                "import_dependent",
                "countries",
                "single_supplier",
                "import_share",
            }
            assert body["results"], f"{text}: the makers of {product} exist in the sample"
            assert all(r["low_confidence"] in (True, False) for r in body["results"])
            top = body["results"][0]
            assert any(product in p["name"] or p["name"] in product for p in top["matched_products"]) or any(
                product in r for r in top["reasons"]
            ), (text, top)
        purpose = c.post("/v1/match", json={"text": "用于质谱仪的离子源"}).json()["understood_as"]
        assert purpose["for_product"] == "质谱仪"
        qualified = c.post("/v1/match", json={"text": "高精度光栅尺"}).json()["understood_as"]
        assert "高精度" in qualified["qualifiers"]
        unsure = c.post("/v1/match", json={"text": "某某专用的定制件", "k": 5}).json()
        assert unsure["understood_as"]["low_confidence"] is True and unsure["understood_as"]["via"] == "head"
        assert unsure["results"] and all(r["low_confidence"] for r in unsure["results"])
        sourcing = c.post("/v1/match", json={"text": SENTENCE}).json()["understood_as"]
        assert sourcing["product"] == "离子源"
        assert sourcing["sourcing"]["countries"] == ["日本"] and sourcing["sourcing"]["import_share"] == 0.7
        assert sourcing["annual_demand_cny"] == 30_000_000
        paths = c.get("/openapi.json").json()["components"]["schemas"]
    assert "understood_as" in paths["MatchResponse"]["required"]
    assert "low_confidence" in paths["MatchResult"]["properties"]
    assert {
        "product",
        "qualifiers",
        "for_product",
        "specs",
        "sourcing",
        "confidence",
        "low_confidence",
    } <= set(paths["UnderstoodAs"]["properties"])


def test_every_recommended_item_carries_its_reading(world: World) -> None:
    server, keys = world
    with server.client(keys.leader_a) as c:
        gap_list = c.get("/v1/gap-lists").json()["items"][0]
        recs = c.get(f"/v1/gap-lists/{gap_list['id']}/recommendations", params={"k": 3})
        assert recs.status_code == 200, recs.text
    items = recs.json()["items"]
    assert items
    for entry in items:
        understood = entry["understood_as"]
        assert understood["text"] and understood["product"], entry["item"]["name"]
        assert isinstance(understood["low_confidence"], bool)
        for m in entry["investment_targets"] + entry["local_suppliers"]:
            assert isinstance(m["low_confidence"], bool)


def test_gap_items_written_as_sentences_fill_their_sourcing_fields(world: World) -> None:
    server, keys = world
    explicit = "分子泵，依赖德国进口，进口占比90%"
    with server.client(keys.leader_a) as c:
        created = c.post(
            "/v1/gap-lists",
            json={
                "title": "走访记录的短板",
                "items": [
                    {"name": SENTENCE},
                    {"name": explicit, "import_share": 0.5, "current_source_country": "美国"},
                    {"name": "四极杆", "description": "目前全部从美国采购，单一供应商"},
                ],
            },
        )
        assert created.status_code == 201, created.text
        items = created.json()["items"]
        # the name stays as written; the facts it states fill the empty fields
        assert items[0]["name"] == SENTENCE.replace("，", ",")  # NFKC: full-width comma → ','
        assert items[0]["import_share"] == 0.7
        assert items[0]["current_source_country"] == "日本"
        assert items[0]["annual_demand_cny"] == 30_000_000
        # explicit values always win
        assert items[1]["import_share"] == 0.5 and items[1]["current_source_country"] == "美国"
        # the description is read too
        assert items[2]["current_source_country"] == "美国" and items[2]["import_share"] is None
        list_id = created.json()["id"]

        revised = c.put(
            f"/v1/gap-lists/{list_id}",
            json={"title": "走访记录的短板", "items": [{"name": "光电倍增管，进口占比约80%，主要来自日本"}]},
        )
        assert revised.status_code == 200, revised.text
        item = revised.json()["items"][0]
        assert item["import_share"] == 0.8 and item["current_source_country"] == "日本"

        recs = c.get(f"/v1/gap-lists/{list_id}/recommendations", params={"k": 3}).json()
    assert recs["items"][0]["understood_as"]["product"] == "光电倍增管"


# ------------------------------------------------------------------------------- dashboard
def test_dashboard_search_page_reads_lists_and_shortlists(world: World) -> None:
    """Over HTTP (the browser walk-through is in tests/e2e/test_dashboard_browser.py)."""
    server, keys = world
    with server.client(follow_redirects=False) as c:
        assert c.get("/search").status_code == 303  # login first
        assert login(c, keys.bureau_gd).status_code == 303
        home = c.get("/")
        assert 'href="/search"' in home.text  # in the navigation
        empty = c.get("/search")
        assert (
            empty.status_code == 200
            and 'id="search-text"' in empty.text
            and "understood-product" not in empty.text
        )

        page = c.get("/search", params={"q": "用于质谱仪的离子源"})
        assert page.status_code == 200
        html = page.text
        assert 'data-product="离子源"' in html and "质谱仪" in html and "置信度" in html
        assert 'class="list-target"' in html and 'class="list-local"' in html
        assert "加入招商清单" in html and 'name="node_id" value="ion-optics"' in html
        firm_id = re.findall(r'name="firm_id" value="([^"]+)"', html)[0]
        shortlisted = c.post(
            "/outreach",
            data={
                "csrf": csrf_of(html),
                "chain_id": CHAIN_ID,
                "node_id": "ion-optics",
                "product": "离子源",
                "for_product": "质谱仪",
                "firm_id": firm_id,
                "region": "广东省",
                "next": "/search?q=用于质谱仪的离子源",
            },
        )
        assert shortlisted.status_code == 303 and shortlisted.headers["location"].startswith("/search?")
        again = c.get(shortlisted.headers["location"])
        assert "加入跟踪" in again.text and "已入选" in again.text
        board = c.get("/pipeline").text
        assert f'data-firm="{firm_id}"' in board

        hostile = c.get("/search", params={"q": '<script>alert(1)</script>离子源"><img src=x>'})
        assert hostile.status_code == 200
        assert "<script>alert(1)" not in hostile.text and "<img src=x>" not in hostile.text
        assert "&lt;script&gt;" in hostile.text

        unsure = c.get("/search", params={"q": "某某专用的定制件"})  # no known product in it
        assert unsure.status_code == 200
        assert 'id="low-confidence"' in unsure.text and "低置信度" in unsure.text
        nowhere = c.get("/search", params={"q": "极紫外光刻胶"})  # in no chain node: pick one first
        assert 'id="search-node-missing"' in nowhere.text and "shortlist-form" not in nowhere.text
        chosen = c.get("/search", params={"q": "极紫外光刻胶", "link": f"{CHAIN_ID}/ion-optics"})
        assert 'id="search-node"' in chosen.text

        too_long = c.get("/search", params={"q": "离" * 201})
        assert too_long.status_code == 422
    with server.client(follow_redirects=False) as c:
        login(c, keys.leader_a)
        assert c.get("/search", params={"q": "离子源"}).status_code == 403


# ------------------------------------------------------------------------------- CLI
def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CHAINMATCH_DATA_DIR=str(settings.data_dir), COLUMNS="200")
    if settings.database_url:
        env["CHAINMATCH_DATABASE_URL"] = settings.database_url
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("freetext-cli") / "var")
    load_sample(settings, index=True)  # fitted once per session: each CLI call loads it
    return settings


def test_cli_match_prints_the_reading_above_the_list(sample_dir: Settings) -> None:
    out = cli(sample_dir, "match", "用于质谱仪的离子源", "--region", "广东省", "-k", "3")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "理解为" in text and "识别产品" in text and "离子源" in text
    assert "用于" in text and "质谱仪" in text and "置信度" in text
    assert text.index("识别产品") < text.index("企业 firm")  # above the list

    sourced = cli(sample_dir, "match", SENTENCE, "-k", "3")
    assert sourced.returncode == 0, sourced.stderr
    assert "供应情况" in sourced.stdout and "日本" in sourced.stdout and "70%" in sourced.stdout

    as_json = cli(sample_dir, "match", "PMT", "-k", "3", "--json")
    assert as_json.returncode == 0, as_json.stderr
    body = json.loads(as_json.stdout)
    assert body["understood_as"]["product"] == "光电倍增管" and body["understood_as"]["via"] == "alias"
    assert body["results"] and "low_confidence" in body["results"][0]
