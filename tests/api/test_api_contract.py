"""The public API's contract on the sample cluster, in process (httpx.ASGITransport): results, lists,
limits, freshness."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import World
from tests.worlds import serve_sample


def test_health_docs_and_readiness(world: World) -> None:
    server, _ = world
    with server.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["index"]["in_step"] is True
        assert c.get("/docs").status_code == 200
        paths = c.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/firms",
        "/v1/firms/{firm_id}",
        "/v1/product-relations",
        "/v1/gap-lists",
        "/v1/gap-lists/{list_id}",
        "/v1/gap-lists/{list_id}/recommendations",
        "/v1/match",
    ):
        assert path in paths


def test_match_results_are_explained_and_exclude_the_leader(world: World) -> None:
    server, keys = world
    with server.client(keys.admin) as c:
        leader = c.get(f"/v1/firms/{keys.leader_a_firm}").json()
        own_product = leader["products"][0]["name"]
        # min_score 0: every candidate, so the list is not empty when the leader is the only
        # real maker of its own product.
        plain = c.post("/v1/match", json={"text": own_product, "k": 20, "min_score": 0}).json()["results"]
        excluded = c.post(
            "/v1/match",
            json={"text": own_product, "k": 20, "min_score": 0, "leader_firm_id": keys.leader_a_firm},
        ).json()["results"]
    assert keys.leader_a_firm in [r["firm_id"] for r in plain]
    assert keys.leader_a_firm not in [r["firm_id"] for r in excluded]
    top = excluded[0]
    assert set(top) >= {
        "firm_id",
        "name",
        "province",
        "city",
        "scale",
        "score",
        "reasons",
        "matched_products",
    }
    assert top["reasons"] and all(isinstance(r, str) and r for r in top["reasons"])
    assert [r["score"] for r in excluded] == sorted((r["score"] for r in excluded), reverse=True)


def test_results_below_the_relevance_floor_are_left_out(world: World) -> None:
    server, keys = world
    with server.client(keys.bureau_gd) as c:
        body = {"text": "液氦", "scope": "inside", "k": 10}
        every = c.post("/v1/match", json={**body, "min_score": 0}).json()["results"]
        default = c.post("/v1/match", json=body).json()["results"]
        strict = c.post("/v1/match", json={**body, "min_score": 0.5}).json()["results"]
        assert c.post("/v1/match", json={**body, "min_score": 2}).status_code == 422
    assert len(every) == 10  # padded with whatever scores highest
    assert all(r["score"] >= 0.1 for r in default) and len(default) < len(every)
    assert all(r["score"] >= 0.5 for r in strict) and len(strict) <= len(default)
    # the floor removes firms and never reorders the rest (local SMEs' boost may put a firm just
    # below the floor above one just over it, so the kept list is a subsequence, not a prefix)
    kept = [r["firm_id"] for r in every if r["score"] >= 0.1]
    assert [r["firm_id"] for r in default] == kept[: len(default)]


def test_scope_splits_inside_and_outside(world: World) -> None:
    server, keys = world
    with server.client(keys.bureau_gd) as c:
        inside = c.post("/v1/match", json={"text": "分子泵", "scope": "inside", "k": 10}).json()
        outside = c.post("/v1/match", json={"text": "分子泵", "scope": "outside", "k": 10}).json()
        everyone = c.post("/v1/match", json={"text": "分子泵", "scope": "all", "k": 30}).json()
    assert inside["region"]["province"] == "广东省"
    assert inside["results"] and all(r["province"] == "广东省" for r in inside["results"])
    assert outside["results"] and all(r["province"] != "广东省" for r in outside["results"])
    ids = {r["firm_id"] for r in everyone["results"]}
    assert {r["firm_id"] for r in inside["results"][:3]} <= ids


def test_gap_list_recommendations_give_two_lists_per_item(world: World) -> None:
    server, keys = world
    with server.client(keys.leader_a) as c:
        gap_list = c.get("/v1/gap-lists").json()["items"][0]
        recs = c.get(f"/v1/gap-lists/{gap_list['id']}/recommendations", params={"k": 5}).json()
    assert recs["gap_list_id"] == gap_list["id"] and recs["version"] == gap_list["version"]
    assert [i["item"]["name"] for i in recs["items"]] == [i["name"] for i in gap_list["items"]]
    region = recs["region"]["province"]
    for item in recs["items"]:
        assert item["investment_targets"], item["item"]["name"]
        assert len(item["investment_targets"]) <= 5 and len(item["local_suppliers"]) <= 5
        assert all(r["province"] != region for r in item["investment_targets"])
        assert all(r["province"] == region for r in item["local_suppliers"])
        assert all(
            r["firm_id"] != keys.leader_a_firm for r in item["investment_targets"] + item["local_suppliers"]
        )


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/firms", {"limit": 201}),
        ("/v1/gap-lists", {"limit": 10_000}),
        ("/v1/firms", {"limit": 0}),
    ],
)
def test_page_size_is_capped(world: World, path: str, params: dict[str, int]) -> None:
    server, keys = world
    with server.client(keys.admin) as c:
        assert c.get(path, params=params).status_code == 422


def test_k_is_capped(world: World) -> None:
    server, keys = world
    with server.client(keys.admin) as c:
        assert c.post("/v1/match", json={"text": "分子泵", "k": 101}).status_code == 422
        assert c.post("/v1/match", json={"text": "分子泵", "k": 0}).status_code == 422
        assert c.post("/v1/match", json={"text": "   "}).status_code == 422
        gap_list = c.get("/v1/gap-lists").json()["items"][0]
        assert c.get(f"/v1/gap-lists/{gap_list['id']}/recommendations", params={"k": 500}).status_code == 422


def test_cursor_pagination_walks_every_firm_once(world: World) -> None:
    server, keys = world
    seen: list[str] = []
    cursor = None
    with server.client(keys.bureau_gd) as c:
        while True:
            page = c.get("/v1/firms", params={"limit": 97} | ({"cursor": cursor} if cursor else {})).json()
            seen += [f["id"] for f in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        filtered = c.get("/v1/firms", params={"province": "粤", "tag": "专精特新", "limit": 200}).json()[
            "items"
        ]
    assert len(seen) == len(set(seen)) >= 300
    assert seen == sorted(seen)
    assert filtered and all(f["province"] == "广东省" and "专精特新" in f["tags"] for f in filtered)


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("writable") / "var"
    with serve_sample(data_dir, max_bulk_records=50, max_body_bytes=64 * 1024) as served:
        yield served


def test_bulk_ingest_reports_errors_and_writes_nothing(writable: World) -> None:
    server, keys = writable
    ndjson = "\n".join(
        [
            json.dumps(
                {"id": "NEW-1", "name": "新企业", "province": "浙江", "products": [{"name": "量子点光刻胶"}]},
                ensure_ascii=False,
            ),
            json.dumps({"id": "NEW-2", "name": "", "province": "浙江"}, ensure_ascii=False),
        ]
    )
    with server.client(keys.admin) as c:
        rejected = c.post(
            "/v1/firms", content=ndjson.encode(), headers={"content-type": "application/x-ndjson"}
        )
        assert rejected.status_code == 422
        assert rejected.json()["written"] is False
        assert [(e["line"], e["id"], e["field"]) for e in rejected.json()["errors"]] == [(2, "NEW-2", "name")]
        assert c.get("/v1/firms/NEW-1").status_code == 404
        partial = c.post(
            "/v1/firms",
            params={"skip_invalid": True},
            content=ndjson.encode(),
            headers={"content-type": "application/x-ndjson"},
        )
        assert partial.status_code == 200 and partial.json()["inserted"] == 1
        again = c.post(
            "/v1/firms",
            params={"skip_invalid": True},
            content=ndjson.encode(),
            headers={"content-type": "application/x-ndjson"},
        )
        assert again.json()["unchanged"] == 1 and again.json()["inserted"] == 0


def test_writes_are_searchable_at_once_and_deletes_disappear(writable: World) -> None:
    server, keys = writable
    record = {
        "id": "FRESH-1",
        "name": "新材光刻",
        "province": "湖北省",
        "products": [{"name": "极紫外光刻胶", "share": 0.8}],
    }
    with server.client(keys.admin) as c:
        assert c.post("/v1/firms", json=[record]).status_code == 200
        hits = c.post("/v1/match", json={"text": "极紫外光刻胶", "k": 5}).json()["results"]
        assert hits[0]["firm_id"] == "FRESH-1"
        assert c.delete("/v1/firms/FRESH-1").status_code == 204
        hits = c.post("/v1/match", json={"text": "极紫外光刻胶", "k": 20}).json()["results"]
        assert "FRESH-1" not in [h["firm_id"] for h in hits]
        assert c.get("/v1/firms/FRESH-1").status_code == 404
        assert c.get("/readyz").json()["index"]["in_step"] is True


def test_control_characters_and_out_of_range_values_never_reach_the_database(writable: World) -> None:
    """Found by Schemathesis on PostgreSQL: a NUL in a text field and a cursor beyond the id
    column's range were 500s there. Both databases now answer alike."""
    server, keys = writable
    with server.client(keys.admin) as c:
        created = c.post(
            "/v1/gap-lists",
            json={
                "leader_firm_id": keys.leader_a_firm,
                "title": "进口\x00替代清单",
                "items": [{"name": "分子\x00泵"}],
            },
        )
        assert created.status_code == 201, created.text
        assert created.json()["title"] == "进口替代清单"
        assert created.json()["items"][0]["name"] == "分子泵"
        assert c.get("/v1/firms/bad%00id").status_code == 422
        assert c.get("/v1/gap-lists/gl_%00").status_code == 422
        assert c.get("/v1/firms", params={"q": "泵\x00"}).status_code in (200, 422)
        assert c.get("/v1/audit", params={"cursor": 2**31}).status_code == 422
        assert c.get("/v1/audit", params={"cursor": 2**31 - 1}).json()["items"] == []
        assert c.get("/v1/audit", params={"object_id": "\x00"}).status_code in (200, 422)


def test_bulk_and_body_limits(writable: World) -> None:
    server, keys = writable
    too_many = [{"id": f"B-{i}", "name": f"企业{i}"} for i in range(51)]
    with server.client(keys.admin) as c:
        response = c.post("/v1/firms", json=too_many)
        assert response.status_code == 413 and "50" in response.json()["detail"]
        huge = [{"id": "H-1", "name": "大", "description": "字" * 70_000}]
        assert c.post("/v1/firms", json=huge).status_code == 413
        assert (
            c.post("/v1/firms", content=b"[{]", headers={"content-type": "application/json"}).status_code
            == 422
        )
        assert c.post("/v1/firms", json=[]).status_code == 422


def test_gap_list_revision_keeps_version_and_validates(writable: World) -> None:
    server, keys = writable
    with server.client(keys.leader_a) as c:
        created = c.post(
            "/v1/gap-lists", json={"title": "版本测试", "items": [{"name": "离子源", "risk_level": 4}]}
        )
        assert created.status_code == 201
        list_id = created.json()["id"]
        revised = c.put(
            f"/v1/gap-lists/{list_id}",
            json={
                "title": "版本测试",
                "items": [{"name": "离子源", "risk_level": 5}, {"name": "四极杆", "import_share": 0.8}],
            },
        )
        assert revised.json()["version"] == 2 and len(revised.json()["items"]) == 2
        bad = c.put(
            f"/v1/gap-lists/{list_id}", json={"title": "x", "items": [{"name": "离子源", "risk_level": 9}]}
        )
        assert bad.status_code == 422
        assert c.post("/v1/gap-lists", json={"title": "空清单", "items": []}).status_code == 422
        assert c.get(f"/v1/gap-lists/{list_id}").json()["version"] == 2


def test_per_key_rate_limit_answers_429(tmp_path: Path) -> None:
    with serve_sample(tmp_path / "var", rate_limit_per_minute=6, rate_limit_burst=3) as (server, keys):
        with server.client(keys.bureau_gd) as c:
            codes = [c.get("/v1/firms", params={"limit": 1}).status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            limited = c.get("/v1/firms")
            assert int(limited.headers["retry-after"]) >= 1 and "频繁" in limited.json()["detail"]
        with server.client(keys.bureau_js) as other:  # buckets are per key
            assert other.get("/v1/firms", params={"limit": 1}).status_code == 200
