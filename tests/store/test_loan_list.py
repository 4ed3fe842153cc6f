"""The book's loans a page at a time (``projections.loan_list``), on both stores."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input
from projections import Projections
from projections.loan_list import LoanFilter, list_loans

PRODUCTS = ["repay_on_schedule", "equal_principal", "interest_first"]


def _book(app: LedgerApp, loans: int) -> Projections:
    for i in range(loans):
        terms = terms_from_input(
            product=PRODUCTS[i % 3],
            principal="1200.00",
            term=3,
            disbursed_on=date(2026, 1, 5),
            daily_rate="0.0005",
        )
        app.open_loan(terms, reference=f"L-{i:03d}")
    app.close_days(date(2026, 1, 31))
    projections = Projections(app)
    projections.catch_up()
    return projections


def test_pages_by_key_cover_every_matching_loan_once_in_reference_order(app: LedgerApp) -> None:
    projections = _book(app, 11)
    seen: list[str] = []
    after = None
    while True:
        page = list_loans(projections.balances, after=after, limit=4)
        assert page.total == 11
        seen += [row["reference"] for row in page.rows]
        after = page.next_after
        if after is None:
            break
    assert seen == [f"L-{i:03d}" for i in range(11)]


def test_filters_select_by_product_and_status_and_count_only_the_matches(app: LedgerApp) -> None:
    projections = _book(app, 7)
    page = list_loans(projections.balances, LoanFilter(product="equal_principal"))
    assert [r["reference"] for r in page.rows] == ["L-001", "L-004"]
    assert page.total == 2 and page.next_after is None
    assert list_loans(projections.balances, LoanFilter(status="closed")).total == 0
    assert list_loans(projections.balances, LoanFilter(min_days_past_due=1)).total == 0


def test_a_page_size_out_of_range_or_a_foreign_key_is_refused(app: LedgerApp) -> None:
    projections = _book(app, 1)
    with pytest.raises(ValueError, match="limit must be"):
        list_loans(projections.balances, limit=0)
    with pytest.raises(ValueError, match="not a key"):
        list_loans(projections.balances, after="nonsense")
