"""``ledger demo``: a self-contained tour of the ledger on a fresh store."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ledger.adapters.gateway import GatewaySettings
from ledger.cli.output import rule
from ledger.domain.collection import BOUNCED, GatewayResult, request_id_for
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO, fmt
from ledger.domain.terms import Replan
from ledger.read import views
from ledger.read.restructuring import preview_view
from ledger.services import approvals
from ledger.services.application import LedgerApp
from ledger.services.business_date import BusinessDate, BusinessToday
from ledger.services.products import terms_from_input
from projections import Projections
from projections.balances import shown as balance_shown
from projections.statements import shown as statement_shown
from scheduler.worker import Worker, WorkerSettings

DEMO_TODAY = date(2026, 4, 30)
LOANS = [
    # reference, product, principal, term, disbursed_on, rate flags
    ("DEMO-BR", "borrow_and_return", "10000.00", 6, "2026-01-01", {"daily_rate": "0.0005"}),
    ("DEMO-RS", "repay_on_schedule", "12000.00", 12, "2026-01-15", {"daily_rate": "0.0005"}),
    (
        "DEMO-IF",
        "interest_first",
        "20000.00",
        12,
        "2026-01-10",
        {"annual_rate": "0.18", "day_count": "ACT/365"},
    ),
    ("DEMO-EP", "equal_principal", "6000.00", 6, "2026-01-20", {"daily_rate": "0.0005"}),
    (
        "DEMO-MALL",
        "mall_installment",
        "3600.00",
        12,
        "2026-01-05",
        {"daily_rate": "0.0004", "installment_multiple": "1"},
    ),
]


def run_demo(db: str | None, out: Console) -> None:
    if db is None:
        folder = Path(tempfile.mkdtemp(prefix="ledger-demo-"))
        db = f"sqlite:///{folder / 'ledger.db'}"
    rule(out, "[bold]Loan ledger demo")
    out.print(f"store: {db}\n")
    # A simulation: the business date is the tour's last day, not today's.
    app = LedgerApp.from_url(
        db,
        business_date=BusinessDate(fixed=BusinessToday(DEMO_TODAY, "the demo's simulated today")),
    )
    # The months of business days are run by the worker's batch mode (`ledger worker --through`).
    worker = Worker(lambda: app, WorkerSettings())
    _open_loans(app, out)
    _run_months(app, worker, out)
    projections = Projections(app)  # the worker caught them up after each pass
    _show_book(projections, out)
    _tell_story(app, projections, "DEMO-EP", db, out)


def _open_loans(app: LedgerApp, out: Console) -> None:
    for reference, product, principal, term, disbursed_on, rate in LOANS:
        terms = terms_from_input(
            product=product,
            principal=principal,
            term=term,
            disbursed_on=date.fromisoformat(disbursed_on),
            **rate,
        )
        loan = app.open_loan(terms, reference)
        plan = (
            f"EMI {fmt(loan.emi)}"
            if terms.method.value == "equal_installment"
            else f"principal {fmt(loan.principal_step)} a month"
            if terms.method.value in ("equal_principal", "flat")
            else "interest monthly, principal at the end"
        )
        out.print(
            f"opened {reference:10} {product:18} {principal:>10} over {term:2} months "
            f"from {disbursed_on} ({plan})"
        )


def _run_months(app: LedgerApp, worker: Worker, out: Console) -> None:
    out.print("\nDEMO-EP's borrower has an empty account; DEMO-MALL's holds only 250.00.")
    app.set_balance("DEMO-EP", ZERO)
    app.set_balance("DEMO-MALL", Decimal("250.00"))

    stages = [
        date(2026, 2, 28),
        date(2026, 3, 9),
    ]
    for through in stages:
        report = worker.catch_up(through)
        out.print(
            f"close of business through {through}: {len(report.days)} days, "
            f"{report.loan_days} loan-days, {report.events} events"
        )
    _, quote = app.prepay("DEMO-BR", date(2026, 3, 10))
    out.print(
        f"\nDEMO-BR pays off on 2026-03-10: total {fmt(quote.total)} "
        f"(principal {fmt(quote.principal)}, interest {fmt(quote.interest)}, "
        f"fee {fmt(quote.fee)})"
    )
    _, quote = app.prepay(
        "DEMO-RS", date(2026, 3, 20), amount=Decimal("3000.00"), replan=Replan.REDUCE_TERM
    )
    out.print(
        f"DEMO-RS prepays 3000.00 on 2026-03-20: principal {fmt(quote.principal)}, "
        f"fee {fmt(quote.fee)}; now {quote.last_k} installments instead of 12"
    )
    out.print("DEMO-EP's borrower finds 1500.00 on 2026-03-25.")
    worker.catch_up(date(2026, 3, 24))
    app.set_balance("DEMO-EP", Decimal("1500.00"))
    _bank_answers_later(app, worker, out)
    _restructure(app, out)
    report = worker.catch_up(date(2026, 4, 30))
    out.print(
        f"close of business through 2026-04-30: {len(report.days)} days, "
        f"{report.loan_days} loan-days, {report.events} events\n"
    )


def _bank_answers_later(app: LedgerApp, worker: Worker, out: Console) -> None:
    """From 2026-03-25 the bank answers a day later (loan-rules section 17); the result of
    DEMO-RS's request of 04-15 comes on 04-16, then the bank returns that money on 04-17."""
    app.gateway_settings = GatewaySettings(delay_days=1)
    out.print(
        "From 2026-03-25 the bank answers a day later: each morning's deduction is a request "
        "(ledger gateway pending), its result recorded when it comes (ledger gateway poll)."
    )
    through = date(2026, 3, 25)
    while through <= date(2026, 4, 16):  # the worker polls the bank after each morning
        worker.catch_up(through)
        app.poll_gateway(through)
        through += timedelta(days=1)
    request = request_id_for(app.get_loan("DEMO-RS").id, date(2026, 4, 15))
    settled = app.get_loan("DEMO-RS")
    out.print(
        f"DEMO-RS's request of 2026-04-15 settled on 04-16, dated the day the money was taken: "
        f"{settled.figures().status}, principal repaid {fmt(settled.principal_repaid)}"
    )
    worker.catch_up(date(2026, 4, 17))
    returned = GatewayResult("BANK-RETURN-0417", request, BOUNCED, ZERO)
    app.execute(lambda: app.record_results([returned], channel="file"))
    bounced = app.get_loan("DEMO-RS")
    f = bounced.figures()
    out.print(
        f"on 04-17 the bank returns it (bounced): DEMO-RS is {f.status} again, principal repaid "
        f"{fmt(bounced.principal_repaid)}, overdue {fmt(f.overdue_amount)}, penalty "
        f"{fmt(f.penalty_accrued)}: as if the money never came"
    )


def _restructure(app: LedgerApp, out: Console) -> None:
    """DEMO-EP's hardship: a payment holiday of 2 installments, asked by ops, approved by lee
    (four eyes, loan-rules section 16)."""
    on = date(2026, 4, 18)
    preview = preview_view(
        app.preview_restructure("DEMO-EP", on=on, term=None, rate=None, holiday=2)
    )
    asked = approvals.request_restructure(
        app, "DEMO-EP", on=on, term=None, rate=None, holiday=2, reason="hardship",
        by=approvals.Person("ops", "operator"),
    )  # fmt: skip
    done = approvals.approve(app, asked.request.reference, by=approvals.Person("lee", "approver"))
    assert done.loan is not None
    out.print(
        f"DEMO-EP's borrower asks for a payment holiday of 2 installments on {on}: ops asks, "
        f"lee approves; the plan now ends with #{done.loan.last_k} (annual cost "
        f"{preview['old_cost']} before, {preview['new_cost']} after)\n"
    )


def _show_book(projections: Projections, out: Console) -> None:
    table = Table(title="Balances at the end of 2026-04-30 (balances projection)")
    for column in (
        "loan",
        "product",
        "status",
        "principal",
        "interest acc.",
        "penalty",
        "overdue",
        "dpd",
    ):
        table.add_column(
            column, justify="left" if column in ("loan", "product", "status") else "right"
        )
    for row in projections.balances.all():
        s = balance_shown(row)
        table.add_row(
            s["loan_id"],
            s["product"],
            s["status"],
            s["principal_outstanding"],
            s["interest_accrued"],
            s["penalty_accrued"],
            s["overdue_amount"],
            str(s["days_past_due"]),
        )
    out.print(table)
    book = projections.portfolio.report()
    out.print(
        "delinquency buckets (portfolio projection): "
        + ", ".join(
            f"{b['bucket']} {b['loans']} loan(s) {b['principal_outstanding']}"
            for b in book["buckets"]
        )
        + "\n"
    )


def _tell_story(
    app: LedgerApp, projections: Projections, story: str, db: str, out: Console
) -> None:
    rule(out, f"[bold]The story of {story}")
    events = app.loan_events(story)
    table = Table()
    for column in ("v", "date", "event", "what"):
        table.add_column(column)
    routine = (Loan.InterestAccrued, Loan.DeductionFailed, Loan.DeductionRequested)
    run: list[Any] = []

    def flush() -> None:
        if run:
            first, last = run[0], run[-1]
            table.add_row(
                f"{first.originator_version}-{last.originator_version}",
                f"{first.on}..{last.on}",
                f"{len(run)} routine events",
                "daily accruals, deductions asked and failed (see `ledger loan events`)",
            )
            run.clear()

    for e in events:
        bounced = isinstance(e, Loan.Corrected) and e.kind == "settlement" and not e.amount
        if isinstance(e, routine) or bounced:
            run.append(e)
            continue
        flush()
        table.add_row(
            str(e.originator_version), e.on.isoformat(), type(e).__name__, views.describe(e)
        )
    flush()
    out.print(table)
    state = views.loan_state(app.get_loan(story))
    out.print(
        f"\n{story} at the end of {state['as_of']}: {state['status']}, principal "
        f"{state['principal_outstanding']}, interest accrued {state['interest_accrued']}, "
        f"penalty {state['penalty_accrued']}, overdue {state['overdue_amount']}, "
        f"{state['days_past_due']} days past due"
    )
    march = projections.statements.read(app.get_loan(story).id, "2026-04")
    if march:
        m = statement_shown(march[0])
        out.print(
            f"its statement for 2026-04 ({m['period_start']} to {m['period_end']}): opening "
            f"{m['opening_balance']} + interest {m['interest']} + penalty {m['penalty']} "
            f"- paid {m['paid_total']} - waived {m['waived']} + adjustments {m['adjustments']} "
            f"(the bank's result recorded as a correction) = closing {m['closing_balance']}"
        )
    out.print(
        f"\nTry: ledger --db {db} loan schedule {story}; "
        f"ledger --db {db} loan statement {story} --month 2026-03; ledger --db {db} portfolio"
    )
