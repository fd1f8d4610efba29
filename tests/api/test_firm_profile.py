"""企业画像 (issue 13): ``GET /v1/firms/{id}/profile`` and the dashboard's firm page — products and
their graph neighbourhood, standing for the caller's weak links, outreach history, a leader's own
gap lists; scoped (bureau: its region; leader: its own firm; admin: all) and audited."""

from __future__ import annotations

import pytest

from tests.chainmatch.test_chains import CHAIN_ID
from tests.conftest import World
from tests.web.test_dashboard import login

pytestmark = pytest.mark.world(chain=True)  # the sample and its chain, in process


def a_candidate(world: World, province: str = "江苏省", nth: int = 0) -> tuple[str, str, str]:
    """(firm id, node id, product) of a candidate in ``province`` on the sample chain's map."""
    server, keys = world
    with server.client(keys.bureau_gd) as c:
        data = c.get(f"/v1/chains/{CHAIN_ID}/map", params={"province": province}).json()
    cand = data["candidates"][nth]
    best = cand["rankings"][0]
    return cand["firm_id"], best["node_id"], best["product"]


def test_bureau_sees_products_graph_standing_and_outreach(world: World) -> None:
    server, keys = world
    firm_id, node_id, product = a_candidate(world)
    with server.client(keys.bureau_gd) as c:
        response = c.get(f"/v1/firms/{firm_id}/profile", params={"chain": CHAIN_ID, "node": node_id})
    assert response.status_code == 200, response.text
    profile = response.json()
    assert profile["firm"]["id"] == firm_id and profile["firm"]["contact"] is None
    assert profile["place_class"] == "elsewhere_china" and profile["region"] == "广东省"
    assert profile["products"] and all("upstream" in p and "makers" in p for p in profile["products"])
    assert any(p["upstream"] or p["used_in"] or p["broader"] for p in profile["products"])
    focus = [s for s in profile["standing"] if s["node_id"] == node_id and s["product"] == product]
    assert focus and focus[0]["rank"] >= 1 and any("国内其他省份" in r for r in focus[0]["reasons"])
    assert profile["outreach"] == []

    body = {"chain_id": CHAIN_ID, "node_id": node_id, "product": product, "firm_id": firm_id}
    with server.client(keys.bureau_gd) as c:
        assert c.post("/v1/outreach", json=body).status_code == 201
        after = c.get(f"/v1/firms/{firm_id}/profile").json()
    assert [(o["node_id"], o["product"], o["stage"]) for o in after["outreach"]] == [
        (node_id, product, "shortlisted")
    ]
    # another province's bureau: the firm, but none of 广东's standing or records
    with server.client(keys.bureau_js) as c:
        other = c.get(f"/v1/firms/{firm_id}/profile").json()
    assert other["region"] == "江苏省" and other["outreach"] == []
    assert all(s["region"] == "江苏省" for s in other["standing"]) and other["gap_lists"] == []
    with server.client(keys.bureau_js) as c:
        assert c.get(f"/v1/firms/{firm_id}/profile", params={"region": "广东省"}).status_code == 403


def test_leader_sees_its_own_firm_and_lists_only(world: World) -> None:
    server, keys = world
    with server.client(keys.leader_a) as c:
        own = c.get(f"/v1/firms/{keys.leader_a_firm}/profile")
        other = c.get(f"/v1/firms/{keys.leader_b_firm}/profile")
        missing = c.get("/v1/firms/NO-SUCH-FIRM/profile")
    assert own.status_code == 200 and other.status_code == 404 and missing.status_code == 404
    assert other.json()["detail"] == missing.json()["detail"]  # nothing tells them apart
    profile = own.json()
    assert profile["standing"] == [] and profile["outreach"] == [] and profile["region"] is None
    assert profile["gap_lists"] and all(gl["items"] for gl in profile["gap_lists"])
    with server.client(keys.admin) as c:
        rows = c.get("/v1/audit", params={"object_id": profile["gap_lists"][0]["id"], "limit": 200}).json()
    assert any(
        r["action"] == "profile" and r["role"] == "leader" and r["route"].endswith("/profile")
        for r in rows["items"]
    )
    with server.client(keys.admin) as c:
        admin = c.get(f"/v1/firms/{keys.leader_a_firm}/profile")
        gd = c.get(f"/v1/firms/{keys.leader_a_firm}/profile", params={"region": "广东省"})
    assert admin.status_code == 200 and gd.status_code == 200
    assert gd.json()["place_class"] == "same_province" and gd.json()["gap_lists"]
    with server.client() as c:
        assert c.get(f"/v1/firms/{keys.leader_a_firm}/profile").status_code == 401


def test_dashboard_firm_page_is_scoped(world: World) -> None:
    import httpx

    server, keys = world
    firm_id, node_id, _ = a_candidate(world, nth=-1)  # not the one shortlisted above

    def session() -> httpx.Client:
        return server.client(follow_redirects=True)

    with session() as c:
        login(c, keys.bureau_gd)
        page = c.get(f"/firms/{firm_id}", params={"chain": CHAIN_ID, "node": node_id})
        map_page = c.get(f"/chains/{CHAIN_ID}/map", params={"link": node_id, "province": "江苏省"})
    assert page.status_code == 200 and 'id="firm-standing"' in page.text and "加入招商跟踪" in page.text
    assert map_page.status_code == 200 and 'class="geo-map china-map"' in map_page.text
    assert f'data-firm="{firm_id}"' in map_page.text
    with session() as c:
        login(c, keys.leader_a)
        assert c.get(f"/firms/{keys.leader_a_firm}").status_code == 200
        assert c.get(f"/firms/{keys.leader_b_firm}").status_code == 404
        assert c.get(f"/chains/{CHAIN_ID}/map").status_code == 403
