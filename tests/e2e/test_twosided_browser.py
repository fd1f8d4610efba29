"""Both sides in a real headless browser: a supplier files and revises its offer; a leader submits
a gap list as written, sets a requirement and sees its matches with the offer marked; a bureau sees
the region's offers and the matchmaking page and downloads the invitation list. Also the same
pages over plain HTTP for the roles that may not see them."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_dashboard_browser import CHROMEDRIVER, CHROMIUM, driver, wait_for  # noqa: F401  (fixture)
from tests.twosided_world import LOCAL, PRODUCT, TWIN_A, World, make_world

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from make_world(tmp_path_factory.mktemp("twosided-browser"), live=True)


@contextmanager
def _login_http(world: World, key: str) -> Iterator[httpx.Client]:
    with world.server.client() as c:
        form = c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        assert c.post("/login", data={"api_key": key, "csrf": csrf.group(1), "next": "/"}).status_code == 303
        yield c


def test_pages_per_role_over_http(world: World) -> None:
    with _login_http(world, world.supplier_a) as c:
        home = c.get("/")
        assert home.status_code == 303 and home.headers["location"] == "/offers"
        assert c.get("/offers").status_code == 200
        assert c.get(f"/lists/{world.list_id}").status_code == 404
        assert c.get("/matchmaking").status_code == 403
        assert c.get("/matchmaking.xlsx").status_code == 403
    with _login_http(world, world.keys.leader_b) as c:
        assert c.get(f"/lists/{world.list_id}").status_code == 404
        assert c.get("/offers").status_code == 403
        assert world.list_id not in c.get("/matchmaking").text
    with _login_http(world, world.keys.leader_a) as c:
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/lists/new").text)
        assert csrf is not None
        bad = c.post(
            "/lists/upload",
            data={"csrf": csrf.group(1), "title": "坏表格"},
            files={"file": ("bad.csv", "名称,进口占比\n涡轮分子泵,170%\n".encode(), "text/csv")},
        )
        assert (
            bad.status_code == 422 and 'class="sheet-error"' in bad.text and "sheet-list-link" not in bad.text
        )
    with _login_http(world, world.keys.bureau_js) as c:
        assert c.get(f"/lists/{world.list_id}").status_code == 404
    with _login_http(world, world.keys.bureau_gd) as c:
        page = c.get(f"/lists/{world.list_id}")
        assert page.status_code == 200 and 'id="requirements-form"' not in page.text  # reads, never edits
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/offers").text)
        assert csrf is not None
        forged = c.post(f"/lists/{world.list_id}/requirements", data={"csrf": csrf.group(1)})
        assert forged.status_code == 403


def test_supplier_leader_and_bureau_in_the_browser(world: World, driver: Any, tmp_path: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    chrome = driver
    url = world.url

    def login(key: str) -> None:
        chrome.delete_all_cookies()
        chrome.get(f"{url}/login")
        chrome.find_element(By.ID, "api_key").send_keys(key)
        chrome.find_element(By.ID, "login-submit").click()

    # --- supplier: file an offer, then revise it
    login(world.supplier_a)
    wait_for(lambda: "/offers" in chrome.current_url, what="the supplier's offers page")
    assert "配套企业" in chrome.find_element(By.ID, "who").text
    chrome.find_element(By.ID, "offer-title").send_keys("双子泵业配套意愿")
    chrome.find_element(By.ID, "offer-products").send_keys(PRODUCT)
    chrome.find_element(By.ID, "offer-capacity").send_keys("年产 5000 台")
    chrome.find_element(By.ID, "offer-certs").send_keys("IATF 16949")
    chrome.find_element(By.ID, "offer-invest").click()
    chrome.find_element(By.ID, "offer-submit").click()
    wait_for(lambda: "已登记" in chrome.find_element(By.ID, "flash").text, what="offer saved")
    row = chrome.find_element(By.CSS_SELECTOR, "#offer-table tr.offer-row")
    row.find_element(By.CSS_SELECTOR, "a.edit-offer").click()
    capacity = wait_for(lambda: chrome.find_element(By.ID, "offer-capacity"), what="the edit form")
    capacity.clear()
    capacity.send_keys("年产 8000 台")
    chrome.find_element(By.ID, "offer-submit").click()
    wait_for(lambda: "第 2 版" in chrome.find_element(By.ID, "flash").text, what="offer revised")
    assert "年产 8000 台" in chrome.find_element(By.ID, "offer-table").text
    # a bad value comes back with the field named
    chrome.find_element(By.ID, "offer-title").send_keys("坏日期")
    chrome.find_element(By.ID, "offer-products").send_keys("齿轮")
    until = chrome.find_element(By.ID, "offer-until")
    until.clear()
    until.send_keys("明年")
    chrome.find_element(By.ID, "offer-submit").click()
    wait_for(lambda: "valid_until" in chrome.find_element(By.ID, "flash").text, what="the field named")

    # --- leader: submit a list as written, set a requirement, see the matches
    login(world.keys.leader_a)
    wait_for(lambda: chrome.find_elements(By.ID, "nav-new-list"), what="the leader's home")
    chrome.find_element(By.ID, "nav-new-list").click()
    wait_for(lambda: chrome.find_elements(By.ID, "list-form"), what="the new-list form")
    chrome.find_element(By.ID, "list-title-input").send_keys("浏览器提交的清单")
    chrome.find_element(By.ID, "list-items").send_keys(f"{PRODUCT}\n离子源，主要依赖日本进口，进口占比约70%")
    chrome.find_element(By.ID, "list-submit").click()
    wait_for(lambda: "清单已保存" in chrome.find_element(By.ID, "flash").text, what="list saved")
    block = chrome.find_element(By.CSS_SELECTOR, f'.item-block[data-item="{PRODUCT}"]')
    assert block.find_elements(By.CSS_SELECTOR, f'.candidate.has-offer[data-firm="{TWIN_A}"] .offer-mark')
    block.find_element(By.CSS_SELECTOR, "input.req-certs").send_keys("IATF 16949")
    chrome.find_element(By.ID, "requirements-submit").click()
    wait_for(lambda: "链主要求已保存" in chrome.find_element(By.ID, "flash").text, what="requirements saved")
    block = chrome.find_element(By.CSS_SELECTOR, f'.item-block[data-item="{PRODUCT}"]')
    assert "家企业被排除：无 IATF 16949" in block.find_element(By.CSS_SELECTOR, ".excluded").text
    firms = {e.get_attribute("data-firm") for e in block.find_elements(By.CSS_SELECTOR, ".candidate")}
    assert firms == {TWIN_A}
    assert chrome.find_element(By.ID, "model-version").text
    chrome.save_screenshot(str(tmp_path / "leader-list.png"))
    # ... or from its spreadsheet, with the per-row report
    sheet = tmp_path / "清单.csv"
    sheet.write_text("名称,进口占比\n涡轮分子泵,70%\n离子源，主要依赖日本进口,\n", encoding="utf-8")
    chrome.find_element(By.ID, "nav-new-list").click()
    wait_for(lambda: chrome.find_elements(By.ID, "sheet-form"), what="the upload form")
    chrome.find_element(By.ID, "sheet-title").send_keys("表格清单")
    chrome.find_element(By.ID, "sheet-file").send_keys(str(sheet))
    chrome.find_element(By.ID, "sheet-submit").click()
    rows = wait_for(
        lambda: chrome.find_elements(By.CSS_SELECTOR, "#sheet-rows tr.sheet-row"), what="row report"
    )
    assert len(rows) == 2 and "涡轮分子泵" in rows[0].text
    chrome.find_element(By.ID, "sheet-list-link").click()
    wait_for(lambda: "表格清单" in chrome.find_element(By.ID, "list-title").text, what="the uploaded list")

    # --- bureau: the region's offers, matchmaking, the invitation list
    login(world.keys.bureau_gd)
    wait_for(lambda: chrome.find_elements(By.ID, "nav-matchmaking"), what="the bureau's home")
    chrome.find_element(By.ID, "nav-offers").click()
    wait_for(lambda: chrome.find_elements(By.ID, "offer-firm"), what="the bureau's offers page")
    chrome.find_element(By.ID, "offer-firm").send_keys(LOCAL)
    chrome.find_element(By.ID, "offer-title").send_keys("代登记")
    chrome.find_element(By.ID, "offer-products").send_keys(PRODUCT)
    chrome.find_element(By.ID, "offer-submit").click()
    wait_for(lambda: "已登记" in chrome.find_element(By.ID, "flash").text, what="registered for a local firm")
    chrome.find_element(By.ID, "nav-matchmaking").click()
    rows = wait_for(lambda: chrome.find_elements(By.CSS_SELECTOR, "#pair-table tr.pair"), what="pairs")
    pairs = {(r.get_attribute("data-item"), r.get_attribute("data-firm")) for r in rows}
    assert (PRODUCT, LOCAL) in pairs
    chrome.find_element(By.ID, "matchmaking-xlsx").click()
    deadline = time.monotonic() + 60
    while not list(chrome.downloads.glob("matchmaking*.xlsx")) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert list(chrome.downloads.glob("matchmaking*.xlsx"))
    chrome.save_screenshot(str(tmp_path / "bureau-matchmaking.png"))
