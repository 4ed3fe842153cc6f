"""The audit pages over both stores, read as HTML (issue 13, point 1): a long loan's page
groups its routine days by installment period, every money event is a row with its amounts
and effective date, the method and rate say what they are, the charts carry their axes, the
schedule its totals; the portfolio honours ``as_of`` and links into its loans; sign-in returns
to the page asked for (never to another site), sign-out, and errors as HTML pages."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes_pages import local_next
from ledger.adapters.api_keys import new_key
from ledger.adapters.config import FourEyes
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO, fmt
from ledger.services import approvals, disputes
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input
from tests.conftest import _drop_schema, _postgres_url

SCRIPT = "<script>alert('x')</script>"


# --------------------------------------------------------------------------- reading HTML


@dataclass
class Row:
    table: str  # the id of the outermost table holding it
    css: str
    cells: list[str] = field(default_factory=list)
    cell_classes: list[str] = field(default_factory=list)
    in_details: bool = False


class Rows(HTMLParser):
    """Every table row of a page, with its cells' text (a cell's text includes what is nested
    in it) and whether it sits in a <details>."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.rows: list[Row] = []
        self.tables: list[str] = []
        self.open_rows: list[Row] = []
        self.cells: list[tuple[Row, list[str]]] = []
        self.details = 0
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self.tables.append(found.get("id") or "")
        elif tag == "details":
            self.details += 1
        elif tag == "tr":
            outer = self.tables[0] if self.tables else ""
            row = Row(outer, found.get("class") or "", in_details=self.details > 0)
            self.rows.append(row)
            self.open_rows.append(row)
        elif tag in ("td", "th") and self.open_rows:
            self.cells.append((self.open_rows[-1], []))
            self.open_rows[-1].cell_classes.append(found.get("class") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.tables:
            self.tables.pop()
        elif tag == "details":
            self.details -= 1
        elif tag == "tr" and self.open_rows:
            self.open_rows.pop()
        elif tag in ("td", "th") and self.cells:
            row, text = self.cells.pop()
            row.cells.append(" ".join("".join(text).split()))

    def handle_data(self, data: str) -> None:
        for _, text in self.cells:
            text.append(data)

    def of(self, table: str) -> list[Row]:
        return [r for r in self.rows if r.table == table]


# --------------------------------------------------------------------------- the book


def _open(app: LedgerApp, ref: str, product: str, term: int = 6) -> None:
    terms = terms_from_input(
        product=product,
        principal="12000.00",
        term=term,
        disbursed_on=date(2026, 1, 15),
        daily_rate="0.0005",
    )
    app.open_loan(terms, ref)


def build_book(app: LedgerApp) -> None:
    """CAROL (EMI) runs overdue, gets a penalty waived, a back-dated repayment and a partial
    prepayment; DAVE (equal principal) runs on schedule; ERIN (interest first) pays off."""
    _open(app, "CAROL", "repay_on_schedule")
    _open(app, "DAVE", "equal_principal")
    _open(app, "ERIN", "interest_first")
    app.set_balance("CAROL", Decimal("300"))
    app.close_days(date(2026, 4, 20))
    app.waive("CAROL", part="penalty", amount=Decimal("1.00"), on=date(2026, 4, 21),
              actor="desk", reason=SCRIPT)  # fmt: skip
    app.set_balance("CAROL", None)
    app.repay_backdated("CAROL", Decimal("500.00"), date(2026, 3, 1), actor="desk", reason="cash")
    app.close_days(date(2026, 5, 10))
    app.prepay("CAROL", date(2026, 5, 11), amount=Decimal("2000.00"))
    app.prepay("ERIN", date(2026, 5, 11))
    app.close_days(date(2026, 6, 20))


@dataclass
class Pages:
    client: TestClient
    app: LedgerApp
    key: str

    def get(self, path: str) -> Any:
        return self.client.get(path, follow_redirects=False)

    def sign_in(self, next_path: str | None = None) -> Any:
        form = {"key": self.key} | ({"next": next_path} if next_path is not None else {})
        return self.client.post("/ui/login", data=form, follow_redirects=False)


def serve_pages(app: LedgerApp) -> Iterator[Pages]:
    key, stored = new_key("auditor-ui", "auditor")
    client = TestClient(
        create_app(app, [stored]), base_url="https://testserver", raise_server_exceptions=False
    )
    with client:
        yield Pages(client, app, key)


@pytest.fixture
def pages(app: LedgerApp) -> Iterator[Pages]:
    yield from serve_pages(app)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def book(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pages]:
    """The book, built once per store for this module's tests, which only read it."""
    if request.param == "sqlite":
        url, base, schema = f"sqlite:///{tmp_path_factory.mktemp('ui') / 'ledger.db'}", "", ""
    else:
        base, schema = _postgres_url(), f"t_{uuid.uuid4().hex[:12]}"
        url = f"{base}{'&' if '?' in base else '?'}schema={schema}"
    app = LedgerApp.from_url(url)
    try:
        build_book(app)
        for pages in serve_pages(app):
            assert pages.sign_in().status_code == 303
            yield pages
    finally:
        app.close()
        if schema:
            _drop_schema(base, schema)


@pytest.fixture
def small(pages: Pages) -> Pages:
    """One loan, ten business days: for what does not need the long book."""
    _open(pages.app, "CAROL", "repay_on_schedule")
    pages.app.close_days(date(2026, 1, 25))
    assert pages.sign_in().status_code == 303
    return pages


def text_of(response: Any) -> str:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    return str(response.text)


# --------------------------------------------------------------------------- the loan page


def test_a_long_loans_routine_days_are_grouped_one_expandable_row_per_period(book: Pages) -> None:
    page = text_of(book.get("/ui/loans/CAROL"))
    rows = Rows(page).of("timeline")
    periods = [r for r in rows if "period" in r.css.split()]
    fell_due = [e for e in book.app.loan_events("CAROL") if isinstance(e, Loan.InstallmentFellDue)]
    # one period per installment fallen due, and the one running now
    assert len(periods) == len(fell_due) + 1
    assert page.count("<details>") == len(periods)
    for period in periods:
        assert re.search(
            r"\d+ days accrued: interest \d+\.\d\d, penalty \d+\.\d\d", period.cells[0]
        )
    days = [r for r in rows if r.in_details and r.cells and r.cells[0].isdigit()]
    accruals = [e for e in book.app.loan_events("CAROL") if isinstance(e, Loan.InterestAccrued)]
    assert sum(1 for r in days if r.cells[2] == "interest accrued") == len(accruals)
    shown = [r for r in rows if not r.in_details and "money" in r.css.split()]
    assert all(r.cells[2] not in ("interest accrued", "deduction failed") for r in shown)
    assert len(shown) < 40 < len(accruals)
    # the first period's interest is what installment #1 fixed from its days
    assert f"interest {fmt(fell_due[0].interest)}," in periods[0].cells[0]


def money_shown(e: Any) -> tuple[date, list[Decimal]]:
    """The effective date and the amounts a money event's row must show, from its fields."""
    if isinstance(e, Loan.Disbursed):
        return e.on, [Decimal(e.terms["principal"])]
    if isinstance(e, (Loan.InstallmentFellDue, Loan.Overdue)):
        return e.on, [e.principal, e.interest, e.principal + e.interest]
    if isinstance(e, Loan.InstallmentDeducted):
        return e.on, [e.collected]
    if isinstance(e, Loan.Repaid | Loan.Waived):
        return e.on, [e.amount]
    if isinstance(e, Loan.Prepaid):
        return e.on, [e.total, e.principal, e.interest, e.fee]
    if isinstance(e, Loan.Corrected):
        keys = ("principal_repaid", "interest_paid", "penalty_paid")
        paid = [e.differences[k] for k in keys if k in e.differences]
        assert paid  # a back-dated repayment changes what was paid
        return e.effective_on, [e.amount or ZERO, *paid]
    raise AssertionError(type(e).__name__)


def test_every_money_event_is_a_row_with_its_amounts_and_effective_date(book: Pages) -> None:
    for ref in ("CAROL", "ERIN"):
        rows = Rows(text_of(book.get(f"/ui/loans/{ref}"))).of("timeline")
        by_version = {r.cells[0]: r for r in rows if not r.in_details and "money" in r.css}
        kinds = set()
        for e in book.app.loan_events(ref):
            if isinstance(e, (Loan.InterestAccrued, Loan.DeductionFailed, Loan.Closed)):
                continue
            kinds.add(type(e).__name__)
            row = by_version[str(e.originator_version)]
            effective, amounts = money_shown(e)
            assert row.cells[1] == effective.isoformat(), (type(e).__name__, row.cells)
            assert "date" in row.cell_classes[1]  # never wrapped
            for amount in amounts:
                assert fmt(amount) in row.cells[3:8], (type(e).__name__, fmt(amount), row.cells)
        assert {"Disbursed", "InstallmentFellDue", "Prepaid"} <= kinds
    assert {"Waived", "Corrected", "Overdue", "InstallmentDeducted"} <= {
        type(e).__name__ for e in book.app.loan_events("CAROL")
    }


def test_the_method_label_says_what_the_loan_is_and_the_rate_its_unit(book: Pages) -> None:
    def term(ref: str, name: str) -> str:
        page = text_of(book.get(f"/ui/loans/{ref}"))
        found = re.search(rf"<dt>{name}</dt><dd>([^<]*)</dd>", page)
        assert found, page[:2000]
        return html.unescape(found.group(1))

    assert term("CAROL", "method") == "equal installment (EMI)"
    assert term("DAVE", "method") == "equal principal"
    assert term("ERIN", "method").startswith("interest first")
    assert "EMI" not in term("DAVE", "method") + term("ERIN", "method")
    assert term("CAROL", "rate") == "0.05 % a day; 1.50 % a month in the plan"


def test_the_schedule_has_a_totals_row_and_the_charts_their_axes(book: Pages) -> None:
    page = text_of(book.get("/ui/loans/DAVE"))
    rows = Rows(page).of("schedule")
    header, *body, total = rows
    assert total.cells[0] == "total"
    fixed = [
        r for r in book.client.get("/loans/DAVE/schedule").json()
        if not r["estimated"]
    ]  # fmt: skip
    column = header.cells.index("principal")
    assert total.cells[column] == fmt(sum((Decimal(r["principal"]) for r in fixed), ZERO))
    column = header.cells.index("paid")
    assert total.cells[column] == fmt(sum((Decimal(r["paid"]) for r in fixed), ZERO))
    assert all("date" in r.cell_classes[1] for r in body)
    # gridlines, amounts on y, months on x, and the caption naming the time axis
    assert page.count("<line class=grid") >= 8
    assert re.search(r">12000</text>|>10000</text>", page)
    assert ">2026-03</text>" in page
    assert "x: business days, each point the end of a business day" in page
    assert "from the events as recorded" in page.lower()
    assert "<script" not in page  # and nothing to fetch: no script at all


def test_text_from_the_ledger_is_escaped(book: Pages) -> None:
    page = text_of(book.get("/ui/loans/CAROL"))
    assert SCRIPT not in page
    assert html.escape(SCRIPT) in page


# --------------------------------------------------------------------------- the portfolio


def test_the_portfolio_honours_as_of_and_links_into_its_loans(book: Pages) -> None:
    now = text_of(book.get("/ui/portfolio"))
    then = text_of(book.get("/ui/portfolio?as_of=2026-03-01"))
    assert "at the end of business day 2026-03-01" in then
    totals = book.client.get("/portfolio?as_of=2026-03-01").json()
    latest = book.client.get("/portfolio").json()
    assert totals["principal_outstanding"] != latest["principal_outstanding"]
    assert f"principal outstanding {totals['principal_outstanding']}," in then
    assert f"principal outstanding {latest['principal_outstanding']}," in now
    assert "current balances" in then and "current balances" not in now
    links = re.findall(r"href='(/ui/loans/[^']+)'", now)
    assert sorted(links) == ["/ui/loans/CAROL", "/ui/loans/DAVE", "/ui/loans/ERIN"]
    assert text_of(book.get(links[0])).count("<h1>Loan CAROL</h1>") == 1
    closed = text_of(book.get("/ui/portfolio?status=closed"))
    assert re.findall(r"href='(/ui/loans/[^']+)'", closed) == ["/ui/loans/ERIN"]
    product = text_of(book.get("/ui/portfolio?product=equal_principal"))
    assert re.findall(r"href='(/ui/loans/[^']+)'", product) == ["/ui/loans/DAVE"]


def test_the_portfolio_pages_its_loans(book: Pages) -> None:
    seen: list[str] = []
    path = "/ui/portfolio?limit=2&as_of=2026-03-01"
    while path:
        page = text_of(book.get(html.unescape(path)))
        seen += re.findall(r"href='/ui/loans/([^']+)'", page)
        found = re.search(r"id=next-page href='([^']+)'", page)
        path = found.group(1) if found else ""
        if path:
            assert "as_of=2026-03-01" in path and "limit=2" in path
    assert seen == ["CAROL", "DAVE", "ERIN"]


REFUSED_QUERIES = [
    ("as_of=2031-01-01", "the book has run only through 2026-01-25"),
    ("as_of=20260301", "as_of"),
    ("status=lost", "status"),
    ("limit=0", "limit"),
    ("after=nonsense", "not a key from a previous page"),
]


def test_a_refused_portfolio_query_is_a_readable_page(small: Pages) -> None:
    for query, needle in REFUSED_QUERIES:
        answer = small.get(f"/ui/portfolio?{query}")
        assert answer.status_code == 422, query
        assert answer.headers["content-type"].startswith("text/html")
        assert needle in html.unescape(answer.text), (query, answer.text[-800:])


# --------------------------------------------------------------------------- sign-in, errors


def test_sign_in_returns_to_the_page_asked_for(pages: Pages) -> None:
    _open(pages.app, "CAROL", "repay_on_schedule")
    asked = pages.get("/ui/loans/CAROL?x=1")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/ui/login?next=/ui/loans/CAROL%3Fx%3D1"
    form = text_of(pages.get(asked.headers["location"]))
    assert "name=next value='/ui/loans/CAROL?x=1'" in form
    signed_in = pages.sign_in("/ui/loans/CAROL?x=1")
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/ui/loans/CAROL?x=1"
    assert "Loan CAROL" in text_of(pages.get("/ui/loans/CAROL"))
    assert pages.sign_in().headers["location"] == "/ui/portfolio"


ELSEWHERE = [
    "https://evil.example/ui/x",
    "//evil.example/ui/",
    "/\\evil.example",
    "/ui//evil.example",
    "/ui/../loans/X",
    "/loans/X",
    "javascript:alert(1)",
    "/ui/login",
    " /ui/portfolio",
    "/ui/portfolio\r\nSet-Cookie: a=b",
]


def test_sign_in_never_sends_the_browser_to_another_site(pages: Pages) -> None:
    for target in ELSEWHERE:
        assert local_next(target) is None, target
        signed_in = pages.sign_in(target)
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/ui/portfolio", target
        form = text_of(pages.get("/ui/login?next=" + quote(target, safe="")))
        assert "name=next" not in form, target


def test_sign_out_forgets_the_key(small: Pages) -> None:
    assert "id=sign-out" in text_of(small.get("/ui/portfolio"))
    out = small.client.post("/ui/logout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"].startswith("/ui/login")
    cookie = out.headers["set-cookie"].lower()
    assert cookie.startswith('ledger_key=""') or "max-age=0" in cookie, cookie
    assert "signed out" in text_of(small.get(out.headers["location"]))
    again = small.get("/ui/portfolio")
    assert again.status_code == 303 and again.headers["location"].startswith("/ui/login")


NOT_SHOWN = [
    ("/ui/loans/NOPE", 404, "unknown loan NOPE"),
    ("/ui/loans/%3Cb%3E", 422, "is not an identifier"),
    ("/ui/loans/CAROL/extra", 404, "no page at /ui/loans/CAROL/extra"),
    ("/ui/nothing-here", 404, "no page at /ui/nothing-here"),
]


def test_errors_on_ui_pages_are_html_pages_with_their_status(small: Pages) -> None:
    for path, status, needle in NOT_SHOWN:
        answer = small.get(path)
        assert answer.status_code == status, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert "problem+json" not in answer.headers["content-type"]
        assert needle in html.unescape(answer.text), (path, answer.text[-800:])
        assert "<b>" not in answer.text.split("<h1>")[1]  # the id is shown escaped


def test_the_loan_page_lists_its_dispute_cases_and_four_eyes_requests(small: Pages) -> None:
    app = small.app
    claim = {"claim": SCRIPT, "received_by": "desk", "channel": "phone", "channel_ref": ""}
    disputes.open_dispute(app, "CAROL", charge="interest", amount=Decimal("5.00"),
                          period=(date(2026, 1, 15), date(2026, 1, 25)), actor="desk",
                          **claim)  # fmt: skip
    app.execute(lambda: approvals.request_backdated_repayment(
        app, "CAROL", amount=Decimal("100.00"), on=date(2026, 1, 20), reason="branch",
        by=approvals.Person("desk", "operator"), four_eyes=FourEyes(),
    ))  # fmt: skip
    page = text_of(small.get("/ui/loans/CAROL"))
    assert "<table id=disputes>" in page and "DSP-000001" in page
    assert "<table id=approvals>" in page and "APR-000001" in page
    assert "record a repayment of 100.00 back-dated to 2026-01-20" in page
    assert "a second person with the approver role decides" in page
