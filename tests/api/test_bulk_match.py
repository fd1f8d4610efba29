"""Bulk paths for a data platform, in process (httpx.ASGITransport): POST /v1/match/batch (NDJSON, one rate-limit charge
scaled by size) and the region re-match job (progress, result per list, audited per list)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import World
from tests.worlds import serve_sample

TEXTS = ["涡轮分子泵", "离子源", "光电倍增管", "PMT", "用于质谱仪的离子源，主要依赖日本进口", "液氦"]


def lines(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines() if line]


def test_batch_answers_equal_single_calls_tagged_in_order(world: World) -> None:
    server, keys = world
    queries = [
        {"id": f"q{i}-{scope}", "text": text, "scope": scope, "k": 5}
        for i, text in enumerate(TEXTS)
        for scope in ("inside", "outside")
    ]
    with server.client(keys.bureau_gd) as c:
        response = c.post("/v1/match/batch", json={"queries": queries})
        assert response.status_code == 200, response.text
        out = lines(response)
        singles = [
            c.post("/v1/match", json={k: v for k, v in q.items() if k != "id"}).json() for q in queries
        ]
    assert out[-1] == {"done": True, "queries": len(queries), "answered": len(queries), "errors": 0}
    answers = out[:-1]
    assert [a["id"] for a in answers] == [q["id"] for q in queries]
    for answer, single in zip(answers, singles, strict=True):
        assert answer["status"] == 200
        assert answer["understood_as"] == single["understood_as"]
        assert answer["region"] == single["region"] == {"province": "广东省", "city": None}
        assert [(r["firm_id"], r["score"]) for r in answer["results"]] == [
            (r["firm_id"], r["score"]) for r in single["results"]
        ]


def test_batch_errors_are_per_query_and_the_call_is_validated_whole(world: World) -> None:
    server, keys = world
    with server.client(keys.bureau_gd) as c:
        out = lines(
            c.post(
                "/v1/match/batch",
                json={
                    "queries": [
                        {"id": "ok", "text": "离子源"},
                        {"id": "elsewhere", "text": "离子源", "region": "江苏"},
                        {"id": "big-k", "text": "离子源", "k": 500},
                    ]
                },
            )
        )
        assert [(a["id"], a["status"]) for a in out[:-1]] == [("ok", 200), ("elsewhere", 403), ("big-k", 422)]
        assert "error" in out[1] and "results" not in out[1]
        assert out[-1] == {"done": True, "queries": 3, "answered": 1, "errors": 2}
        duplicate = [{"id": "a", "text": "离子源"}, {"id": "a", "text": "液氦"}]
        assert c.post("/v1/match/batch", json={"queries": duplicate}).status_code == 422
        assert c.post("/v1/match/batch", json={"queries": []}).status_code == 422
        assert c.post("/v1/match/batch", json={"queries": [{"text": "离子源"}]}).status_code == 422
        too_many = [{"id": str(i), "text": "离子源"} for i in range(1001)]
        assert c.post("/v1/match/batch", json={"queries": too_many}).status_code == 422
    with server.client(keys.leader_a) as c:
        assert c.post("/v1/match/batch", json={"queries": [{"id": "x", "text": "离子源"}]}).status_code == 403
    with server.client() as c:
        assert c.post("/v1/match/batch", json={"queries": [{"id": "x", "text": "离子源"}]}).status_code == 401


def test_one_rate_limit_charge_scaled_by_size(tmp_path: Path) -> None:
    batch = {"queries": [{"id": str(i), "text": TEXTS[i % len(TEXTS)], "k": 3} for i in range(150)]}
    limited = serve_sample(
        tmp_path / "var", rate_limit_per_minute=1, rate_limit_burst=20, batch_queries_per_charge=10
    )
    with limited as (server, keys), server.client(keys.bureau_gd) as c:
        first = c.post("/v1/match/batch", json=batch)  # 15 tokens of 20: 150 answers
        assert first.status_code == 200 and lines(first)[-1]["answered"] == 150
        # 5 left: refused whole, nothing streamed, charged as one ordinary call
        second = c.post("/v1/match/batch", json=batch)
        assert second.status_code == 429 and int(second.headers["retry-after"]) >= 1
        codes = [c.get("/v1/firms", params={"limit": 1}).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 200, 429]
        with server.client(keys.bureau_js) as other:  # a batch above the burst costs the burst
            huge = {"queries": [{"id": str(i), "text": "液氦", "k": 1} for i in range(400)]}
            assert lines(other.post("/v1/match/batch", json=huge))[-1]["answered"] == 400
            assert other.get("/v1/firms", params={"limit": 1}).status_code == 429


def _wait(c: httpx.Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = c.get(f"/v1/rematch-jobs/{job_id}").json()
        assert status["state"] in ("queued", "running", "done"), status
        if status["state"] == "done":
            return status
        time.sleep(0.2)
    raise AssertionError("re-match job did not finish")


def test_rematch_job_ranks_every_list_of_the_region_with_progress(world: World) -> None:
    server, keys = world
    with server.client(keys.bureau_gd) as c:
        started = c.post("/v1/rematch-jobs", json={"k": 5})
        assert started.status_code == 202, started.text
        job = started.json()
        assert job["province"] == "广东省" and job["state"] in ("queued", "running", "done")
        assert "owner_key_id" not in job
        assert c.get(f"/v1/rematch-jobs/{job['id']}/result").status_code in (200, 404)
        status = _wait(c, job["id"])
        listed = c.get("/v1/gap-lists", params={"limit": 200}).json()["items"]
        region_lists = sorted(gl["id"] for gl in listed if gl["region_province"] == "广东省")
        assert status["done"] == status["total"] == len(region_lists) > 0
        result = c.get(f"/v1/rematch-jobs/{job['id']}/result")
        assert result.status_code == 200 and result.headers["cache-control"] == "no-store"
        out = lines(result)
        assert [r["gap_list_id"] for r in out] == region_lists
        assert status["items"] == sum(len(r["items"]) for r in out)
        single = c.get(f"/v1/gap-lists/{out[0]['gap_list_id']}/recommendations", params={"k": 5}).json()
        assert out[0] == single
        assert c.post("/v1/rematch-jobs", json={"region": {"province": "江苏"}}).status_code == 403
        assert c.post("/v1/rematch-jobs", json={"k": 500}).status_code == 422
    with server.client(keys.bureau_js) as c:  # another key's job does not exist for it
        assert c.get(f"/v1/rematch-jobs/{job['id']}").status_code == 404
        assert c.get(f"/v1/rematch-jobs/{job['id']}/result").status_code == 404
    with server.client(keys.leader_a) as c:
        assert c.post("/v1/rematch-jobs", json={}).status_code == 403
    with server.client(keys.admin) as c:
        assert c.post("/v1/rematch-jobs", json={}).status_code == 422  # admin names the region
        audit = c.get("/v1/audit", params={"object_id": region_lists[0]}).json()["items"]
        assert any(e["action"] == "rematch" and e["role"] == "bureau" for e in audit)
