"""``ledger loan open``: disburse a loan of a product, any term overridden by an option.

Its help explains the products, rendered from :data:`ledger.domain.terms.PRESETS` (the one
place they are defined), and what each choice means (:mod:`ledger.cli.help_text`).
"""

from __future__ import annotations

from typing import Any

import click

from ledger.cli.common import (
    DATE,
    DAYS,
    FACTOR,
    MONEY,
    NEW_LOAN_ID,
    RATE,
    STEP,
    TERM,
    db_option,
    json_option,
    open_for,
)
from ledger.cli.help_text import open_epilog
from ledger.cli.output import emit, kv_table
from ledger.domain.money import Rounding
from ledger.domain.terms import (
    DEFAULT_GRACE_DAYS,
    DEFAULT_INSTALLMENT_MULTIPLE,
    DEFAULT_PENALTY_MULTIPLIER,
    PRESETS,
    DayCount,
    InterestMethod,
    Method,
    RemainingFees,
)
from ledger.read import views
from ledger.services.products import terms_from_input


@click.command("open", epilog=open_epilog())
@click.option(
    "--product",
    required=True,
    type=click.Choice(sorted(PRESETS)),
    help="The product: its method and prepayment fee (see Products below).",
)
@click.option("--principal", required=True, type=MONEY, help="The amount paid out, e.g. 12000.00.")
@click.option("--term", required=True, type=TERM, help="Monthly installments, 1 to 360.")
@click.option(
    "--disbursed-on",
    required=True,
    type=DATE,
    help="Business date of the payout (YYYY-MM-DD); the first installment is due a month later.",
)
@click.option("--daily-rate", type=RATE, help="Interest a day, e.g. 0.0005 (0.05 % a day).")
@click.option(
    "--annual-rate", type=RATE, help="Interest a year, e.g. 0.18 (18 %), with --day-count."
)
@click.option(
    "--day-count",
    type=click.Choice([d.value for d in DayCount]),
    help="How --annual-rate becomes a day's rate (see Day counts below).",
)
@click.option(
    "--method",
    type=click.Choice([m.value for m in Method]),
    help="How principal is repaid (default: the product's; see Methods below).",
)
@click.option(
    "--prepayment-fee-rate",
    type=RATE,
    help="Fee on principal prepaid, e.g. 0.03 (3 %) (default: the product's).",
)
@click.option(
    "--penalty-multiplier",
    type=FACTOR,
    help="An overdue amount bears this many times the day's rate "
    f"(default {DEFAULT_PENALTY_MULTIPLIER}).",
)
@click.option(
    "--compound-multiplier",
    type=FACTOR,
    help="Overdue interest bears compound interest at this many times the day's rate, apart "
    "from the overdue principal's penalty, each rounded on its own (loan-rules section 11; "
    "default: one penalty on both).",
)
@click.option(
    "--interest-method",
    type=click.Choice([m.value for m in InterestMethod]),
    help="daily_balance: the daily balance x the day's rate; per_transaction: the principal "
    "not yet due x (whole months x the monthly rate + odd days x the day rate) (loan-rules "
    "section 10; default daily_balance).",
)
@click.option(
    "--fee-rate-per-period",
    type=RATE,
    help="bank_installment only (required there): each installment carries a handling fee of "
    "this fraction of the principal, e.g. 0.006 (loan-rules section 13).",
)
@click.option(
    "--remaining-fees",
    type=click.Choice([r.value for r in RemainingFees]),
    help="bank_installment only: on a full prepayment the fees of the installments not yet due "
    "are charged or waived (default charge; loan-rules section 13).",
)
@click.option(
    "--grace-days",
    type=DAYS,
    help=f"Days after a due date before an unpaid installment is overdue, 0 to 90 "
    f"(default {DEFAULT_GRACE_DAYS}).",
)
@click.option(
    "--installment-multiple",
    type=STEP,
    help="The fixed installment is rounded to a multiple of this, e.g. 1 for whole yuan "
    f"(default {DEFAULT_INSTALLMENT_MULTIPLE}).",
)
@click.option(
    "--rounding",
    type=click.Choice([r.value for r in Rounding]),
    help="Rounding of ties (default half_up; see Rounding below).",
)
@click.option(
    "--first-due-date",
    type=DATE,
    help="Installment 1's due date, after --disbursed-on and at most two months later "
    "(a broken first period, loan-rules section 9; default: a month after). Later "
    "installments fall due on its day of the month.",
)
@click.option(
    "--loan-id",
    type=NEW_LOAN_ID,
    help="Your reference for the loan: 1 to 64 of A-Z a-z 0-9 . _ -, not a UUID "
    "(default: a new UUID).",
)
@db_option
@json_option
@click.pass_context
def loan_open(ctx: click.Context, /, db: str | None, as_json: bool, **flags: Any) -> None:
    """Disburse a loan of a product; every option given overrides the product's term."""
    reference = flags.pop("loan_id")
    terms = terms_from_input(**flags)
    app = open_for(ctx, db, creates=True)

    def command() -> dict[str, Any]:
        opened = app.open_loan(terms, reference)
        state = views.loan_state(opened, terms.disbursed_on)
        result: dict[str, Any] = {
            "loan_id": opened.label,
            "uuid": str(opened.id),
            "product": terms.product,
            "principal": state["principal_outstanding"],
            "term": terms.term,
            "disbursed_on": terms.disbursed_on.isoformat(),
            "first_due_date": terms.due_date(1).isoformat(),
            "method": terms.method.value,
            "interest_method": terms.interest_method.value,
            "emi": str(opened.emi) if terms.method is Method.EQUAL_INSTALLMENT else None,
            "monthly_rate": str(opened.monthly_rate),
            "prepayment_fee_rate": str(terms.prepayment_fee_rate),
        }
        if terms.fee_rate_per_period is not None:  # section 13
            result["fee_rate_per_period"] = str(terms.fee_rate_per_period)
            result["handling_fee"] = str(opened.handling_fee)
            result["remaining_fees"] = terms.remaining_fees.value if terms.remaining_fees else None
        return result

    result = app.execute(command)
    if as_json:
        emit(result)
    else:
        kv_table(f"Loan {result['loan_id']} opened", result)
