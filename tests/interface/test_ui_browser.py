"""The audit page in a real headless browser (Debian's Chromium, driven by Selenium): sign in,
the portfolio's buckets, a loan's page with its chart (checked on a screenshot), the report."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from PIL import Image

from api.app import create_app
from ledger.adapters.api_keys import new_key
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _browser_available() -> bool:
    present = os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)
    if not present and os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but Chromium/ChromeDriver are missing: .ci/run installs them")
    return present


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def served(app: LedgerApp) -> Iterator[tuple[str, str]]:
    if not _browser_available():
        pytest.skip("chromium and chromedriver are not installed")
    key, stored = new_key("auditor-ui", "auditor")
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(app, [stored]), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}", key
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1200,1600", f"--user-data-dir={tmp_path / 'profile'}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def colour_pixels(png: Path, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    image = Image.open(png).convert("RGB")
    data: Any = image.getdata()
    return sum(1 for p in data if all(abs(p[i] - rgb[i]) <= tolerance for i in range(3)))


def test_an_auditor_signs_in_and_reads_a_loans_page_with_its_chart(
    app: LedgerApp, served: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    app.open_loan(
        terms_from_input(
            product="repay_on_schedule",
            principal="12000.00",
            term=6,
            disbursed_on=date(2026, 1, 15),
            daily_rate="0.0005",
        ),
        "ALICE",
    )
    app.set_balance("ALICE", Decimal("300"))
    app.close_days(date(2026, 4, 20))
    base, key = served

    browser.get(f"{base}/ui/loans/ALICE")  # not signed in: sent to the sign-in page
    assert browser.current_url.endswith("/ui/login")
    browser.find_element(By.NAME, "key").send_keys(key)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 20).until(lambda b: b.current_url.endswith("/ui/portfolio"))
    assert "1-30" in browser.page_source or "31-60" in browser.page_source

    browser.get(f"{base}/ui/loans/ALICE")
    assert browser.title == "Loan ALICE"
    principal = browser.find_element(By.ID, "balance-chart")
    charges = browser.find_element(By.ID, "charges-chart")
    assert len(principal.find_elements(By.CSS_SELECTOR, "polyline.series")) == 1
    assert len(charges.find_elements(By.CSS_SELECTOR, "polyline.series")) == 2
    principal.screenshot(str(tmp_path / "principal.png"))
    charges.screenshot(str(tmp_path / "charges.png"))
    # the charts really rendered: the principal line (blue), the interest line (green) and
    # the penalty line (red) are drawn on the screenshots
    assert colour_pixels(tmp_path / "principal.png", (0x1F, 0x6F, 0xEB)) > 300
    assert colour_pixels(tmp_path / "charges.png", (0x2D, 0xA4, 0x4E)) > 200
    assert colour_pixels(tmp_path / "charges.png", (0xCF, 0x22, 0x2E)) > 200
    browser.save_screenshot(str(tmp_path / "page.png"))
    rows = browser.find_elements(By.CSS_SELECTOR, "table tbody tr")
    assert len(rows) > 30  # terms, schedule, and the timeline of events

    browser.find_element(By.ID, "report-link").click()
    WebDriverWait(browser, 20).until(lambda b: b.title == "Dispute report: loan ALICE")
    assert "Annualised cost" in browser.page_source
