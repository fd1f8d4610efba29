"""Issue 13's "done when", in a real browser (Debian's chromium + chromedriver via Selenium, as in
tests/e2e/test_dashboard_browser.py): a bureau logged in to the dashboard opens a chain, sees the maps,
chooses a weak link, clicks 江苏省 on the China map and gets that province's candidates for the link,
opens a firm page from there and shortlists the firm — on the sample cluster and on chainkg.
Screenshots go to docs/ with ``CHAINMATCH_SCREENSHOT_DIR=docs``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chainmatch.test_chains import CHAIN_ID
from tests.conftest import Keys, LiveServer, LiveWorld, chainkg_settings, make_keys
from tests.e2e.test_dashboard_browser import CHROMEDRIVER, CHROMIUM, driver, screenshot, wait_for
from tests.worlds import serve_live_sample

__all__ = ["driver"]  # the fixture, shared with the dashboard's browser test

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
    ),
]
JS = "江苏省"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorld]:
    with serve_live_sample(tmp_path_factory.mktemp("map-browser") / "var", chain=True) as served:
        yield served


def link_with_candidates_in(server: LiveServer, key: str, chain_id: str, province: str) -> str:
    """The weakest link of the chain with a candidate in ``province`` (asked through the API)."""
    with server.client(key) as c:
        weak = c.get(f"/v1/chains/{chain_id}/weak-links", timeout=300).json()["links"]
        for link in [lk for lk in weak if lk["score"] is not None]:
            data = c.get(
                f"/v1/chains/{chain_id}/map",
                params={"item": link["node_id"], "province": province},
                timeout=300,
            ).json()
            if data["candidates"]:
                return str(link["node_id"])
    raise AssertionError(f"no weak link of {chain_id} has a candidate in {province}")


def walk(chrome: Any, server: LiveServer, key: str, chain_id: str, tmp_path: Path, shots: str | None) -> str:
    """The path of the issue's "done when"; returns the firm shortlisted."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.expected_conditions import staleness_of
    from selenium.webdriver.support.ui import Select

    node_id = link_with_candidates_in(server, key, chain_id, JS)
    chrome.get(f"{server.url}/login")
    chrome.find_element(By.ID, "api_key").send_keys(key)
    chrome.find_element(By.ID, "login-submit").click()
    wait_for(
        lambda: chrome.find_elements(By.CSS_SELECTOR, f'a.chain-link[data-chain="{chain_id}"]'), what="home"
    )

    # open the chain, then its maps
    chrome.find_element(By.CSS_SELECTOR, f'a.chain-link[data-chain="{chain_id}"]').click()
    wait_for(lambda: chrome.find_elements(By.ID, "open-map"), what="the chain page").pop().click()
    wait_for(
        lambda: chrome.find_elements(By.CSS_SELECTOR, "svg.china-map g.province"), timeout=300, what="maps"
    )
    assert len(chrome.find_elements(By.CSS_SELECTOR, "svg.china-map g.province")) == 34
    assert chrome.find_elements(By.CSS_SELECTOR, "svg.world-map g.country")

    # choose the weak link, apply
    Select(chrome.find_element(By.ID, "map-link")).select_by_value(node_id)
    before = chrome.find_element(By.TAG_NAME, "html")
    chrome.find_element(By.ID, "map-apply").click()
    wait_for(lambda: staleness_of(before)(chrome), timeout=300, what="the filtered map")
    wait_for(
        lambda: chrome.find_elements(By.CSS_SELECTOR, "svg.china-map g.province"), timeout=300, what="maps"
    )
    assert (
        Select(chrome.find_element(By.ID, "map-link")).first_selected_option.get_attribute("value") == node_id
    )
    if shots:
        screenshot(chrome, tmp_path, f"{shots}-map.png", height=1500)

    # click 江苏省 on the map: its candidates for this link
    before = chrome.find_element(By.TAG_NAME, "html")
    chrome.find_element(By.CSS_SELECTOR, f'svg.china-map g.province[data-province="{JS}"] path').click()
    wait_for(lambda: staleness_of(before)(chrome), timeout=300, what="the province's list")
    cards = wait_for(
        lambda: chrome.find_elements(By.CSS_SELECTOR, "#map-candidates .map-candidate"),
        timeout=300,
        what="candidates",
    )
    assert chrome.find_element(By.ID, "map-candidates").get_attribute("data-selected") == JS
    assert JS in chrome.find_element(By.ID, "map-candidates-title").text
    for card in cards:
        assert JS.removesuffix("省") in card.text and card.find_elements(By.CSS_SELECTOR, ".reasons li")
        assert all(line.split("·")[0].strip() for line in card.text.splitlines())
    if shots:
        chrome.execute_script("document.getElementById('map-candidates').scrollIntoView()")
        screenshot(chrome, tmp_path, f"{shots}-map-province.png", height=2200)

    # open the firm page of the first candidate
    firm_id = cards[0].get_attribute("data-firm")
    cards[0].find_element(By.CSS_SELECTOR, "a.firm-link").click()
    title = wait_for(lambda: chrome.find_element(By.ID, "firm-title"), timeout=300, what="the firm page")
    assert title.get_attribute("data-firm") == firm_id
    entry = wait_for(
        lambda: chrome.find_element(By.CSS_SELECTOR, f'#firm-standing .standing[data-node="{node_id}"]'),
        what="its standing for the chosen link",
    )
    assert "国内其他省份" in entry.text or "邻省" in entry.text  # the place class in its reasons
    if shots:
        screenshot(chrome, tmp_path, f"{shots}-firm.png", height=1600)

    # shortlist it from its page
    before = chrome.find_element(By.TAG_NAME, "html")
    entry.find_element(By.CSS_SELECTOR, "button.shortlist").click()
    wait_for(
        lambda: staleness_of(before)(chrome) and "加入跟踪" in chrome.find_element(By.ID, "flash").text,
        timeout=120,
        what="the confirmation",
    )
    pill = wait_for(
        lambda: chrome.find_element(
            By.CSS_SELECTOR, f'#firm-standing .standing[data-node="{node_id}"] .pill.shortlisted'
        ),
        what="the stage on the firm page",
    )
    assert pill.text == "已入选"
    assert chrome.find_elements(By.CSS_SELECTOR, "#firm-outreach .outreach-row")
    return str(firm_id)


def test_bureau_walks_the_map_on_the_sample(sample: LiveWorld, driver: Any, tmp_path: Path) -> None:
    server, keys = sample
    firm_id = walk(driver, server, keys.bureau_gd, CHAIN_ID, tmp_path, "dashboard")
    with server.client(keys.bureau_gd) as c:
        records = c.get("/v1/outreach", params={"chain_id": CHAIN_ID}).json()
    items = records["items"] if isinstance(records, dict) else records
    assert any(r["firm_id"] == firm_id and r["stage"] == "shortlisted" for r in items)


@pytest.fixture(scope="module")
def chainkg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Keys, str]]:
    settings = chainkg_settings(tmp_path_factory.mktemp("chainkg-map") / "var")
    keys = make_keys(settings, "688268", "600000")
    with LiveServer(settings) as server:
        body = {
            "id": "spectrometer-gd",
            "name": "光谱仪器",
            "products": ["光谱仪"],
            "region": {"province": "广东省"},
        }
        with server.client(keys.admin) as c:
            assert c.post("/v1/chains/from-graph", json=body, timeout=300).status_code == 201
        yield server, keys, "spectrometer-gd"


@pytest.mark.chainkg
def test_bureau_walks_the_map_on_chainkg(
    chainkg: tuple[LiveServer, Keys, str], driver: Any, tmp_path: Path
) -> None:
    server, keys, chain_id = chainkg
    walk(driver, server, keys.bureau_gd, chain_id, tmp_path, "chainkg")
