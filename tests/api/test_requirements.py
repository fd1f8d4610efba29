"""Leaders' requirements per weak link: as confidential as the list; hard ones filter (and say how
many makers they left out), soft ones rank; reasons say which a candidate meets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chainmatch.requirements import cert_key, distance_km
from tests.twosided_world import LOCAL, OTHER, PRODUCT, TWIN_A, TWIN_B, World, make_world, offer_body
from tests.worlds import LIST_READ_STATUS


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from make_world(tmp_path_factory.mktemp("requirements"))


def _put(world: World, role: str, requirements: list[dict[str, object]]) -> int:
    with world.client(role) as c:
        response = c.put(f"/v1/gap-lists/{world.list_id}/requirements", json={"requirements": requirements})
    return response.status_code


def _item(world: World, role: str = "bureau_gd", **params: object) -> dict:  # type: ignore[type-arg]
    with world.client(role) as c:
        response = c.get(f"/v1/gap-lists/{world.list_id}/matches", params={"k": 20, "min_score": 0, **params})
    assert response.status_code == 200, response.text
    return next(i for i in response.json()["items"] if i["item"]["name"] == PRODUCT)


def _ids(item: dict) -> set[str]:  # type: ignore[type-arg]
    return {r["firm_id"] for r in item["investment_targets"] + item["local_suppliers"]}


def test_units() -> None:
    assert cert_key("ISO 9001:2015") == cert_key("iso9001") == "ISO9001"
    assert cert_key("IATF 16949") == "IATF16949"
    assert distance_km("广东省", "广东省") == 0
    near, far = distance_km("江苏省", "浙江省"), distance_km("江苏省", "广东省")
    assert near is not None and far is not None and near < 300 < far
    assert distance_km("广东省", None) is None


def test_requirements_are_as_confidential_as_the_list(world: World) -> None:
    body = [{"item": PRODUCT, "certifications": ["IATF 16949"]}]
    expected_write = {
        "none": 401,
        "admin": 200,
        "bureau_gd": 403,
        "bureau_js": 404,
        "leader_a": 200,
        "leader_b": 404,
    }
    for role, code in expected_write.items():
        assert _put(world, role, body) == code, role
    for role in ("supplier_a", "supplier_local"):
        assert _put(world, role, body) == 404, role
    for role, code in {**LIST_READ_STATUS, "supplier_a": 404}.items():
        with world.client(role) as c:
            response = c.get(f"/v1/gap-lists/{world.list_id}/requirements")
            assert response.status_code == code, role
            assert c.get(f"/v1/gap-lists/{world.list_id}/matches").status_code == code, role
    with world.client("admin") as c:
        rows = c.get("/v1/audit", params={"object_id": world.list_id, "limit": 200}).json()["items"]
    reads = [(r["role"], r["action"]) for r in rows]
    assert ("bureau", "read_requirements") in reads and ("bureau", "matches") in reads
    assert ("leader", "update_requirements") in reads
    assert _put(world, "leader_a", []) == 200


def test_requirements_name_items_of_the_list(world: World) -> None:
    with world.client("leader_a") as c:
        response = c.put(
            f"/v1/gap-lists/{world.list_id}/requirements", json={"requirements": [{"item": "不存在的零件"}]}
        )
        assert response.status_code == 422 and "requirements[0].item" in response.json()["detail"]
        twice = c.put(
            f"/v1/gap-lists/{world.list_id}/requirements",
            json={"requirements": [{"item": PRODUCT}, {"item": PRODUCT}]},
        )
        assert twice.status_code == 422 and "requirements[1].item" in twice.json()["detail"]
        bad = c.put(
            f"/v1/gap-lists/{world.list_id}/requirements",
            json={
                "requirements": [{"item": PRODUCT, "min_annual_capacity_cny": "inf", "soft": ["nonsense"]}]
            },
        )
        assert bad.status_code == 422
        assert "min_annual_capacity_cny" in bad.text and "soft" in bad.text


def test_hard_certification_excludes_makers_and_says_how_many(world: World) -> None:
    before = _item(world, min_score=0.1)  # the relevance floor: the makers, not every candidate
    assert {TWIN_A, TWIN_B, LOCAL, OTHER} <= _ids(before)
    with world.client("supplier_a") as c:
        offer = c.post("/v1/supply-offers", json=offer_body(certifications=["IATF 16949:2016"])).json()["id"]
    try:
        assert _put(world, "leader_a", [{"item": PRODUCT, "certifications": ["IATF 16949"]}]) == 200
        after = _item(world, min_score=0.1)
        assert TWIN_A in _ids(after)
        assert not ({TWIN_B, LOCAL, OTHER} & _ids(after))
        summary = after["excluded"]
        assert any(s.startswith(f"{len(_ids(before)) - 1} 家企业被排除：无 IATF 16949") for s in summary), (
            summary
        )
        twin = next(r for r in after["investment_targets"] if r["firm_id"] == TWIN_A)
        assert any("满足链主要求：IATF 16949" in reason for reason in twin["reasons"])
        assert after["requirement"]["certifications"] == ["IATF 16949"]
        # the same requirement, soft: nobody is left out, the certified firm ranks first of the twins
        assert (
            _put(
                world,
                "leader_a",
                [{"item": PRODUCT, "certifications": ["IATF 16949"], "soft": ["certifications"]}],
            )
            == 200
        )
        soft = _item(world)
        assert {TWIN_A, TWIN_B, LOCAL, OTHER} <= _ids(soft) and soft["excluded"] == []
        order = [r["firm_id"] for r in soft["investment_targets"]]
        assert order.index(TWIN_A) < order.index(TWIN_B)
        b = next(r for r in soft["investment_targets"] if r["firm_id"] == TWIN_B)
        assert any("未满足链主的非强制要求：无 IATF 16949" in reason for reason in b["reasons"])
    finally:
        with world.client("supplier_a") as c:
            c.delete(f"/v1/supply-offers/{offer}")
        _put(world, "leader_a", [])


def test_competitors_scale_provinces_distance_and_wished_firms(world: World) -> None:
    try:
        assert _put(world, "leader_a", [{"item": PRODUCT, "excluded_firm_ids": [TWIN_A]}]) == 200
        item = _item(world)
        assert TWIN_A not in _ids(item) and TWIN_B in _ids(item)
        assert any("链主排除" in s for s in item["excluded"])

        assert _put(world, "leader_a", [{"item": PRODUCT, "min_scale": "large"}]) == 200
        assert OTHER in _ids(_item(world)) and TWIN_A not in _ids(_item(world))

        assert _put(world, "leader_a", [{"item": PRODUCT, "provinces": ["浙江", "广东"]}]) == 200
        ids = _ids(_item(world))
        assert {OTHER, LOCAL} <= ids and TWIN_A not in ids

        assert _put(world, "leader_a", [{"item": PRODUCT, "max_distance_km": 400}]) == 200
        ids = _ids(_item(world))  # 广东 → 浙江 and 江苏 are further than 400 km
        assert LOCAL in ids and not ({OTHER, TWIN_A} & ids)

        assert _put(world, "leader_a", [{"item": PRODUCT, "preferred_firm_ids": [TWIN_B]}]) == 200
        item = _item(world)
        order = [r["firm_id"] for r in item["investment_targets"]]
        assert order.index(TWIN_B) < order.index(TWIN_A)
        b = next(r for r in item["investment_targets"] if r["firm_id"] == TWIN_B)
        assert "链主点名希望引进" in b["reasons"]
    finally:
        _put(world, "leader_a", [])
