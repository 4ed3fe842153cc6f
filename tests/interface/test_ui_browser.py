"""The audit pages in a real headless browser (Debian's Chromium, driven by Selenium): sign in
and back to the page asked for; a two-year loan with a correction and a prepayment on one short
page, every money event with its amounts, its charts (checked on screenshots), the report; the
portfolio as of a day, linking into its loans; an unknown loan; sign out. Screenshots of the
pages are left in /tmp/ui-shots to look at."""

from __future__ import annotations

import os
import re
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
from ledger.domain.loan import Loan
from ledger.domain.money import fmt
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input
from tests.interface.test_ui_pages import money_shown

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
        "--window-size=1280,1000", f"--user-data-dir={tmp_path / 'profile'}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def colour_pixels(png: Path, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    image = Image.open(png).convert("RGB")
    data: Any = (
        image.get_flattened_data() if hasattr(image, "get_flattened_data") else image.getdata()
    )
    return sum(1 for p in data if all(abs(p[i] - rgb[i]) <= tolerance for i in range(3)))


SHOTS = Path("/tmp/ui-shots")  # looked at by whoever changes the pages
WIDTH = 1280
SHORT = 4000  # px: a two-year loan's page at 1280 px wide, its routine days folded away


def shoot(browser: Any, name: str, *, full: bool = True) -> Path:
    """A screenshot of the page (all of it, however tall) into :data:`SHOTS`."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.body.scrollHeight") if full else 1000
    browser.set_window_size(WIDTH, height + 200)
    path = SHOTS / f"{name}.png"
    browser.save_screenshot(str(path))
    browser.set_window_size(WIDTH, 1000)
    return path


def two_year_loan(app: LedgerApp) -> None:
    """BOB: 24 installments; runs overdue, gets a back-dated repayment (a correction) and a
    partial prepayment, then runs two years of close-of-business to its end. ALICE: a loan
    still open beside it."""
    for ref, principal, term in (("BOB", "24000.00", 24), ("ALICE", "12000.00", 36)):
        app.open_loan(
            terms_from_input(
                product="repay_on_schedule", principal=principal, term=term,
                disbursed_on=date(2026, 1, 15), daily_rate="0.0005",
            ),
            ref,
        )  # fmt: skip
    app.set_balance("BOB", Decimal("300"))
    app.close_days(date(2026, 4, 20))
    app.set_balance("BOB", None)
    app.repay_backdated("BOB", Decimal("500.00"), date(2026, 3, 1), actor="desk", reason="cash")
    app.close_days(date(2026, 6, 1))
    app.prepay("BOB", date(2026, 6, 2), amount=Decimal("5000.00"))
    app.close_days(date(2028, 1, 20))


def test_an_auditor_reads_a_two_year_loan_on_one_short_page(
    app: LedgerApp, served: tuple[str, str], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    two_year_loan(app)
    base, key = served

    # not signed in: to the sign-in page, and back to the loan once signed in
    browser.get(f"{base}/ui/loans/BOB")
    assert "/ui/login?next=/ui/loans/BOB" in browser.current_url
    browser.find_element(By.NAME, "key").send_keys(key)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # the address changes before the new page is read: wait for both
    WebDriverWait(browser, 20).until(
        lambda b: b.current_url.endswith("/ui/loans/BOB") and b.title == "Loan BOB"
    )

    # short: the routine days are folded into one row per period
    height = browser.execute_script("return document.body.scrollHeight")
    page = shoot(browser, "loan-page")
    assert height < SHORT, f"the page is {height} px tall: see {page}"
    periods = browser.find_elements(By.CSS_SELECTOR, "#timeline tr.period details")
    assert len(periods) == 24 and not any(p.get_attribute("open") for p in periods)
    assert "Period #1, due 2026-02-15" in periods[0].text
    assert re.search(r"31 days accrued: interest \d+\.\d\d, penalty 0\.00", periods[0].text)

    # every money event is a visible row with its effective date and amounts
    rows = {
        r.find_element(By.CSS_SELECTOR, "td").text: r
        for r in browser.find_elements(By.CSS_SELECTOR, "#timeline > tbody > tr.money")
    }
    kinds = set()
    for event in app.loan_events("BOB"):
        if isinstance(event, (Loan.InterestAccrued, Loan.DeductionFailed, Loan.Closed)):
            continue
        kinds.add(type(event).__name__)
        row = rows[str(event.originator_version)]
        assert row.is_displayed()
        cells = [c.text for c in row.find_elements(By.CSS_SELECTOR, "td")]
        effective, amounts = money_shown(event)
        assert cells[1] == effective.isoformat()
        for amount in amounts:
            assert fmt(amount) in cells[3:8], (type(event).__name__, fmt(amount), cells)
    assert {"Corrected", "Prepaid", "InstallmentDeducted", "Disbursed", "Overdue"} <= kinds
    # dates never wrap: one line each
    date_cell = rows["1"].find_elements(By.CSS_SELECTOR, "td")[1]
    assert date_cell.value_of_css_property("white-space") == "nowrap"

    # a period opens to its days and their arithmetic
    periods[1].find_element(By.TAG_NAME, "summary").click()
    days = periods[1].find_elements(By.CSS_SELECTOR, ":scope > table > tbody > tr")
    assert len(days) >= 28 and all(d.is_displayed() for d in days[:3])
    assert " x 0.0005 x 1 = " in days[0].text
    periods[1].find_element(By.TAG_NAME, "summary").screenshot(str(tmp_path / "summary.png"))
    browser.execute_script("arguments[0].scrollIntoView()", periods[1])
    shoot(browser, "loan-period-open", full=False)
    periods[1].find_element(By.TAG_NAME, "summary").click()

    # the charts: gridlines, axis values, a caption naming the time axis; lines drawn
    principal = browser.find_element(By.ID, "balance-chart")
    charges = browser.find_element(By.ID, "charges-chart")
    assert len(principal.find_elements(By.CSS_SELECTOR, "polyline.series")) == 1
    assert len(charges.find_elements(By.CSS_SELECTOR, "polyline.series")) == 2
    assert len(principal.find_elements(By.CSS_SELECTOR, "line.grid")) >= 8
    labels = [t.text for t in principal.find_elements(By.TAG_NAME, "text")]
    assert "25000" in labels and "2026-04" in labels
    caption = browser.find_element(By.TAG_NAME, "figcaption").text
    assert "business day" in caption and "as recorded" in caption
    browser.execute_script("arguments[0].scrollIntoView()", principal)
    principal.screenshot(str(SHOTS / "principal-chart.png"))
    charges.screenshot(str(SHOTS / "charges-chart.png"))
    assert colour_pixels(SHOTS / "principal-chart.png", (0x1F, 0x6F, 0xEB)) > 300
    assert colour_pixels(SHOTS / "charges-chart.png", (0x2D, 0xA4, 0x4E)) > 200
    assert colour_pixels(SHOTS / "charges-chart.png", (0xCF, 0x22, 0x2E)) > 100

    # the schedule's totals, the method, the rate's unit
    total = browser.find_element(By.CSS_SELECTOR, "#schedule tfoot tr").text
    assert total.startswith("total")
    terms = browser.find_element(By.ID, "terms").text
    assert "equal installment (EMI)" in terms and "0.05 % a day" in terms

    # the dispute report
    browser.find_element(By.ID, "report-link").click()
    WebDriverWait(browser, 20).until(lambda b: b.title == "Dispute report: loan BOB")
    assert "Annualised cost" in browser.page_source


def test_the_portfolio_links_into_its_loans_and_errors_are_pages(
    app: LedgerApp, served: tuple[str, str], browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    for ref in ("ALICE", "CAROL"):
        app.open_loan(
            terms_from_input(
                product="repay_on_schedule", principal="12000.00", term=6,
                disbursed_on=date(2026, 1, 15), daily_rate="0.0005",
            ),
            ref,
        )  # fmt: skip
    app.set_balance("ALICE", Decimal("300"))
    app.close_days(date(2026, 4, 20))
    base, key = served

    browser.get(f"{base}/ui/portfolio?as_of=2026-03-01")
    browser.find_element(By.NAME, "key").send_keys(key)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 20).until(
        lambda b: (
            "/ui/portfolio?as_of=2026-03-01" in b.current_url and b.find_elements(By.ID, "totals")
        )
    )
    totals = browser.find_element(By.ID, "totals").text
    assert "at the end of business day 2026-03-01" in totals
    assert "current balances" in browser.find_element(By.ID, "current-note").text
    assert "31-60" in browser.page_source or "1-30" in browser.page_source
    shoot(browser, "portfolio")

    links = browser.find_elements(By.CSS_SELECTOR, "#loans a.loan-link")
    assert [a.text for a in links] == ["ALICE", "CAROL"]
    links[0].click()
    WebDriverWait(browser, 20).until(lambda b: b.title == "Loan ALICE")
    assert browser.current_url.endswith("/ui/loans/ALICE")

    browser.get(f"{base}/ui/loans/NOPE")
    assert browser.title == "Not found"
    assert "unknown loan NOPE" in browser.find_element(By.ID, "problem").text
    shoot(browser, "unknown-loan")

    browser.find_element(By.ID, "sign-out").click()
    WebDriverWait(browser, 20).until(lambda b: "/ui/login" in b.current_url)
    assert "signed out" in browser.page_source
    browser.get(f"{base}/ui/portfolio")
    assert "/ui/login" in browser.current_url
