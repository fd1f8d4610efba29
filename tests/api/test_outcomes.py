"""Learning from outcomes: recent declines lowered with the reason, signed pairs done and not
recommended again, and the per-deployment ranker refresh (API and CLI) that never falls below the
offline ranker on the offline benchmark, its version in every answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from chainmatch.cli.offers import ranker_refresh
from chainmatch.refresh import WEIGHTS, BenchQuery, choose_weight, new_model
from tests.twosided_world import LOCAL, PRODUCT, TWIN_A, TWIN_B, World, cli_env, make_world

CHAIN = {
    "id": "gear-pumps",
    "name": "齿轮泵",
    "region": {"province": "广东省"},
    "nodes": [
        {"id": "gear", "name": "齿轮泵", "segment": "upstream", "products": [PRODUCT]},
        {"id": "pumps", "name": "分子泵", "segment": "upstream", "products": ["涡轮分子泵"]},
    ],
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    for w in make_world(tmp_path_factory.mktemp("outcomes")):
        with w.client("admin") as c:
            assert c.post("/v1/chains", json=CHAIN).status_code == 201
        yield w


def _track(world: World, node: str, product: str, firm: str, stage: str, reason: str | None = None) -> None:
    body = {"chain_id": CHAIN["id"], "node_id": node, "product": product, "firm_id": firm, "stage": stage}
    if reason:
        body["reason"] = reason
    with world.client("bureau_gd") as c:
        response = c.post("/v1/outreach", json=body)
    assert response.status_code == 201, response.text


def _item(world: World, role: str = "bureau_gd") -> dict:  # type: ignore[type-arg]
    with world.client(role) as c:
        response = c.get(f"/v1/gap-lists/{world.list_id}/matches", params={"k": 20})
    assert response.status_code == 200, response.text
    return next(i for i in response.json()["items"] if i["item"]["name"] == PRODUCT)


def test_declined_is_lowered_with_its_reason_and_signed_is_done(world: World) -> None:
    before = _item(world)
    assert LOCAL in {r["firm_id"] for r in before["local_suppliers"]}
    _track(world, "gear", PRODUCT, TWIN_A, "declined", "对方无扩产计划")
    _track(world, "gear", PRODUCT, LOCAL, "signed")
    after = _item(world)
    order = [r["firm_id"] for r in after["investment_targets"]]
    assert order.index(TWIN_B) < order.index(TWIN_A)
    a = next(r for r in after["investment_targets"] if r["firm_id"] == TWIN_A)
    today = date.today().isoformat()
    assert a["declined"] is True
    assert f"近期已放弃对接（{today}）：对方无扩产计划" in a["reasons"]
    assert LOCAL not in {r["firm_id"] for r in after["local_suppliers"] + after["investment_targets"]}
    assert [(d["firm_id"], d["stage"]) for d in after["done"]] == [(LOCAL, "signed")]
    # the leader sees the effect, not the bureau's note
    mine = _item(world, "leader_a")
    a = next(r for r in mine["investment_targets"] if r["firm_id"] == TWIN_A)
    assert f"近期已放弃对接（{today}）" in a["reasons"] and not any("扩产" in r for r in a["reasons"])
    # and the signed pair is never a matchmaking pair again
    with world.client("bureau_gd") as c:
        pairs = c.get("/v1/matchmaking").json()["pairs"]
    assert not [p for p in pairs if p["firm_id"] == LOCAL and p["item"] == PRODUCT]


def test_choose_weight_never_falls_below_the_offline_ranker() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 13))
    y = (X[:, 8] > 0).astype(int)
    model = new_model(X, y, "2026-12-01T00:00:00")
    queries = []
    for _ in range(20):
        ids = [f"f{i}" for i in range(12)]
        scores = np.linspace(1, 0, 12)
        feats = rng.normal(size=(12, 13))
        queries.append(BenchQuery(ids, scores, feats, {"f0": 2, "f1": 1}))  # the offline order is ideal
    figures = choose_weight(model, queries)
    assert figures["refreshed_ndcg10"] >= figures["offline_ndcg10"]
    assert model.weight in WEIGHTS
    assert figures["by_weight"]["0"] == figures["offline_ndcg10"]


def test_refresh_learns_from_outcomes_and_names_its_version(world: World) -> None:
    with world.client("admin") as c:
        assert c.post("/v1/ranker/refresh").status_code == 422  # two outcomes: too few
        found = c.post(
            "/v1/match",
            json={"text": "涡轮分子泵", "region": "广东省", "scope": "outside", "k": 12, "min_score": 0},
        ).json()["results"]
    assert len(found) >= 10
    for n, r in enumerate(found):
        signed = "专精特新" in r["tags"] or n % 4 == 0
        _track(world, "pumps", "涡轮分子泵", r["firm_id"], "signed" if signed else "declined", "意向不强")
    with world.client("admin") as c:
        response = c.post("/v1/ranker/refresh")
        assert response.status_code == 200, response.text
        status = response.json()
        refresh = status["refresh"]
        assert status["model_version"].endswith(refresh["version"]) and "+refresh-" in status["model_version"]
        assert refresh["n_outcomes"] >= 10 and 0 < refresh["n_positive"] < refresh["n_outcomes"]
        bench = refresh["benchmark"]
        assert bench["queries"] >= 1 and bench["refreshed_ndcg10"] >= bench["offline_ndcg10"]
    body = _item(world)
    with world.client("bureau_gd") as c:
        matches = c.get(f"/v1/gap-lists/{world.list_id}/matches").json()
        pairs = c.get("/v1/matchmaking").json()
    assert matches["model_version"] == pairs["model_version"] == status["model_version"]
    assert body  # lists still answer with the refreshed model
    # every API answer names the model in a header, the engine-only routes too
    with world.client("bureau_gd") as c:
        for response in (
            c.post("/v1/match", json={"text": PRODUCT, "k": 3}),
            c.get(f"/v1/gap-lists/{world.list_id}/recommendations", params={"k": 2}),
            c.get("/v1/matchmaking"),
        ):
            assert response.headers["x-chainmatch-model"] == status["model_version"], response.url


def test_cli_refresh(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    app = typer.Typer()
    ranker = typer.Typer()
    ranker.command("refresh")(ranker_refresh)  # as chainmatch/cli.py registers it
    app.add_typer(ranker, name="ranker")
    with cli_env(world, monkeypatch):
        result = CliRunner().invoke(app, ["ranker", "refresh"])
    assert result.exit_code == 0, result.output
    assert "+refresh-" in result.output and "nDCG@10" in result.output


def test_a_weak_links_page_marks_the_firms_that_declared_they_will_supply(world: World) -> None:
    from tests.e2e.test_twosided_browser import _login_http
    from tests.twosided_world import offer_body

    with world.client("supplier_b") as c:
        offer = c.post("/v1/supply-offers", json=offer_body()).json()["id"]
    try:
        with _login_http(world, world.keys.bureau_gd) as c:
            page = c.get(f"/chains/{CHAIN['id']}/links/gear")
        assert page.status_code == 200, page.text[:300]
        chunks = page.text.split('<div class="candidate" data-firm="')[1:]
        by_firm = {chunk.split('"', 1)[0]: chunk for chunk in chunks}
        assert "已登记配套意愿" in by_firm[TWIN_B] and "愿意在本地设厂" in by_firm[TWIN_B]
        assert "已登记配套意愿" not in by_firm[TWIN_A]
    finally:
        with world.client("supplier_b") as c:
            c.delete(f"/v1/supply-offers/{offer}")
