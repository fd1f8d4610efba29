"""The outreach pipeline over real HTTP: tracking candidates per region, stage rules, history, and
the feedback exported as training data."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest

from tests.chainmatch.test_chains import CHAIN_ID, GD
from tests.conftest import World

pytestmark = pytest.mark.world(chain=True)  # the sample and its chain, in process


def client(world: World, role: str | None) -> httpx.Client:
    server, keys = world
    return server.client(getattr(keys, role) if role else None)


def firm_ids(world: World) -> tuple[str, str]:
    """The top investment target and local supplier of the weakest product that has both, via
    the API (the weakest links' products are true gaps: nobody in 广东省 makes them)."""
    with client(world, "bureau_gd") as c:
        report = c.post(f"/v1/chains/{CHAIN_ID}/report", json={"k": 3, "top": 10}).json()
    product = next(
        p
        for entry in report["investment_map"]
        for p in entry["products"]
        if p["investment_targets"] and p["local_suppliers"]
    )
    return product["investment_targets"][0]["firm_id"], product["local_suppliers"][0]["firm_id"]


def track(c: httpx.Client, firm_id: str, product: str = "超导磁体", **extra: object) -> httpx.Response:
    body = {"chain_id": CHAIN_ID, "node_id": "cryo", "product": product, "firm_id": firm_id} | extra
    return c.post("/v1/outreach", json=body)


def test_track_a_candidate_and_move_it_through_the_stages(world: World) -> None:
    target, local = firm_ids(world)
    with client(world, "bureau_gd") as c:
        created = track(c, target, owner="张科长", rank=1, score=0.91, for_product="3.0T磁共振成像系统")
        assert created.status_code == 201, created.text
        record = created.json()
        assert (
            record["kind"] == "target"
            and record["stage"] == "shortlisted"
            and record["stage_label"] == "已入选"
        )
        assert record["region_province"] == GD and record["version"] == 1 and record["firm_name"]
        assert track(c, target).status_code == 409  # tracked once per region
        rid = record["id"]

        local_record = track(c, local)
        assert local_record.status_code == 201 and local_record.json()["kind"] == "local"
        assert track(c, local, product="液氦", kind="target").status_code == 422  # inside the region: local

        moved = c.post(
            f"/v1/outreach/{rid}/stage",
            json={"stage": "contacted", "note": "电话联系", "expected_version": 1},
        )
        assert (
            moved.status_code == 200 and moved.json()["stage"] == "contacted" and moved.json()["version"] == 2
        )
        assert "电话联系" in moved.json()["notes"]
        stale = c.post(f"/v1/outreach/{rid}/stage", json={"stage": "visited", "expected_version": 1})
        assert stale.status_code == 409
        assert c.post(f"/v1/outreach/{rid}/stage", json={"stage": "contacted"}).status_code == 409
        assert (
            c.post(f"/v1/outreach/{rid}/stage", json={"stage": "declined"}).status_code == 422
        )  # reason needed
        assert c.post(f"/v1/outreach/{rid}/stage", json={"stage": "won"}).status_code == 422
        declined = c.post(f"/v1/outreach/{rid}/stage", json={"stage": "declined", "reason": "暂无扩产计划"})
        assert declined.json()["decline_reason"] == "暂无扩产计划"
        reopened = c.post(f"/v1/outreach/{rid}/stage", json={"stage": "negotiating"})
        assert reopened.status_code == 200 and reopened.json()["decline_reason"] is None
        signed = c.post(f"/v1/outreach/{rid}/stage", json={"stage": "signed", "note": "签约落地"})
        assert signed.status_code == 200
        assert (
            c.post(f"/v1/outreach/{rid}/stage", json={"stage": "declined", "reason": "x"}).status_code == 409
        )

        patched = c.patch(f"/v1/outreach/{rid}", json={"owner": "李主任", "due_on": "2026-12-31"})
        assert patched.status_code == 200 and patched.json()["owner"] == "李主任"
        assert patched.json()["due_on"] == "2026-12-31" and patched.json()["stage"] == "signed"

        events = c.get(f"/v1/outreach/{rid}/events").json()
    assert [(e["from_stage"], e["to_stage"]) for e in events] == [
        (None, "shortlisted"),
        ("shortlisted", "contacted"),
        ("contacted", "declined"),
        ("declined", "negotiating"),
        ("negotiating", "signed"),
    ]
    assert events[2]["reason"] == "暂无扩产计划"


def test_invalid_records_are_rejected(world: World) -> None:
    target, _ = firm_ids(world)
    with client(world, "bureau_gd") as c:
        assert track(c, "NO-SUCH-FIRM").status_code == 422
        bad_node = c.post(
            "/v1/outreach",
            json={"chain_id": CHAIN_ID, "node_id": "nowhere", "product": "x", "firm_id": target},
        )
        assert bad_node.status_code == 422 and "nowhere" in bad_node.text
        bad_chain = c.post(
            "/v1/outreach", json={"chain_id": "none", "node_id": "cryo", "product": "x", "firm_id": target}
        )
        assert bad_chain.status_code == 404
        assert track(c, target, product="液氦", region={"province": "江苏省"}).status_code == 403
        assert track(c, target, product="液氦", stage="declined").status_code == 422
    with client(world, "admin") as c:
        assert track(c, target, product="GM制冷机").status_code == 422  # admin must name the region
        admin_made = track(c, target, product="GM制冷机", region={"province": "江苏省"})
        assert admin_made.status_code == 201 and admin_made.json()["region_province"] == "江苏省"


def test_records_are_scoped_to_the_region(world: World) -> None:
    target, _ = firm_ids(world)
    with client(world, "bureau_gd") as c:
        rid = track(c, target, product="低温杜瓦").json()["id"]
        mine = c.get("/v1/outreach", params={"limit": 200}).json()["items"]
    assert rid in [r["id"] for r in mine] and all(r["region_province"] == GD for r in mine)
    with client(world, "bureau_js") as c:
        assert c.get(f"/v1/outreach/{rid}").status_code == 404
        assert c.post(f"/v1/outreach/{rid}/stage", json={"stage": "contacted"}).status_code == 404
        assert c.patch(f"/v1/outreach/{rid}", json={"owner": "x"}).status_code == 404
        assert c.get(f"/v1/outreach/{rid}/events").status_code == 404
        theirs = c.get("/v1/outreach").json()["items"]
        assert all(r["region_province"] == "江苏省" for r in theirs)
        assert all(row["region_province"] == "江苏省" for row in c.get("/v1/outreach/feedback").json())
        # the same candidate may be tracked by another region independently
        assert track(c, target, product="低温杜瓦").status_code == 201
    with client(world, "leader_a") as c:
        assert c.get("/v1/outreach").status_code == 403
        assert c.get(f"/v1/outreach/{rid}").status_code == 403
        assert c.get("/v1/outreach/feedback").status_code == 403
    with client(world, None) as c:
        assert c.get("/v1/outreach").status_code == 401


def test_list_filters_and_pages(world: World) -> None:
    _, local = firm_ids(world)
    with client(world, "bureau_gd") as c:
        for product in ("超导线材", "铌钛超导线", "GM制冷机"):
            assert track(c, local, product=product).status_code == 201
        everything = c.get("/v1/outreach", params={"limit": 200}).json()["items"]
        pages, cursor = [], None
        while True:
            params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = c.get("/v1/outreach", params=params).json()
            pages.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        local_only = c.get("/v1/outreach", params={"kind": "local", "limit": 200}).json()["items"]
        by_stage = c.get("/v1/outreach", params={"stage": "shortlisted", "limit": 200}).json()["items"]
        assert c.get("/v1/outreach", params={"limit": 10_000}).status_code == 422
    assert [r["id"] for r in pages] == [r["id"] for r in everything] and len(everything) >= 3
    assert local_only and all(r["kind"] == "local" for r in local_only)
    assert by_stage and all(r["stage"] == "shortlisted" for r in by_stage)


def test_feedback_export_is_training_data(world: World) -> None:
    target, _ = firm_ids(world)
    with client(world, "bureau_gd") as c:
        rid = track(c, target, product="铌钛超导线", rank=2, score=0.5).json()["id"]
        c.post(f"/v1/outreach/{rid}/stage", json={"stage": "visited"})
        c.post(f"/v1/outreach/{rid}/stage", json={"stage": "declined", "reason": "价格过高"})
        rows = c.get("/v1/outreach/feedback").json()
        jsonl = c.get("/v1/outreach/feedback", params={"format": "jsonl"})
        as_csv = c.get("/v1/outreach/feedback", params={"format": "csv"})
    mine = [r for r in rows if r["record_id"] == rid]
    assert [(r["stage"], r["grade"]) for r in mine] == [("shortlisted", 1), ("visited", 2), ("declined", 0)]
    assert all(
        r["query"] == "铌钛超导线" and r["firm_id"] == target and r["scope"] == "outside" for r in mine
    )
    assert (
        mine[-1]["reason"] == "价格过高" and mine[-1]["previous_stage"] == "visited" and mine[0]["rank"] == 2
    )
    lines = [json.loads(line) for line in jsonl.text.splitlines()]
    assert [line["event_id"] for line in lines] == [r["event_id"] for r in rows]
    table = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert len(table) == len(rows) and table[-1]["grade"] == str(rows[-1]["grade"])
