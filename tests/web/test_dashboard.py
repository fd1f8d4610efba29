"""The dashboard over real HTTP (no browser): login and sessions, cookie flags, CSRF, who sees what.
The browser walk-through is tests/e2e/test_dashboard_browser.py."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from sqlmodel import select

from chainmatch.db import make_engine, session_scope
from chainmatch.keys import create_key, revoke_key
from models.apikey import Role
from models.gap import GapList
from tests.chainmatch.test_chains import CHAIN_ID
from tests.conftest import World

pytestmark = pytest.mark.world(chain=True)  # the sample and its chain, in process


def browser(world: World) -> httpx.Client:
    server, _ = world
    return server.client(follow_redirects=False)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(c: httpx.Client, key: str, next_url: str = "/") -> httpx.Response:
    form = c.get("/login", params={"next": next_url})
    assert form.status_code == 200
    return c.post("/login", data={"api_key": key, "csrf": csrf_of(form.text), "next": next_url})


def test_pages_need_a_login_and_the_cookie_holds_no_key(world: World) -> None:
    _, keys = world
    with browser(world) as c:
        first = c.get(f"/chains/{CHAIN_ID}")
        assert first.status_code == 303 and first.headers["location"].startswith("/login?next=")
        wrong = login(c, "cm_nope_nope")
        assert wrong.status_code == 401 and "API 密钥无效" in wrong.text
        assert "cm_session" not in c.cookies
        ok = login(c, keys.bureau_gd, f"/chains/{CHAIN_ID}")
        assert ok.status_code == 303 and ok.headers["location"] == f"/chains/{CHAIN_ID}"
        cookie = next(h for h in ok.headers.get_list("set-cookie") if h.startswith("cm_session="))
        assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/" in cookie
        token = cookie.split(";")[0].split("=", 1)[1]
        assert keys.bureau_gd not in cookie and keys.bureau_gd.split("_", 2)[2] not in token
        page = c.get(f"/chains/{CHAIN_ID}")
        assert page.status_code == 200 and "薄弱环节" in page.text and "<svg" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert keys.bureau_gd not in page.text
        # logout ends the session on the server: the old cookie is useless afterwards
        out = c.post("/logout", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303
        c.cookies.set("cm_session", token)
        assert c.get("/").status_code == 303


def test_login_form_needs_its_token_and_next_stays_on_site(world: World) -> None:
    _, keys = world
    with browser(world) as c:
        forged = c.post("/login", data={"api_key": keys.bureau_gd, "csrf": "forged", "next": "/"})
        assert forged.status_code == 400 and "cm_session" not in c.cookies
        away = login(c, keys.bureau_gd, "//evil.example/x")
        assert away.status_code == 303 and away.headers["location"] == "/"


def test_forms_need_the_session_csrf_token(world: World) -> None:
    _, keys = world
    with browser(world) as c:
        login(c, keys.bureau_gd)
        link = c.get(f"/chains/{CHAIN_ID}/links/cryo")
        assert link.status_code == 200
        form = re.search(
            r'<form method="post" action="/outreach" class="shortlist-form">(.*?)</form>', link.text, re.S
        )
        assert form, "no shortlist form"
        fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form.group(1)))
        assert c.post("/outreach", data=fields | {"csrf": "wrong"}).status_code == 403
        done = c.post("/outreach", data=fields)
        assert done.status_code == 303 and "kind=ok" in done.headers["location"]
        again = c.get(f"/chains/{CHAIN_ID}/links/cryo")
        assert "在招商跟踪中查看" in again.text
        board = c.get("/pipeline")
        assert f'data-firm="{fields["firm_id"]}"' in board.text
        record_id = re.search(r'id="record-(\d+)"', board.text).group(1)  # type: ignore[union-attr]
        move = {"csrf": csrf_of(board.text), "stage": "declined", "reason": "", "next": "/pipeline"}
        rejected = c.post(f"/outreach/{record_id}/stage", data=move)
        assert rejected.status_code == 303 and "kind=error" in rejected.headers["location"]
        moved = c.post(f"/outreach/{record_id}/stage", data=move | {"stage": "contacted"})
        assert moved.status_code == 303 and "kind=ok" in moved.headers["location"]
        assert c.post(f"/outreach/{record_id}/stage", data=move | {"csrf": "x"}).status_code == 403


def test_revoking_the_key_ends_the_session(world: World) -> None:
    server, _ = world
    db = make_engine(server.settings)
    with session_scope(db) as session:
        key, plaintext = create_key(session, Role.BUREAU, province="广东省", label="临时")
        key_id = key.id
    with browser(world) as c:
        login(c, plaintext)
        home = c.get("/")
        assert home.status_code == 200 and "临时" in home.text
        with session_scope(db) as session:
            revoke_key(session, str(key_id))
        assert c.get("/").status_code == 303
    db.dispose()


def test_each_role_sees_only_its_own(world: World) -> None:
    import json

    from tests.conftest import SAMPLE_DIR

    _, keys = world
    lists = json.loads((SAMPLE_DIR / "gap_lists.json").read_text(encoding="utf-8"))
    title_of = {gl["leader_firm_id"]: gl["title"] for gl in lists}
    with browser(world) as c:
        login(c, keys.leader_a)
        home = c.get("/")
        assert home.status_code == 200 and title_of[keys.leader_a_firm] in home.text
        assert title_of[keys.leader_b_firm] not in home.text
        assert c.get(f"/chains/{CHAIN_ID}").status_code == 403
        assert c.get("/pipeline").status_code == 403
    with browser(world) as c:
        login(c, keys.bureau_js)
        own = c.get(f"/chains/{CHAIN_ID}")
        assert own.status_code == 200 and "江苏省" in own.text
        assert not any(title[:4] in own.text for title in title_of.values())  # no leader's declared data
        other = c.get(f"/chains/{CHAIN_ID}", params={"region": "广东省"})
        assert other.status_code == 403
        assert c.get("/chains/no-such-chain").status_code == 404
    with browser(world) as c:
        login(c, keys.admin)
        assert "全部产业链" in c.get("/pipeline").text
        page = c.get(f"/chains/{CHAIN_ID}", params={"region": "广东省"})
        assert page.status_code == 200 and "链主申报" in page.text


def test_static_files_and_downloads(world: World) -> None:
    _, keys = world
    with browser(world) as c:
        assert c.get("/static/dashboard.css").headers["content-type"].startswith("text/css")
        assert c.get("/static/..%2F..%2Fchainmatch%2Fsettings.py").status_code == 404
        assert c.get("/static/nothing.js").status_code == 404
        login(c, keys.bureau_gd)
        html = c.get(f"/chains/{CHAIN_ID}/report.html", params={"top": 2, "k": 2})
        xlsx = c.get(f"/chains/{CHAIN_ID}/report.xlsx", params={"top": 2, "k": 2})
        assert (
            html.status_code == 200
            and "attachment" in html.headers["content-disposition"]
            and "<svg" in html.text
        )
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_market_nodes_and_admin_regions(world: World) -> None:
    _, keys = world
    with browser(world) as c:
        login(c, keys.admin)
        home = c.get("/")
        assert home.status_code == 200 and 'name="region"' in home.text  # admin picks a region per chain
        market = c.get(f"/chains/{CHAIN_ID}/links/medical", params={"region": "广东省"})
        assert (
            market.status_code == 200
            and "下游应用市场" in market.text
            and "shortlist-form" not in market.text
        )
        missing = c.get(f"/chains/{CHAIN_ID}/links/no-such-node", params={"region": "广东省"})
        assert missing.status_code == 404 and "no-such-node" in missing.text
        unknown = c.get(f"/chains/{CHAIN_ID}", params={"region": "火星"})
        assert unknown.status_code == 422 and "未知省份" in unknown.text
        js = c.get(f"/chains/{CHAIN_ID}", params={"region": "江苏省"})
        assert js.status_code == 200 and "精密仪器设备 · 江苏省" in js.text


def test_a_province_bureau_narrows_to_a_city(world: World) -> None:
    _, keys = world
    with browser(world) as c:
        login(c, keys.bureau_gd)
        province = c.get(f"/chains/{CHAIN_ID}")
        city = c.get(f"/chains/{CHAIN_ID}", params={"city": "深圳"})
    assert 'id="region-form"' in province.text
    assert city.status_code == 200 and "精密仪器设备 · 广东省深圳市" in city.text

    def local_makers(html: str) -> int:
        return sum(int(m) for m in re.findall(r'<td class="nowrap">(\d+) / \d+ / \d+</td>', html))

    # Shenzhen makes fewer of the chain's products than all of Guangdong; the rest count as elsewhere
    assert 0 < local_makers(city.text) < local_makers(province.text)


def csrf_header_of(html: str) -> dict[str, str]:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert match, "no CSRF token for the page's script"
    return {"X-CSRF-Token": match.group(1)}


def finished_job(c: httpx.Client, job_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job: dict[str, object] = c.get(f"/v1/report-jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.3)
    raise AssertionError("the report job did not finish")


def test_the_dashboard_cookie_calls_v1_with_its_csrf_token(world: World) -> None:
    server, keys = world
    jobs = f"/v1/chains/{CHAIN_ID}/report-jobs"
    body = {"top": 2, "k": 2}
    with browser(world) as c:
        assert c.post(jobs, json=body).status_code == 401  # no key, no session
        login(c, keys.bureau_gd)
        csrf = csrf_header_of(c.get(f"/chains/{CHAIN_ID}").text)
        assert c.get("/v1/chains").status_code == 200  # a read needs no token
        # a cookie-authenticated write without the session's token, or with another, is refused
        assert c.post(jobs, json=body).status_code == 403
        assert c.post(jobs, json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
        started = c.post(jobs, json=body, headers=csrf)
        assert started.status_code == 202
        job_id = started.json()["id"]
        assert finished_job(c, job_id)["state"] == "done"
        report = c.get(f"/v1/report-jobs/{job_id}/result", params={"format": "xlsx"})
        assert report.status_code == 200 and report.content[:2] == b"PK"
        assert "attachment" in report.headers["content-disposition"]
        # the dashboard's own copies of these routes are gone
        assert c.get(f"/jobs/{job_id}").status_code == 404
        assert c.post(f"/chains/{CHAIN_ID}/report-jobs", data={"csrf": csrf["X-CSRF-Token"]}).status_code in (
            404,
            405,
        )
        # logout ends the session for /v1 too
        c.post("/logout", data={"csrf": csrf["X-CSRF-Token"]})
        assert c.get("/v1/chains").status_code == 401
    # an API key needs no CSRF token, cookie or not
    with server.client(keys.bureau_gd) as api:
        assert api.post(jobs, json=body).status_code == 202


def test_a_leaders_cookie_has_the_leaders_scope_on_v1(world: World) -> None:
    server, keys = world
    db = make_engine(server.settings)
    with session_scope(db, write=False) as session:
        other = session.exec(select(GapList.id).where(GapList.leader_firm_id == keys.leader_b_firm)).first()
    db.dispose()
    assert other is not None  # leader B's list exists
    with browser(world) as c:
        login(c, keys.leader_a)
        assert c.get(f"/v1/gap-lists/{other}").status_code == 404  # invisible, as with leader A's key
        assert c.get(f"/v1/chains/{CHAIN_ID}/weak-links").status_code == 403
        csrf = csrf_header_of(c.get("/").text)
        assert c.delete(f"/v1/gap-lists/{other}").status_code == 403  # no token: refused first
        assert c.delete(f"/v1/gap-lists/{other}", headers=csrf).status_code == 404
