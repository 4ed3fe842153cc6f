"""The asynchronous payment gateway (loan-rules section 17) on SQLite and PostgreSQL: requests,
results recorded once, a bounce after allocation, reconciliation, refusals that write nothing.

Every loan here: 12,000.00 over 6 months, repay_on_schedule at 0.05 % a day, from 2026-01-15,
so installment 1 (2,106.30) falls due on 2026-02-15 and the morning requests it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from ledger.adapters.gateway import GatewaySettings
from ledger.domain.collection import GatewayResult, request_id_for
from ledger.domain.errors import CommandRefused, NotFound
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO
from ledger.read import views
from ledger.read.accounting import tie_out
from ledger.services import audit
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input
from projections import Projections

OPENED = date(2026, 1, 15)
DUE = date(2026, 2, 15)
FIRST = Decimal("2106.30")


@pytest.fixture
def gateway_app(db_url: str) -> Iterator[LedgerApp]:
    """The store with an asynchronous simulated bank: results from the day after."""
    application = LedgerApp.from_url(db_url, gateway=GatewaySettings(delay_days=1))
    yield application
    application.close()


def open_loans(app: LedgerApp, *names: str) -> None:
    for name in names:
        terms = terms_from_input(
            product="repay_on_schedule",
            principal="12000.00",
            term=6,
            disbursed_on=OPENED,
            daily_rate="0.0005",
        )
        app.open_loan(terms, name)


def request_of(app: LedgerApp, name: str, on: date = DUE) -> str:
    return request_id_for(app.get_loan(name).id, on)


def record(app: LedgerApp, *results: GatewayResult) -> list[Any]:
    return app.execute(lambda: app.record_results(list(results), channel="cli"))


def figures(app: LedgerApp, name: str) -> dict[str, Any]:
    shown = views.loan_state(app.get_loan(name))
    return {k: v for k, v in shown.items() if k not in ("loan_id", "uuid")}


def requests_of(app: LedgerApp, name: str) -> list[Any]:
    return [e for e in app.loan_events(name) if isinstance(e, Loan.DeductionRequested)]


def event_count(app: LedgerApp) -> int:
    return len(app.recorder.select_notifications(start=None, limit=10**9))


def test_the_morning_requests_what_is_due_and_allocates_nothing_until_the_result(
    gateway_app: LedgerApp,
) -> None:
    open_loans(gateway_app, "BOB")
    gateway_app.close_days(DUE)
    loan = gateway_app.get_loan("BOB")
    requested = [
        e for e in gateway_app.loan_events("BOB") if isinstance(e, Loan.DeductionRequested)
    ]
    assert [(e.on, e.requested, e.request_id) for e in requested] == [
        (DUE, FIRST, request_of(gateway_app, "BOB"))
    ]
    assert loan.deductions_in_flight == FIRST
    assert loan.principal_repaid == Decimal("0.00")
    assert [r.request_id for r in gateway_app.pending_requests()] == [
        request_of(gateway_app, "BOB")
    ]
    gateway_app.close_days(DUE + timedelta(days=3))  # one request in flight at a time
    assert (
        len([e for e in gateway_app.loan_events("BOB") if isinstance(e, Loan.DeductionRequested)])
        == 1
    )


def test_a_result_delivered_days_later_gives_the_balances_of_money_collected_at_once(
    gateway_app: LedgerApp, tmp_path: Path
) -> None:
    """BOB's results come from the simulated bank a day late, polled each day; the same loan
    on a store whose bank answers at once ends with the same figures: nothing overdue, no
    penalty, each installment paid on its due date."""
    open_loans(gateway_app, "BOB")
    day = OPENED
    while day <= date(2026, 4, 20):
        gateway_app.close_days(day)
        gateway_app.poll_gateway(day)
        day += timedelta(days=1)
    synchronous = LedgerApp.from_url(f"sqlite:///{tmp_path}/at-once.db")
    try:
        open_loans(synchronous, "BOB")
        synchronous.close_days(date(2026, 4, 20))
        assert figures(gateway_app, "BOB") == figures(synchronous, "BOB")
        assert gateway_app.get_loan("BOB").installments == synchronous.get_loan("BOB").installments
    finally:
        synchronous.close()
    assert figures(gateway_app, "BOB")["penalty_paid"] == "0.00"
    assert gateway_app.get_loan("BOB").deductions_in_flight == 0
    assert audit.verify_loan(gateway_app, "BOB").clean


def test_a_result_delivered_twice_is_recorded_once(gateway_app: LedgerApp) -> None:
    open_loans(gateway_app, "BOB")
    gateway_app.close_days(DUE)
    settled = GatewayResult("R-1", request_of(gateway_app, "BOB"), "settled", FIRST)
    first = record(gateway_app, settled, settled)  # twice in one delivery
    count = event_count(gateway_app)
    again = record(gateway_app, settled)  # and once more later
    assert [r.outcome for r in first] == ["recorded", "already"]
    assert [(r.outcome, r.event) for r in again] == [("already", first[0].event)]
    assert event_count(gateway_app) == count
    corrections = [e for e in gateway_app.loan_events("BOB") if isinstance(e, Loan.Corrected)]
    assert len(corrections) == 1
    assert gateway_app.get_loan("BOB").principal_repaid == Decimal("1920.30")


def test_a_bounce_after_allocation_gives_the_balances_of_money_that_never_came(
    gateway_app: LedgerApp,
) -> None:
    open_loans(gateway_app, "BOB", "CAROL")
    gateway_app.close_days(DUE)
    record(gateway_app, GatewayResult("B-1", request_of(gateway_app, "BOB"), "settled", FIRST))
    gateway_app.close_days(DUE + timedelta(days=5))
    assert gateway_app.get_loan("BOB").principal_repaid == Decimal("1920.30")
    record(
        gateway_app,
        GatewayResult("B-2", request_of(gateway_app, "BOB"), "bounced", Decimal("0.00")),
        GatewayResult("C-1", request_of(gateway_app, "CAROL"), "bounced", Decimal("0.00")),
    )
    bob, carol = figures(gateway_app, "BOB"), figures(gateway_app, "CAROL")
    assert {k: (bob[k], carol[k]) for k in bob if bob[k] != carol[k]} == {}
    assert bob["principal_repaid"] == "0.00"
    assert Decimal(bob["penalty_accrued"]) > 0  # overdue since the due date, as if unpaid
    assert gateway_app.get_loan("BOB").installments == gateway_app.get_loan("CAROL").installments
    kinds = [e.kind for e in gateway_app.loan_events("BOB") if isinstance(e, Loan.Corrected)]
    assert kinds == ["settlement", "bounce"]
    assert audit.verify_loan(gateway_app, "BOB").clean
    assert audit.verify_loan(gateway_app, "CAROL").clean


def test_money_taken_after_the_request_day_is_allocated_on_the_day_it_was_taken(
    gateway_app: LedgerApp,
) -> None:
    open_loans(gateway_app, "BOB")
    gateway_app.close_days(DUE + timedelta(days=4))
    taken = DUE + timedelta(days=3)
    late = GatewayResult("L-1", request_of(gateway_app, "BOB"), "settled", FIRST, taken)
    record(gateway_app, late)
    loan = gateway_app.get_loan("BOB")
    first = loan.installments[0]
    # overdue from 02-16: two days of penalty before the money came on the morning of
    # 02-18, 2,106.30 x 0.0005 x 1.5 x 2 = 3.15945 -> 3.16, paid first (section 6); then
    # interest 186.00, and principal 2,106.30 - 3.16 - 186.00 = 1,917.14
    assert (first.penalty_paid, first.interest_paid, first.principal_paid) == (
        Decimal("3.16"),
        Decimal("186.00"),
        Decimal("1917.14"),
    )
    assert audit.verify_loan(gateway_app, "BOB").clean


def test_results_refused_write_nothing(gateway_app: LedgerApp) -> None:
    open_loans(gateway_app, "BOB")
    gateway_app.close_days(DUE)
    request = request_of(gateway_app, "BOB")
    other_day = request_id_for(gateway_app.get_loan("BOB").id, DUE - timedelta(days=1))
    good = GatewayResult("G-1", request, "settled", FIRST)
    count = event_count(gateway_app)
    bad = [
        GatewayResult("X", "not-a-request", "settled", FIRST),
        GatewayResult("X", request_id_for(uuid4(), DUE), "settled", FIRST),
        GatewayResult("X", other_day, "settled", FIRST),
        GatewayResult("X", request, "settled", Decimal("2106.29")),
        GatewayResult("X", request, "partly_settled", FIRST),
        GatewayResult("X", request, "bounced", Decimal("1.00")),
        GatewayResult("X", request, "settled", FIRST, DUE - timedelta(days=1)),
        GatewayResult(" ", request, "settled", FIRST),
    ]
    for result in bad:
        with pytest.raises((CommandRefused, NotFound)):
            record(gateway_app, good, result)  # the good one is not recorded either
        assert event_count(gateway_app) == count, result
    record(gateway_app, good)
    count = event_count(gateway_app)
    with pytest.raises(CommandRefused, match="already has result G-1"):
        record(gateway_app, GatewayResult("G-2", request, "settled", FIRST))
    assert event_count(gateway_app) == count


def test_reconciliation_finds_a_missing_and_a_duplicate_settlement(gateway_app: LedgerApp) -> None:
    open_loans(gateway_app, "ANN", "BOB", "CAROL", "DAN")
    gateway_app.close_days(DUE)
    ann, bob, carol, dan = (request_of(gateway_app, n) for n in ("ANN", "BOB", "CAROL", "DAN"))
    record(
        gateway_app,
        GatewayResult("R-ANN", ann, "settled", FIRST),
        GatewayResult("R-BOB", bob, "settled", FIRST),
        GatewayResult("R-CAROL", carol, "partly_settled", Decimal("1000.00")),
    )
    provider = [
        GatewayResult("R-ANN", ann, "settled", FIRST, DUE),
        GatewayResult("R-BOB", bob, "settled", FIRST, DUE),
        GatewayResult("R-BOB-AGAIN", bob, "settled", FIRST, DUE),  # planted duplicate
        GatewayResult("R-DAN", dan, "settled", FIRST, DUE),  # planted: never recorded
        # CAROL's 1,000.00 is planted missing at the provider
    ]
    report = gateway_app.reconcile(DUE, provider)
    found = sorted((d.kind, d.request_id) for d in report.differences)
    assert found == sorted(
        [("duplicate", bob), ("missing_in_ledger", dan), ("missing_at_provider", carol)]
    )
    assert report.matched == 1
    assert report.ledger_total == FIRST * 2 + Decimal("1000.00")
    clean = gateway_app.reconcile(
        DUE,
        [
            GatewayResult("R-ANN", ann, "settled", FIRST, DUE),
            GatewayResult("R-BOB", bob, "settled", FIRST, DUE),
            GatewayResult("R-CAROL", carol, "partly_settled", Decimal("1000.00"), DUE),
        ],
    )
    assert (clean.differences, clean.matched) == ([], 3)
    mismatch = gateway_app.reconcile(DUE, [GatewayResult("R-ANN", ann, "settled", FIRST - 1, DUE)])
    assert ("amount_mismatch", ann) in [(d.kind, d.request_id) for d in mismatch.differences]


def test_the_journal_ties_out_after_results_and_bounces(gateway_app: LedgerApp) -> None:
    open_loans(gateway_app, "BOB", "CAROL")
    gateway_app.close_days(DUE)
    record(
        gateway_app,
        GatewayResult("B-1", request_of(gateway_app, "BOB"), "settled", FIRST),
        GatewayResult("C-1", request_of(gateway_app, "CAROL"), "partly_settled", Decimal("5.00")),
    )
    gateway_app.close_days(DUE + timedelta(days=2))
    record(gateway_app, GatewayResult("B-2", request_of(gateway_app, "BOB"), "bounced", Decimal(0)))
    projections = Projections(gateway_app)
    projections.catch_up()
    assert tie_out(gateway_app, projections)["holds"]


def test_a_result_after_the_write_off_is_a_recovery_and_a_bounce_records_nothing(
    gateway_app: LedgerApp,
) -> None:
    """BOB and CAROL are written off while their 02-15 requests await the bank (section 14):
    BOB's money, when it comes, is a recovery; CAROL's bounce answers nothing new."""
    open_loans(gateway_app, "BOB", "CAROL")
    gateway_app.close_days(DUE + timedelta(days=2))
    for name in ("BOB", "CAROL"):
        gateway_app.write_off(name, on=None, actor="collections", reason="fraud")
    assert gateway_app.pending_requests() == []  # the write-off answered them
    settled = GatewayResult("W-1", request_of(gateway_app, "BOB"), "settled", FIRST)
    bounced = GatewayResult("W-2", request_of(gateway_app, "CAROL"), "bounced", ZERO)
    count = event_count(gateway_app)
    done = record(gateway_app, settled, bounced)
    assert [r.outcome for r in done] == ["recorded", "written_off"]
    assert event_count(gateway_app) == count + 1
    recovered = gateway_app.loan_events("BOB")[-1]
    assert isinstance(recovered, Loan.Recovered)
    assert (recovered.amount, (recovered.result or {}).get("result_id")) == (FIRST, "W-1")
    assert [r.outcome for r in record(gateway_app, settled)] == ["already"]
    assert gateway_app.get_loan("BOB").recovered == FIRST
    assert audit.verify_loan(gateway_app, "BOB").clean
    gateway_app.gateway_book.catch_up()
    row = gateway_app.gateway_book.find(request_of(gateway_app, "BOB"))
    assert row is not None and (row.status, row.collected) == ("settled", FIRST)
