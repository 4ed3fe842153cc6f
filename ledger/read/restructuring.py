"""A restructuring's preview (loan-rules §16), as ``ledger loan restructure --preview`` prints
it and ``POST /loans/{loan_id}/restructurings/preview`` answers it: the restructuring's inputs,
the plan before and after side by side from the next installment on (as planned, section 5:
interest estimated as base x the monthly rate), and the annual cost of the loan under each
(IRR on dates, :mod:`ledger.domain.cost`) from the money that moved so far, what is due on the
day, and the planned installments (with their handling fee on a loan that charges one)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ledger.domain.cost import CashFlow, annual_irr
from ledger.domain.money import ZERO, fmt
from ledger.read import views
from ledger.read.report import cash_flows
from ledger.services.restructuring import Preview, Row

TO_DATE = ("balance still owed (to date)", "credit still owed to the borrower")  # report's
RATE_PLACES = Decimal("0.000001")


def preview_view(preview: Preview) -> dict[str, Any]:
    loan, fee = preview.loan, preview.loan.handling_fee
    done = views.restructuring(loan)
    for name in ("actor", "reason", "version", "status"):
        del done[name]
    old = {k: (due, p, i) for k, due, p, i in preview.old}
    new = {k: (due, p, i) for k, due, p, i in preview.new}
    plan = []
    for k in sorted(set(old) | set(new)):
        row: dict[str, Any] = {"k": k, "due_date": (new.get(k) or old[k])[0].isoformat()}
        for name, rows in (("old", old), ("new", new)):
            _, principal, interest = rows.get(k, (None, None, None))
            row[f"{name}_principal"] = None if principal is None else fmt(principal)
            row[f"{name}_interest"] = None if interest is None else fmt(interest)
            row[f"{name}_total"] = (
                None if principal is None or interest is None else fmt(principal + interest + fee)
            )
        plan.append(row)
    old_cost, new_cost = _cost(preview, preview.old), _cost(preview, preview.new)
    return {
        **done,
        "handling_fee": fmt(fee) if loan.terms.charges_handling_fee else None,
        "plan": plan,
        "old_total": fmt(_total(preview.old, fee)),
        "new_total": fmt(_total(preview.new, fee)),
        "difference": fmt(_total(preview.new, fee) - _total(preview.old, fee)),
        "old_cost": _rate(old_cost),
        "new_cost": _rate(new_cost),
        "cost_difference": (
            None if old_cost is None or new_cost is None else _rate(new_cost - old_cost)
        ),
        "written": False,
    }


def _total(rows: list[Row], fee: Decimal) -> Decimal:
    return sum((p + i + fee for _, _, p, i in rows), ZERO)


def _cost(preview: Preview, rows: list[Row]) -> Decimal | None:
    """The annual IRR of the money moved so far, what is due on the day, and ``rows``."""
    loan, on = preview.loan, preview.event.on
    events = [*preview.recorded, *loan.pending_events]
    flows = [f for f in cash_flows(loan, events) if f.what not in TO_DATE]
    flows.append(CashFlow(on, loan.amount_due - loan.credit, "due on the day, less credit"))
    flows += [CashFlow(due, p + i + loan.handling_fee, f"#{k}") for k, due, p, i in rows]
    return annual_irr(flows)


def _rate(rate: Decimal | None) -> str | None:
    return None if rate is None else str(rate.quantize(RATE_PLACES, ROUND_HALF_UP))
