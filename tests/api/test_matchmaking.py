"""Both sides in the ranking and the region's matchmaking (供需对接) with its XLSX invitation list."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from openpyxl import load_workbook

from chainmatch.exports import is_formula_like
from tests.twosided_world import LOCAL, OTHER, PRODUCT, TWIN_A, TWIN_B, World, make_world, offer_body


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from make_world(tmp_path_factory.mktemp("matchmaking"))


def _item(world: World, role: str = "bureau_gd") -> dict:  # type: ignore[type-arg]
    with world.client(role) as c:
        response = c.get(f"/v1/gap-lists/{world.list_id}/matches", params={"k": 20})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"].startswith(("offline-", "fusion"))
    return next(i for i in body["items"] if i["item"]["name"] == PRODUCT)


def test_a_valid_matching_offer_ranks_a_firm_above_its_otherwise_equal_twin(world: World) -> None:
    before = _item(world)
    twins = {r["firm_id"]: r for r in before["investment_targets"] if r["firm_id"] in (TWIN_A, TWIN_B)}
    assert twins[TWIN_A]["engine_score"] == twins[TWIN_B]["engine_score"]
    assert twins[TWIN_A]["offer"] is None and twins[TWIN_B]["offer"] is None
    with world.client("supplier_b") as c:
        offer = c.post(
            "/v1/supply-offers", json=offer_body(products=["齿轮泵（星际系列）", "星际齿轮泵"])
        ).json()
    after = _item(world)
    order = [r["firm_id"] for r in after["investment_targets"]]
    assert order.index(TWIN_B) < order.index(TWIN_A)
    b = next(r for r in after["investment_targets"] if r["firm_id"] == TWIN_B)
    assert b["offer"]["offer_id"] == offer["id"] and b["offer"]["sets_up_locally"] is True
    assert b["reasons"][0].startswith("已登记配套意愿：可供 星际齿轮泵，产能 年产 5000 台")
    assert "愿意在本地设厂" in b["reasons"][0]
    assert b["score"] >= b["engine_score"]  # shown on the 0..1 scale; the order uses the full score
    # expired or withdrawn: no mark
    with world.client("supplier_b") as c:
        assert (
            c.put(f"/v1/supply-offers/{offer['id']}", json=offer_body(valid_until="2020-01-01")).status_code
            == 200
        )
    expired = _item(world)
    assert next(r for r in expired["investment_targets"] if r["firm_id"] == TWIN_B)["offer"] is None
    with world.client("supplier_b") as c:
        assert c.delete(f"/v1/supply-offers/{offer['id']}").status_code == 204


def test_an_offer_for_other_leaders_or_regions_does_not_mark(world: World) -> None:
    with world.client("supplier_a") as c:
        offer = c.post(
            "/v1/supply-offers",
            json=offer_body(target_leader_ids=["SOMEONE-ELSE"]),
        ).json()["id"]
        assert next(r for r in _item(world)["investment_targets"] if r["firm_id"] == TWIN_A)["offer"] is None
        c.put(f"/v1/supply-offers/{offer}", json=offer_body(invest_locally=False, supply_provinces=["四川"]))
        assert next(r for r in _item(world)["investment_targets"] if r["firm_id"] == TWIN_A)["offer"] is None
        c.delete(f"/v1/supply-offers/{offer}")


@pytest.fixture(scope="module")
def offers(world: World) -> Iterator[dict[str, str]]:
    made = {}
    with world.client("supplier_a") as c:
        made[TWIN_A] = c.post(
            "/v1/supply-offers", json=offer_body(contact_name='=HYPERLINK("http://x")')
        ).json()["id"]
    with world.client("bureau_gd") as c:
        made[LOCAL] = c.post(
            "/v1/supply-offers", json=offer_body(firm_id=LOCAL, invest_locally=False, products=["星际齿轮泵"])
        ).json()["id"]
    with world.client("admin") as c:  # a willing firm whose registry profile does not list the item
        made[OTHER] = c.post(
            "/v1/supply-offers", json=offer_body(firm_id=OTHER, products=["涡轮分子泵"], title="分子泵意愿")
        ).json()["id"]
    yield made
    with world.client("admin") as c:
        for offer_id in made.values():
            c.delete(f"/v1/supply-offers/{offer_id}")


MATCHMAKING_EXPECT = {
    "none": 401,
    "admin": 200,
    "bureau_gd": 200,
    "bureau_js": 200,
    "leader_a": 200,
    "leader_b": 200,
    "supplier_a": 403,
}


def test_matchmaking_pairs_best_first_for_each_role(world: World, offers: dict[str, str]) -> None:
    seen = {}
    for role, code in MATCHMAKING_EXPECT.items():
        with world.client(role) as c:
            params = {"region": "广东省"} if role == "admin" else {}
            response = c.get("/v1/matchmaking", params=params)
        assert response.status_code == code, (role, response.text[:300])
        if code == 200:
            seen[role] = response.json()
    pairs = seen["bureau_gd"]["pairs"]
    assert [p["score"] for p in pairs] == sorted((p["score"] for p in pairs), reverse=True)
    got = {(p["item"], p["firm_id"], p["side"]) for p in pairs}
    assert {(PRODUCT, TWIN_A, "target"), (PRODUCT, LOCAL, "local"), ("涡轮分子泵", OTHER, "target")} <= got
    assert all(p["leader_firm_id"] in {world.keys.leader_a_firm} for p in pairs if p["item"] == PRODUCT)
    a = next(p for p in pairs if p["firm_id"] == TWIN_A)
    assert a["contact_phone"] == "13700000000" and a["offer"]["offer_id"] == offers[TWIN_A]
    # with few candidates asked for, the engine does not retrieve 浙星泵业 for 涡轮分子泵 (its profile
    # lists gear pumps only): its offer still makes the pair, saying so
    with world.client("bureau_gd") as c:
        few = c.get("/v1/matchmaking", params={"k": 1}).json()["pairs"]
    unretrieved = next(p for p in few if p["firm_id"] == OTHER and p["item"] == "涡轮分子泵")
    assert unretrieved["engine_score"] == 0 and any("未列出" in r for r in unretrieved["reasons"])
    # admin without a region: which region?
    with world.client("admin") as c:
        assert c.get("/v1/matchmaking").status_code == 422
    # a bureau elsewhere: none of 广东's lists; may not ask for 广东
    assert seen["bureau_js"]["pairs"] == []
    with world.client("bureau_js") as c:
        assert c.get("/v1/matchmaking", params={"region": "广东"}).status_code == 403
    # a leader: its own items only, no contacts; the other leader: none of leader A's
    assert {p["leader_firm_id"] for p in seen["leader_a"]["pairs"]} == {world.keys.leader_a_firm}
    assert all(p["contact_phone"] is None for p in seen["leader_a"]["pairs"])
    assert world.keys.leader_a_firm not in {p["leader_firm_id"] for p in seen["leader_b"]["pairs"]}
    assert world.list_id not in str(seen["leader_b"])


def test_matchmaking_reads_are_audited_per_list(world: World, offers: dict[str, str]) -> None:
    with world.client("bureau_gd") as c:
        assert c.get("/v1/matchmaking").status_code == 200
    with world.client("admin") as c:
        rows = c.get("/v1/audit", params={"object_id": world.list_id, "limit": 200}).json()["items"]
    mine = [r for r in rows if r["action"] == "matchmaking" and r["role"] == "bureau"]
    assert mine and mine[-1]["object_version"] == 1 and mine[-1]["route"] == "GET /v1/matchmaking"


def test_xlsx_invitation_list_is_guarded(world: World, offers: dict[str, str]) -> None:
    with world.client("bureau_gd") as c:
        response = c.get("/v1/matchmaking", params={"format": "xlsx"})
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:4] == ("序号", "链主企业", "短板环节", "配套企业")
    body = rows[2:]
    assert any(r[3] == "双子泵业" and r[2] == PRODUCT for r in body)
    assert not any(is_formula_like(v) for r in body for v in r)
    assert any(isinstance(v, str) and v.startswith("'=HYPERLINK") for r in body for v in r)
    for cell in sheet.iter_rows(min_row=3):
        for c in cell:
            assert c.data_type != "f"
