"""``ledger audit report``: a dispute report a person can read without help.

Everything in it comes from the ledger: the terms, the schedule planned vs actual, every
charge with its arithmetic, the money received, corrections and waivers, the verification by
replay, and the loan's annualised cost from its actual cash flows (IRR on dates) compared
with the configured caps. Three renderings of one document: JSON, Markdown, and a single
self-contained HTML file (inline CSS, no scripts, no external resources).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ledger.adapters.config import RateCaps
from ledger.domain.cost import CashFlow, annual_irr, daily_rate
from ledger.domain.loan import Loan
from ledger.domain.money import FEN, ZERO, accumulate, fmt, readable, round_to, shown
from ledger.domain.terms import Arithmetic, Terms
from ledger.read import approvals, views
from ledger.services import audit, disputes
from ledger.services.application import LedgerApp

PERCENT = Decimal("0.0001")
# money that reached the lender (and a reversal takes back); not the disbursement, a refund
# due or the balance still owed
RECEIVED = {"deduction", "repayment", "repayment (back-dated)", "full prepayment",
            "partial prepayment", "reversed payment", "recovery"}  # fmt: skip


def received(flows: list[CashFlow]) -> Decimal:
    """Money received, net of payments reversed because they bounced."""
    return sum((f.amount for f in flows if f.what in RECEIVED), ZERO)


def _pct(rate: Decimal | None) -> str | None:
    return None if rate is None else f"{(rate * 100).quantize(PERCENT, ROUND_HALF_UP)} %"


def cash_flows(loan: Loan, events: list[Any]) -> list[CashFlow]:
    """Money that moved, seen from the lender: refunds paid back count as money out (section
    12); an open loan's balance counts as if paid on the last closed day, and credit still held
    as if refunded on the loan's last day (the cost to date). A correction recorded under the
    credit rules holds unneeded money as credit; an older one's ``refund_due`` is money out."""
    flows: list[CashFlow] = []
    for e in events:
        if isinstance(e, Loan.Disbursed):
            flows.append(CashFlow(e.on, -e.terms["principal"], "disbursed"))
        elif isinstance(e, Loan.InstallmentDeducted):
            flows.append(CashFlow(e.on, e.collected, "deduction"))
        elif isinstance(e, Loan.Repaid):
            flows.append(CashFlow(e.on, e.amount, "repayment"))
        elif isinstance(e, Loan.Prepaid):
            flows.append(CashFlow(e.on, e.total, f"{e.kind} prepayment"))
        elif isinstance(e, Loan.Refunded):
            flows.append(CashFlow(e.on, -e.amount, "refund paid to the borrower"))
        elif isinstance(e, Loan.Recovered):  # section 14: money received after a write-off
            flows.append(CashFlow(e.on, e.amount, "recovery"))
        elif isinstance(e, Loan.Corrected):
            if e.kind == "backdated_repayment" and e.amount is not None:
                flows.append(CashFlow(e.effective_on, e.amount, "repayment (back-dated)"))
            elif e.kind == "reversal":
                bounced = next(x for x in events if x.originator_version == e.reverses)
                paid: Decimal = (
                    bounced.collected
                    if isinstance(bounced, Loan.InstallmentDeducted)
                    else bounced.amount
                )
                flows.append(CashFlow(bounced.on, -paid, "reversed payment"))
            elif e.kind in ("settlement", "bounce") and e.result:  # section 17
                flows.append(_gateway_flow(e, events))
            if e.credit_rules:
                continue  # money it found unneeded is held as credit: counted below
            if e.refund_due > 0:
                flows.append(CashFlow(e.on, -e.refund_due, "refund due to the borrower"))
            elif e.refund_due < 0:  # e.g. the payment that made a refund due bounced
                flows.append(CashFlow(e.on, -e.refund_due, "refund no longer due"))
    last_day = events[-1].on if loan.is_closed and events else loan.closed_through
    if not loan.is_closed:
        owed = loan.amount_due + loan.principal_not_due + loan.interest_accrued_rounded
        if owed > 0:
            flows.append(CashFlow(loan.closed_through, owed, "balance still owed (to date)"))
    if loan.credit > 0:  # section 12: owed back to the borrower, as if paid that day
        flows.append(CashFlow(last_day, -loan.credit, "credit still owed to the borrower"))
    return flows


def _group_penalties(events: list[Any], k: int, arithmetic: Arithmetic) -> list[dict[str, Any]]:
    """Daily penalties of installment ``k``, consecutive days with the same base and rate as
    one line: days x base x rate / divisor x multiplier = amount (added exactly)."""
    lines: list[dict[str, Any]] = []
    for e in events:
        if not isinstance(e, Loan.InterestAccrued):
            continue
        for p, amount in zip(e.penalties, e.accrued(arithmetic)[1], strict=True):
            if int(p["k"]) != k:
                continue
            last = lines[-1] if lines else None
            # a per_transaction loan's entry may carry section 4's rate of its own (section 10)
            rate, divisor, days = (p.get(n, getattr(e, n)) for n in ("rate", "divisor", "days"))
            same = (p["base"], rate, divisor, e.penalty_multiplier)
            if last and last["same"] == same and (e.on - last["to"]).days == 1:
                last["to"] = e.on
                last["days"] += days
                last["amount"] = accumulate(last["amount"], amount)
            else:
                lines.append(
                    {"from": e.on, "to": e.on, "days": days, "same": same, "amount": amount}
                )
    return [_penalty_line(x) for x in lines]


def _penalty_line(x: dict[str, Any]) -> dict[str, Any]:
    base, rate, divisor, multiplier = x["same"]
    per_year = f" / {divisor}" if divisor != 1 else ""
    return {
        "from": x["from"].isoformat(),
        "to": x["to"].isoformat(),
        "arithmetic": f"{x['days']} days x {base} x {rate}{per_year} x {multiplier} "
        f"= {shown(x['amount'])}",
        "amount": str(readable(x["amount"])),
    }


def build(app: LedgerApp, reference: str, caps: RateCaps) -> dict[str, Any]:
    """Everything the dispute report says about a loan, as data (rendered by
    :mod:`ledger.read.report_render`)."""
    loan = app.get_loan(reference)
    events: list[Any] = list(app.events.get(loan.id))
    t = loan.terms
    r = t.rounding
    state = views.loan_state(loan)
    from projections import Projections
    from projections.schedule import shown as schedule_shown

    projections = Projections(app)
    projections.catch_up(["schedule"])
    schedule = [schedule_shown(row) for row in projections.schedule.read(loan.id)]
    charged_rows, charged_total = audit.charged(events)
    charges = _charges(loan, events, charged_rows.get(0))
    fees = _fees(events)
    payments = _payments(events)
    corrections = _corrections(events)
    verified = audit.verify_events(loan.id, loan.label, events)
    flows = cash_flows(loan, events)
    cost = _cost(loan, flows, caps)
    return {
        "title": f"Dispute report: loan {loan.label}",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "loan_id": loan.label,
        "uuid": str(loan.id),
        "terms": {
            "product": t.product,
            "principal": fmt(t.principal),
            "term": t.term,
            "disbursed_on": t.disbursed_on.isoformat(),
            "first_due_date": t.due_date(1).isoformat(),
            "rate": f"{t.daily_rate} a day"
            if t.daily_rate is not None
            else f"{t.annual_rate} a year ({t.day_count.value if t.day_count else ''})",
            "method": t.method.value,
            "interest_method": t.interest_method.value,
            "monthly_rate": str(loan.monthly_rate),
            "emi": fmt(loan.emi),
            "prepayment_fee_rate": str(t.prepayment_fee_rate),
            "penalty_multiplier": str(t.penalty_multiplier),
            "compound_multiplier": (
                str(t.compound_multiplier) if t.compound_multiplier is not None else None
            ),
            **bank_terms(t),
            "grace_days": t.grace_days,
            "rounding": r.value,
        },
        "balance": state,
        "day_closed": loan.figures().day_closed,
        "schedule": schedule,
        "charges": charges,
        "fees": fees,
        "totals": {
            "interest": fmt(charged_total["interest"]),
            "penalty": fmt(charged_total["penalty"]),
            "fees": fmt(charged_total["fee"]),
            "waived": fmt(
                loan.penalty_waived
                + loan.interest_waived
                + sum((i.compound_waived for i in loan.installments), ZERO)  # section 11
            ),
            "received": fmt(received(flows)),
        },
        "payments": payments,
        "corrections": corrections,
        "verification": verified.as_dict(),
        "cost": cost,
        "disputes": disputes.cases_of_loan(app, loan.id),
        "approvals": approvals.of_loan(app, str(loan.id)),
    }


def _holiday_text(fell_due: Any) -> str:
    """Section 16: an installment of a payment holiday has no interest arithmetic."""
    if not fell_due.holiday:
        return ""
    return "payment holiday: nothing fell due; the interest accrued carried on (loan-rules §16)"


def _charges(
    loan: Loan, events: list[Any], outside: dict[str, Decimal] | None
) -> list[dict[str, Any]]:
    """Each installment's interest and penalty with its arithmetic; a row ``k = 0`` for
    interest charged outside the installments (prepayments, accrued since the last due
    date), so the rows add up to the charged total."""
    r = loan.terms.rounding
    charges = []
    for inst in loan.installments:
        fell_due = next(
            e for e in events if isinstance(e, Loan.InstallmentFellDue) and e.k == inst.k
        )
        penalty_lines = _group_penalties(events, inst.k, loan.terms.arithmetic)
        charges.append(
            {
                "k": inst.k,
                "due_date": inst.due_date.isoformat(),
                "interest": fmt(inst.interest + round_to(inst.interest_after_due, FEN, r)),
                "interest_arithmetic": _holiday_text(fell_due)
                or f"round_{r.value}({fell_due.interest_accrued}) = "
                f"{fell_due.interest}: the normal interest accrued since the previous due date "
                + ("(loan-rules §10, §5)" if loan.terms.per_transaction else "(loan-rules §4, §5)")
                + (
                    f"; plus round({shown(inst.interest_after_due)}) accrued after the last "
                    "due date"
                    if inst.interest_after_due
                    else ""
                ),
                "penalty": fmt(round_to(inst.penalty_accrued, FEN, r)),
                "penalty_arithmetic": f"round_{r.value}({shown(inst.penalty_accrued)}) (§6); "
                "daily: (overdue principal + interest) x rate / divisor x multiplier (§4)",
                "penalty_lines": penalty_lines,
                "penalty_waived": fmt(inst.penalty_waived),
                "interest_waived": fmt(inst.interest_waived),
            }
        )
    if outside is not None and (outside["interest"] or outside["fee"]):
        charges.append(
            {
                "k": 0,
                "due_date": "",
                "interest": fmt(outside["interest"]),
                "interest_arithmetic": "interest collected with prepayments (§7)"
                + ("" if loan.is_closed else " + round(interest accrued since the last due date)"),
                "penalty": fmt(ZERO),
                "penalty_arithmetic": "",
                "penalty_lines": [],
                "penalty_waived": fmt(ZERO),
                "interest_waived": fmt(ZERO),
            }
        )
    return charges


def bank_terms(t: Terms) -> dict[str, Any]:
    """Section 13's terms, on a ``bank_installment`` loan only (other loans' terms as ever)."""
    if t.fee_rate_per_period is None:
        return {}
    rule = t.remaining_fees.value if t.remaining_fees else None
    return {"fee_rate_per_period": str(t.fee_rate_per_period), "remaining_fees": rule}


def _gateway_flow(e: Any, events: list[Any]) -> CashFlow:
    """Section 17: a settled request's money on the day it was taken; a bounce gives back
    what the request's settlement brought, on that day."""
    if e.kind == "settlement":
        return CashFlow(e.result["taken_on"], e.result["collected"], "deduction")
    settled: dict[str, Any] = next(
        x.result or {}
        for x in events
        if isinstance(x, Loan.Corrected)
        and x.kind == "settlement"
        and (x.result or {}).get("request_id") == e.result["request_id"]
    )
    return CashFlow(settled["taken_on"], -settled["collected"], "reversed payment")


def _fees(events: list[Any]) -> list[dict[str, Any]]:
    """The prepayment fees (section 7), and on a ``bank_installment`` loan each installment's
    handling fee and the fees of the installments not yet due at a payoff (section 13)."""
    fees = []
    for e in events:
        if isinstance(e, Loan.Prepaid):
            what = f"{e.fee_rate} x prepaid principal {e.principal} = {e.fee} (§7)"
            fees.append({"on": e.on.isoformat(), "fee": fmt(e.fee), "arithmetic": what})
        elif isinstance(e, Loan.HandlingFeeFellDue):
            what = f"handling fee of #{e.k}: round({e.principal} x {e.fee_rate}) = {e.fee} (§13)"
            fees.append({"on": e.on.isoformat(), "fee": fmt(e.fee), "arithmetic": what})
        elif isinstance(e, Loan.RemainingFeesAssessed):
            ks = ", ".join(f"#{k}" for k in e.installments) or "none"
            what = f"fees of installments not yet due ({ks}), {e.fee} each: {e.rule} (§13)"
            fees.append({"on": e.on.isoformat(), "fee": fmt(e.charged), "arithmetic": what})
    return fees


def _payments(events: list[Any]) -> list[dict[str, Any]]:
    payments: list[dict[str, Any]] = []
    for e in events:
        if isinstance(e, (Loan.InstallmentDeducted, Loan.Repaid, Loan.Prepaid)):
            if isinstance(e, Loan.InstallmentDeducted):
                how, money = "deduction", e.collected
            elif isinstance(e, Loan.Repaid):
                how, money = "repayment", e.amount
            else:
                how, money = f"{e.kind} prepayment", e.total
            payments.append(
                {
                    "version": e.originator_version,
                    "on": e.on.isoformat(),
                    "how": how,
                    "amount": fmt(money),
                    "allocated": "; ".join(
                        f"#{a['k']}: penalty {fmt(a['penalty'])}, interest {fmt(a['interest'])}, "
                        f"principal {fmt(a['principal'])}"
                        for a in e.allocations
                    ),
                }
            )
        elif isinstance(e, Loan.DeductionRequested):  # section 17: the result comes later
            payments.append(
                {
                    "version": e.originator_version,
                    "on": e.on.isoformat(),
                    "how": "deduction requested",
                    "amount": "0.00",
                    "allocated": f"asked {fmt(e.requested)} (request {e.request_id})",
                }
            )
        elif isinstance(e, Loan.DeductionFailed):
            payments.append(
                {
                    "version": e.originator_version,
                    "on": e.on.isoformat(),
                    "how": "deduction failed",
                    "amount": "0.00",
                    "allocated": f"asked {fmt(e.requested)}, collected nothing",
                }
            )
    return payments


def _remedy_text(e: Any) -> str:
    """A correction, waiver or refund in words (who and why are beside it)."""
    if isinstance(e, Loan.Corrected):
        return (
            f"{e.kind.replace('_', ' ')} effective {e.effective_on}"
            + (f", amount {fmt(e.amount)}" if e.amount is not None else "")
            + (f", reverses event {e.reverses}" if e.reverses else "")
            + (f", refund due {fmt(e.refund_due)}" if e.refund_due and not e.credit_rules else "")
        )
    if isinstance(e, Loan.PaidChargeWaived):
        return f"waived {fmt(e.amount)} of {e.part} already paid: credit {fmt(e.credit_after)}"
    if isinstance(e, Loan.Refunded):
        return f"refunded {fmt(e.amount)} to the borrower: credit {fmt(e.credit_after)}"
    return f"waived {fmt(e.amount)} of {e.part}"


def _corrections(events: list[Any]) -> list[dict[str, Any]]:
    """Corrections, waivers and refunds (loan-rules sections 8 and 12), oldest first."""
    kinds = (Loan.Corrected, Loan.Waived, Loan.PaidChargeWaived, Loan.Refunded)
    return [
        {
            "version": e.originator_version,
            "recorded_at": e.timestamp.isoformat(timespec="seconds"),
            "what": _remedy_text(e),
            "actor": e.actor,
            "reason": e.reason,
        }
        for e in events
        if isinstance(e, kinds)
    ]


def _cost(loan: Loan, flows: list[CashFlow], caps: RateCaps) -> dict[str, Any]:
    """The annualised cost from the actual cash flows (IRR on dates) against the caps."""
    annual = annual_irr(flows)
    daily = daily_rate(annual) if annual is not None else None
    cap_rows = [
        {
            "cap": name,
            "annual": _pct(limit),
            "within": None if annual is None else annual <= limit,
            "verdict": "n/a" if annual is None else "within" if annual <= limit else "ABOVE",
        }
        for name, limit in caps.named()
    ]
    return {
        "cash_flows": [
            {"on": f.on.isoformat(), "amount": fmt(f.amount), "what": f.what} for f in flows
        ],
        "annual_irr": _pct(annual),
        "daily_irr": _pct(daily),
        "to_date": not loan.is_closed,
        "caps": cap_rows,
        "method": "effective annual rate r with sum(cf / (1+r)^(days/365)) = 0 "
        "(IRR on dates); daily = (1+r)^(1/365) - 1",
    }
