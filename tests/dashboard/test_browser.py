"""The dashboard in a real headless browser (Debian's chromium + chromedriver, Selenium).

The app is served by waitress from a thread on a free loopback port. A screenshot of each view
is saved under ``$CLNET_ARTEFACTS`` (default: a pytest temporary folder).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait
from waitress import create_server

from clnet_spark import columns as c
from clnet_spark.columns import Tables
from clnet_spark.dashboard.app import ADVISORY, NAV
from clnet_spark.dashboard.data import RunData, load_run

from .conftest import PASSWORDS, make_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("CLNET_ARTEFACTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("artefacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def audit_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser_audit") / "audit.jsonl"


@pytest.fixture(scope="module")
def base_url(
    identity_warehouse: Path, users_file: Path, audit_file: Path, identity_run: RunData
) -> Iterator[str]:
    app = make_app(identity_warehouse, users_file, audit_file, identity_run)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads: Path) -> Iterator[webdriver.Chrome]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("browser tests need Debian's chromium and chromium-driver (see .ci/run)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1800",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def _sign_in(browser: webdriver.Chrome, base_url: str, name: str) -> None:
    browser.get(f"{base_url}/logout")
    browser.get(f"{base_url}/login")
    browser.find_element(By.ID, "username").send_keys(name)
    browser.find_element(By.ID, "password").send_keys(PASSWORDS[name])
    _click(browser, browser.find_element(By.ID, "sign-in"))
    assert browser.find_element(By.ID, "user").text == name


def _click(browser: webdriver.Chrome, element: WebElement) -> None:
    """Click and wait until the next page has replaced this one."""
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 20).until(ec.staleness_of(page))


def _shot(browser: webdriver.Chrome, artefacts: Path, name: str) -> None:
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1400, min(max(height, 900), 4000))
    assert browser.save_screenshot(str(artefacts / f"{name}.png"))
    browser.set_window_size(1400, 1800)


def _audit(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _rows(browser: webdriver.Chrome, table_id: str) -> int:
    return len(browser.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr"))


def test_sign_in_and_open_each_view(
    browser: webdriver.Chrome, base_url: str, artefacts: Path
) -> None:
    browser.get(f"{base_url}/nominals")
    assert "/login" in browser.current_url
    _shot(browser, artefacts, "00_login")
    _sign_in(browser, base_url, "ana")
    for i, (endpoint, label) in enumerate(NAV, start=1):
        _click(browser, browser.find_element(By.ID, f"nav-{endpoint}"))
        assert browser.find_element(By.ID, "advisory").text == ADVISORY, label
        assert "current" in browser.find_element(By.ID, f"nav-{endpoint}").get_attribute("class")
        _shot(browser, artefacts, f"{i:02d}_{endpoint}")
    _click(browser, browser.find_element(By.ID, "nav-priority"))
    assert len(browser.find_elements(By.CSS_SELECTOR, ".plotly-graph-div .main-svg")) > 0


def test_filter_nominals(
    browser: webdriver.Chrome, base_url: str, identity_warehouse: Path
) -> None:
    nominals = load_run(identity_warehouse).nominals()
    _sign_in(browser, base_url, "ana")
    browser.get(f"{base_url}/nominals")
    assert _rows(browser, "nominals") == len(nominals)
    Select(browser.find_element(By.ID, "group")).select_by_value("G0002")
    Select(browser.find_element(By.ID, "flag")).select_by_value("safeguarding_listed")
    _click(browser, browser.find_element(By.ID, "apply"))
    expected = nominals[(nominals[c.GROUP_ID] == "G0002") & nominals["safeguarding_listed"]]
    assert 0 < len(expected) < len(nominals)
    assert _rows(browser, "nominals") == len(expected)
    shown = {
        e.text for e in browser.find_elements(By.CSS_SELECTOR, "#nominals tbody td:first-child")
    }
    assert shown == set(expected[c.NOMINAL_ID])


def test_evidence_trail_and_the_role_difference(
    browser: webdriver.Chrome,
    base_url: str,
    identity_warehouse: Path,
    audit_file: Path,
    artefacts: Path,
) -> None:
    data = load_run(identity_warehouse)
    nominal = data.nominals()[c.NOMINAL_ID].iloc[0]
    trail = data.evidence_trail(nominal)
    name = data.identity([nominal])["name"].iloc[0]
    before = len(_audit(audit_file))

    _sign_in(browser, base_url, "ana")
    browser.get(f"{base_url}/nominals?q={nominal}")
    _click(browser, browser.find_element(By.LINK_TEXT, nominal))
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Nominal {nominal}"
    assert _rows(browser, "evidence") == len(trail["records"])
    headers = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#evidence th")]
    assert headers == ["source", "record_id", "role", "record_weight", "matched_groups", "terms"]
    assert browser.find_elements(By.ID, "restricted") == []
    assert name not in browser.page_source
    _shot(browser, artefacts, "20_nominal_analyst")

    _sign_in(browser, base_url, "off")
    browser.get(f"{base_url}/nominals/{nominal}")
    browser.find_element(By.ID, "reason").send_keys("case review")
    _click(browser, browser.find_element(By.CSS_SELECTOR, "#reason-form button"))
    assert name in browser.find_element(By.ID, "restricted").text
    headers = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#evidence th")]
    assert headers[-1] == "text"
    _shot(browser, artefacts, "21_nominal_officer")

    views = [e for e in _audit(audit_file)[before:] if e["action"] == "view_nominal"]
    assert [(e["user"], e["what"], e["reason"]) for e in views] == [
        ("ana", nominal, None),
        ("off", nominal, None),
        ("off", nominal, "case review"),
    ]


def test_clicking_a_group_in_the_network_picture_opens_it(
    browser: webdriver.Chrome, base_url: str, artefacts: Path
) -> None:
    _sign_in(browser, base_url, "ana")
    browser.get(f"{base_url}/network")
    link = browser.find_element(By.CSS_SELECTOR, 'a.group-link[data-group="G0002"] circle')
    _click(browser, link)
    assert browser.current_url.endswith("/groups/G0002")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Group G0002"
    assert _rows(browser, "members") > 0
    _shot(browser, artefacts, "22_group")


def test_download_an_export_read_it_back_and_the_audit_log_grew(
    browser: webdriver.Chrome,
    base_url: str,
    identity_warehouse: Path,
    downloads: Path,
    audit_file: Path,
) -> None:
    data = load_run(identity_warehouse)
    before = len(_audit(audit_file))
    _sign_in(browser, base_url, "ana")
    browser.get(f"{base_url}/exports")
    Select(browser.find_element(By.ID, "item")).select_by_value(Tables.GROUP_PRIORITY)
    Select(browser.find_element(By.ID, "format")).select_by_value("csv")
    browser.find_element(By.ID, "export-reason").send_keys("weekly tasking")
    browser.find_element(By.ID, "download").click()
    target = downloads / f"clnet_{data.run.run_id}_{Tables.GROUP_PRIORITY}.csv"
    deadline = time.monotonic() + 30
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert target.exists(), sorted(p.name for p in downloads.iterdir())
    back = pd.read_csv(target)
    priority = data.table(Tables.GROUP_PRIORITY)
    assert back[[c.GROUP_ID, "rank"]].sort_values("rank").values.tolist() == (
        priority[[c.GROUP_ID, "rank"]].sort_values("rank").values.tolist()
    )
    entries = _audit(audit_file)[before:]
    assert ("export", f"{Tables.GROUP_PRIORITY}.csv", "weekly tasking") in [
        (e["action"], e["what"], e["reason"]) for e in entries
    ]
