"""The dashboard in a real headless browser (Debian's chromium driven by Selenium through Debian's
chromedriver; nothing downloaded): log in, open a chain and a weak link, shortlist a candidate, move
it through the pipeline, generate the investment map with progress and download it.

Screenshots are taken on the way; with ``CHAINMATCH_SCREENSHOT_DIR`` set (``make screenshots`` style:
``CHAINMATCH_SCREENSHOT_DIR=docs``) they are also written there — that is how docs/*.png are made.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.chainmatch.test_chains import CHAIN_ID
from tests.conftest import LiveWorld

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
    ),
    # the sample and its chain, under uvicorn: a browser needs a URL
    pytest.mark.world(chain=True, live=True),
]


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager reach for the network
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--no-first-run",
        "--lang=zh-CN",
        "--window-size=1440,1000",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    chrome = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    chrome.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    chrome.downloads = downloads
    try:
        yield chrome
    finally:
        chrome.quit()


def wait_for(condition: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    from selenium.common.exceptions import WebDriverException

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except WebDriverException:  # not there yet, or the page is mid-navigation
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def screenshot(chrome: Any, tmp_path: Path, name: str, height: int | None = None) -> Path:
    """A PNG of the page (up to ``height`` px of it), kept in tmp and, on request, in docs/."""
    full = chrome.execute_script("return document.documentElement.scrollHeight")
    chrome.set_window_size(1440, min(int(full) + 120, height or 2400))
    path = tmp_path / name
    assert chrome.save_screenshot(str(path))
    assert path.stat().st_size > 10_000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    target = os.environ.get("CHAINMATCH_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(target) / name)
    chrome.set_window_size(1440, 1000)
    return path


def test_bureau_walkthrough(world: LiveWorld, driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    server, keys = world
    chrome = driver

    # log in: any page leads to the login form first
    chrome.get(f"{server.url}/")
    wait_for(lambda: "/login" in chrome.current_url, what="the login page")
    chrome.find_element(By.ID, "api_key").send_keys(keys.bureau_gd)
    chrome.find_element(By.ID, "login-submit").click()
    wait_for(
        lambda: chrome.find_elements(By.CSS_SELECTOR, f'a.chain-link[data-chain="{CHAIN_ID}"]'), what="home"
    )
    assert "广东省" in chrome.find_element(By.ID, "who").text
    cookie = chrome.get_cookie("cm_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and keys.bureau_gd not in cookie["value"]
    assert chrome.execute_script("return document.cookie") == ""  # invisible to scripts

    # the chain: weak links, graph, leaders' gap candidates
    chrome.find_element(By.CSS_SELECTOR, f'a.chain-link[data-chain="{CHAIN_ID}"]').click()
    rows = wait_for(
        lambda: chrome.find_elements(By.CSS_SELECTOR, "#weak-link-table tr.weak-row"), what="weak links"
    )
    assert len(rows) >= 10
    assert chrome.find_elements(By.CSS_SELECTOR, "svg.chain-graph g.node")
    screenshot(chrome, tmp_path, "dashboard-chain.png")

    # open the weakest link: both candidate lists with reasons
    weakest = rows[0].find_element(By.CSS_SELECTOR, "a.weak-link")
    link_name = weakest.text
    weakest.click()
    wait_for(lambda: chrome.find_elements(By.CSS_SELECTOR, ".list-target .candidate"), what="candidates")
    assert link_name in chrome.find_element(By.ID, "link-title").text
    assert chrome.find_elements(By.CSS_SELECTOR, ".list-local .candidate")
    assert chrome.find_element(By.CSS_SELECTOR, ".list-target .candidate .reasons li").text
    screenshot(chrome, tmp_path, "dashboard-weak-link.png", height=2000)

    # shortlist the two top investment targets and the top local supplier
    from selenium.webdriver.support.expected_conditions import staleness_of

    picked: list[str] = []
    pages: list[Any] = []

    def shortlist_next(selector: str) -> str | None:
        # Re-read the list on every try: shortlisting posts a form and reloads the page, and an
        # element found before a reload is gone from the document (Chromium raises; wait_for retries).
        for candidate in chrome.find_elements(By.CSS_SELECTOR, selector):
            firm = candidate.get_attribute("data-firm")
            buttons = candidate.find_elements(By.CSS_SELECTOR, "button.shortlist")
            if firm and firm not in picked and buttons:
                pages.append(chrome.find_element(By.TAG_NAME, "html"))
                buttons[0].click()
                return str(firm)
        return None

    for selector in (".list-target .candidate", ".list-target .candidate", ".list-local .candidate"):
        picked.append(wait_for(partial(shortlist_next, selector), what=f"a {selector} to shortlist"))
        wait_for(
            lambda: (
                staleness_of(pages[-1])(chrome) and "加入跟踪" in chrome.find_element(By.ID, "flash").text
            ),
            what="the confirmation after the reload",
        )
    assert len(set(picked)) == 3
    firm_id, second, local = picked

    # the pipeline: contacted, then declined with a reason (the reason field appears for declined)
    chrome.get(f"{server.url}/pipeline")
    ticket = wait_for(
        lambda: chrome.find_element(By.CSS_SELECTOR, f'#column-shortlisted .ticket[data-firm="{firm_id}"]'),
        what="the shortlisted ticket",
    )
    Select(ticket.find_element(By.NAME, "stage")).select_by_value("contacted")
    ticket.find_element(By.NAME, "note").send_keys("已电话联系，对方有意向来粤考察")
    ticket.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    ticket = wait_for(
        lambda: chrome.find_element(By.CSS_SELECTOR, f'#column-contacted .ticket[data-firm="{firm_id}"]'),
        what="the ticket to move to contacted",
    )
    assert "对方有意向" in ticket.text
    reason_field = ticket.find_element(By.CSS_SELECTOR, ".reason-field")
    assert not reason_field.is_displayed()
    Select(ticket.find_element(By.NAME, "stage")).select_by_value("visited")
    ticket.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(
        lambda: chrome.find_element(By.CSS_SELECTOR, f'#column-visited .ticket[data-firm="{firm_id}"]'),
        what="the ticket to move to visited",
    )
    # declining asks for a reason: the field appears and is required
    ticket = chrome.find_element(By.CSS_SELECTOR, f'#column-shortlisted .ticket[data-firm="{second}"]')
    Select(ticket.find_element(By.NAME, "stage")).select_by_value("declined")
    reason = ticket.find_element(By.CSS_SELECTOR, ".reason-field input")
    assert reason.is_displayed() and reason.get_attribute("required") is not None
    reason.send_keys("对方暂无在粤设厂计划")
    ticket.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    declined = wait_for(
        lambda: chrome.find_element(By.CSS_SELECTOR, f'#column-declined .ticket[data-firm="{second}"]'),
        what="the ticket to move to declined",
    )
    assert "对方暂无在粤设厂计划" in declined.text
    ticket = chrome.find_element(By.CSS_SELECTOR, f'#column-shortlisted .ticket[data-firm="{local}"]')
    Select(ticket.find_element(By.NAME, "stage")).select_by_value("negotiating")
    ticket.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(
        lambda: chrome.find_element(By.CSS_SELECTOR, f'#column-negotiating .ticket[data-firm="{local}"]'),
        what="the local supplier to move to negotiating",
    )
    screenshot(chrome, tmp_path, "dashboard-pipeline.png", height=1400)

    # the investment map: started from the chain page, with progress, then downloaded
    chrome.get(f"{server.url}/chains/{CHAIN_ID}")
    chrome.find_element(By.CSS_SELECTOR, "#report-form input[name=top]").clear()
    chrome.find_element(By.CSS_SELECTOR, "#report-form input[name=top]").send_keys("6")
    chrome.find_element(By.ID, "report-start").click()
    link = wait_for(
        lambda: chrome.find_element(By.CSS_SELECTOR, "#report-panel a.download-html"),
        what="the finished report",
    )
    assert chrome.find_element(By.ID, "report-panel").get_attribute("data-state") == "done"
    assert "100%" in chrome.find_element(By.CSS_SELECTOR, "#report-panel .progress > div").get_attribute(
        "style"
    )
    link.click()
    report = wait_for(
        lambda: next((p for p in chrome.downloads.glob("*.html")), None), what="the downloaded report"
    )
    wait_for(lambda: not list(chrome.downloads.glob("*.crdownload")), what="the download to finish")
    text = report.read_text(encoding="utf-8")
    assert "招商图谱" in text and text.count('class="link-card"') == 6 and "<svg" in text

    # and the report itself, opened from disk: it needs nothing from the network
    chrome.get(report.as_uri())
    wait_for(lambda: chrome.find_elements(By.CSS_SELECTOR, "svg.chain-graph"), what="the report page")
    screenshot(chrome, tmp_path, "report.png", height=2600)

    # the stage changes were stored as feedback
    with server.client(keys.bureau_gd) as c:
        feedback = c.get("/v1/outreach/feedback").json()
    assert [r["stage"] for r in feedback if r["firm_id"] == firm_id] == [
        "shortlisted",
        "contacted",
        "visited",
    ]
    assert [(r["stage"], r["grade"], r["reason"]) for r in feedback if r["firm_id"] == second][-1] == (
        "declined",
        0,
        "对方暂无在粤设厂计划",
    )
    assert [r["scope"] for r in feedback if r["firm_id"] == local] == ["inside", "inside"]


def test_bureau_searches_a_weak_link_heard_on_a_visit(world: LiveWorld, driver: Any, tmp_path: Path) -> None:
    """The search page: free text in, the reading and both explained lists out, a candidate
    shortlisted into the pipeline (under the chain node that lists the understood product)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.expected_conditions import staleness_of

    server, keys = world
    chrome = driver
    chrome.get(f"{server.url}/login")
    chrome.find_element(By.ID, "api_key").send_keys(keys.bureau_gd)
    chrome.find_element(By.ID, "login-submit").click()
    wait_for(lambda: chrome.find_elements(By.ID, "nav-search"), what="home")
    chrome.find_element(By.ID, "nav-search").click()
    box = wait_for(lambda: chrome.find_element(By.ID, "search-text"), what="the search page")
    box.send_keys("用于质谱仪的离子源")
    chrome.find_element(By.ID, "search-submit").click()

    product = wait_for(lambda: chrome.find_element(By.ID, "understood-product"), what="the reading")
    assert product.get_attribute("data-product") == "离子源" and "离子源" in product.text
    reading = chrome.find_element(By.ID, "understood").text
    assert "质谱仪" in reading and "置信度" in reading  # the end use, and how sure the reading is
    assert not chrome.find_elements(By.ID, "low-confidence")
    candidates = chrome.find_elements(By.CSS_SELECTOR, ".list-target .candidate, .list-local .candidate")
    assert candidates and any("离子源" in c.text for c in candidates)  # a maker, with its reason
    assert "离子光学" in chrome.find_element(By.ID, "search-node").text  # the node that lists 离子源
    screenshot(chrome, tmp_path, "dashboard-search.png", height=1800)

    page_before = chrome.find_element(By.TAG_NAME, "html")
    pick = next(
        c for c in candidates if c.find_elements(By.CSS_SELECTOR, "button.shortlist")
    )  # one not tracked yet
    firm_id = pick.get_attribute("data-firm")
    assert pick.find_element(By.CSS_SELECTOR, "button.shortlist").text == "加入招商清单"
    pick.find_element(By.CSS_SELECTOR, "button.shortlist").click()
    wait_for(
        lambda: staleness_of(page_before)(chrome) and "加入跟踪" in chrome.find_element(By.ID, "flash").text,
        what="the confirmation after the reload",
    )
    # back on the same search, the candidate now shows its stage instead of the button
    tracked = wait_for(
        lambda: chrome.find_element(By.CSS_SELECTOR, f'.candidate[data-firm="{firm_id}"] .pill.shortlisted'),
        what="the shortlisted candidate",
    )
    assert tracked.text == "已入选"

    chrome.get(f"{server.url}/pipeline")
    ticket = wait_for(
        lambda: chrome.find_element(By.CSS_SELECTOR, f'#column-shortlisted .ticket[data-firm="{firm_id}"]'),
        what="the ticket on the pipeline page",
    )
    assert "离子源" in ticket.text
