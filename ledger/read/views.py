"""What the CLI (and later the API) shows: JSON-ready dicts built from aggregates and events.

Amounts are strings with exactly two decimals; dates are ISO (docs/cli.md). Event data
is shown as recorded: unrounded accruals keep all their digits, so an auditor can redo them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.domain import rules
from ledger.domain.chain import plain
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO, fmt
from ledger.domain.prepayment import PrepaymentQuote
from ledger.domain.write_off import PARTS as WRITE_OFF_PARTS
from ledger.services.application import CloseReport

EVENT_BASE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def loan_state(loan: Loan, as_of: date | None = None) -> dict[str, Any]:
    """``ledger loan show``: the loan's figures (:meth:`LoanState.figures`) as printed."""
    f = loan.figures(as_of)
    shown = {
        "loan_id": loan.label,
        "uuid": str(loan.id),
        "product": loan.terms.product,
        "status": f.status,
        "as_of": f.as_of.isoformat(),
        "day_closed": f.day_closed,
        "principal_outstanding": fmt(f.principal_outstanding),
        "interest_accrued": fmt(f.interest_accrued),
        "penalty_accrued": fmt(f.penalty_accrued),
        "overdue_amount": fmt(f.overdue_amount),
        "days_past_due": f.days_past_due,
        "amount_due": fmt(f.amount_due),
        "principal_repaid": fmt(f.principal_repaid),
        "interest_paid": fmt(f.interest_paid),
        "penalty_paid": fmt(f.penalty_paid),
        "fees_paid": fmt(f.fees_paid),
        "credit": fmt(f.credit),  # owed to the borrower (loan-rules section 12)
        "next_due_date": f.next_due_date.isoformat() if f.next_due_date else None,
        "closed_on": f.closed_on.isoformat() if f.closed_on else None,
    }
    if f.written_off is not None and f.written_off_outstanding is not None:  # section 14
        shown["written_off"] = fmt(f.written_off)
        shown["written_off_outstanding"] = fmt(f.written_off_outstanding)
    if f.non_accrual_since is not None:  # section 15: the contract's figures are unchanged
        shown["non_accrual"] = True
        shown["non_accrual_since"] = f.non_accrual_since.isoformat()
    return with_handling_fees(with_compound(shown, f.compound_accrued), f.handling_fees_owed)


def with_handling_fees(shown: dict[str, Any], owed: Decimal | None) -> dict[str, Any]:
    """Section 13: a ``bank_installment`` loan shows ``handling_fees_owed`` (the handling fees
    of installments due and unpaid, in its amount due) after ``interest_accrued``; any other
    loan shows what it always did."""
    return _shown_after(shown, "interest_accrued", "handling_fees_owed", owed)


def with_compound(shown: dict[str, Any], compound: Decimal | None) -> dict[str, Any]:
    """Section 11: a loan naming ``compound_multiplier`` shows ``compound_accrued`` (owed,
    rounded per installment) next to ``penalty_accrued``; any other loan shows what it always
    did."""
    return _shown_after(shown, "penalty_accrued", "compound_accrued", compound)


def _shown_after(
    shown: dict[str, Any], after: str, name: str, amount: Decimal | None
) -> dict[str, Any]:
    """``shown`` with ``name: amount`` right after ``after`` (unchanged when ``None``)."""
    if amount is None:
        return shown
    result: dict[str, Any] = {}
    for key, value in shown.items():
        result[key] = value
        if key == after:
            result[name] = fmt(amount)
    return result


def events(loan_events: Iterable[Any]) -> list[dict[str, Any]]:
    """``ledger loan events``: every event in order, with its data as recorded."""
    return [event(e) for e in loan_events]


def event(e: Any) -> dict[str, Any]:
    """One event as ``ledger loan events`` shows it (and ``ledger export events``)."""
    return {
        "version": e.originator_version,
        "type": type(e).__name__,
        "effective_date": e.on.isoformat(),
        "recorded_at": e.timestamp.isoformat(),
        "data": {k: plain(v) for k, v in vars(e).items() if k not in EVENT_BASE_FIELDS},
    }


def allocations(items: Sequence[rules.Allocation]) -> list[dict[str, Any]]:
    return [
        {
            "k": a.k,
            "penalty": fmt(a.penalty),
            **({} if a.compound is None else {"compound": fmt(a.compound)}),  # section 11
            **({} if a.fee is None else {"fee": fmt(a.fee)}),  # section 13
            "interest": fmt(a.interest),
            "principal": fmt(a.principal),
            "total": fmt(a.total),
        }
        for a in items
    ]


def repayment(
    loan: Loan, on: date, amount: Decimal, items: Sequence[rules.Allocation]
) -> dict[str, Any]:
    return {
        "loan_id": loan.label,
        "on": on.isoformat(),
        "amount": fmt(amount),
        "allocations": allocations(items),
        "penalty": fmt(sum((a.penalty for a in items), ZERO)),
        "interest": fmt(sum((a.interest for a in items), ZERO)),
        "principal": fmt(sum((a.principal for a in items), ZERO)),
        "status": loan.loan_status,
        "amount_due": fmt(loan.amount_due),
    }


def prepayment(loan: Loan, quote: PrepaymentQuote, *, executed: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "loan_id": loan.label,
        "on": quote.on.isoformat(),
        "kind": quote.kind,
        "executed": executed,
        "principal": fmt(quote.principal),
        "interest": fmt(quote.interest),
        "overdue": fmt(quote.overdue),
        "penalty": fmt(quote.penalty),
        "fee": fmt(quote.fee),
        "total": fmt(quote.total),
        "fee_rate": str(quote.fee_rate),
        "remaining_principal": fmt(quote.remaining_principal),
        "allocations": allocations(quote.allocations),
        "status": loan.loan_status,
    }
    if quote.kind == "partial":
        result["replan"] = quote.replan
        result["emi"] = fmt(quote.emi) if quote.emi is not None else None
        result["principal_step"] = (
            fmt(quote.principal_step) if quote.principal_step is not None else None
        )
        result["last_installment"] = quote.last_k if quote.last_k is not None else loan.last_k
    return with_remaining_fees(result, quote)


def with_remaining_fees(result: dict[str, Any], quote: PrepaymentQuote) -> dict[str, Any]:
    """Section 13, a ``bank_installment`` loan: after the prepayment ``fee``, the handling fees
    due and unpaid (paid through the allocations), then the installments not yet due, their
    fee each, the rule and what it charges (0.00 under ``waive``)."""
    if quote.fees_due is None:
        return result
    shown: dict[str, Any] = {}
    for name, value in result.items():
        shown[name] = value
        if name == "fee":
            shown["handling_fees_due"] = fmt(quote.fees_due)
            if (rest := quote.remaining_fees) is not None:
                shown["remaining_fees_rule"] = rest.rule
                shown["remaining_fee_installments"] = len(rest.installments)
                shown["handling_fee"] = fmt(rest.fee)
                shown["remaining_fees"] = fmt(rest.charged)
    return shown


def close_report(report: CloseReport) -> dict[str, Any]:
    return {
        "through": report.through.isoformat(),
        "last_closed": report.last_closed.isoformat() if report.last_closed else None,
        "days": len(report.days),
        "loans": report.loans,
        "loan_days": report.loan_days,
        "events": report.events,
        "seconds": round(report.seconds, 3),
        "loan_days_per_second": round(report.loan_days_per_second, 1),
        "failures": report.failures,
    }


def correction(loan: Loan, event: Any) -> dict[str, Any]:
    """A ``Corrected`` event as the CLI prints it."""
    return {
        "loan_id": loan.label,
        "version": event.originator_version,
        "kind": event.kind,
        "effective_on": event.effective_on.isoformat(),
        "recorded_for": event.on.isoformat(),
        "amount": fmt(event.amount) if event.amount is not None else None,
        "reverses": event.reverses,
        "supersedes": len(event.supersedes),
        "refund_due": fmt(event.refund_due),
        "actor": event.actor,
        "reason": event.reason,
        "differences": plain(event.differences),
        "waivers_not_reproduced": plain(event.waivers_not_reproduced),
        "status": loan.loan_status,
        "principal_outstanding": fmt(loan.principal_outstanding),
        "amount_due": fmt(loan.amount_due),
        "credit": fmt(loan.credit),
    }


def waiver(loan: Loan, part: str, amount: Decimal) -> dict[str, Any]:
    """A waiver just recorded (loan-rules §6 and §12), from the loan's unsaved events: how
    much of ``amount`` forgave what is owed (``forgiven``, ``Waived``, with its allocations)
    and how much gave back what was paid and became credit (``credited``,
    ``PaidChargeWaived``)."""
    owed = _pending(loan, Loan.Waived)
    paid = _pending(loan, Loan.PaidChargeWaived)
    newest = max((e for e in (owed, paid) if e is not None), key=lambda e: e.originator_version)
    return {
        "loan_id": loan.label,
        "on": newest.on.isoformat(),
        "part": part,
        "amount": fmt(amount),
        "forgiven": fmt(owed.amount if owed is not None else ZERO),
        "credited": fmt(paid.amount if paid is not None else ZERO),
        "allocations": [
            {"k": a["k"], "amount": fmt(a["amount"])} for a in (owed.allocations if owed else [])
        ],
        "actor": newest.actor,
        "reason": newest.reason,
        "version": newest.originator_version,
        "status": loan.loan_status,
        "amount_due": fmt(loan.amount_due),
        "credit": fmt(loan.credit),
    }


def refund(loan: Loan) -> dict[str, Any]:
    """A refund just recorded (loan-rules §12): the ``Refunded`` event and the loan after it.
    The money went to the borrower's linked account through the payment gateway."""
    event = newest_pending(loan, Loan.Refunded)
    return {
        "loan_id": loan.label,
        "on": event.on.isoformat(),
        "amount": fmt(event.amount),
        "credit_before": fmt(event.credit_before),
        "credit_after": fmt(event.credit_after),
        "actor": event.actor,
        "reason": event.reason,
        "version": event.originator_version,
        "status": loan.loan_status,
    }


def write_off(loan: Loan) -> dict[str, Any]:
    """A write-off just recorded (loan-rules §14): the ``WrittenOff`` event, by part."""
    event = newest_pending(loan, Loan.WrittenOff)
    return {
        "loan_id": loan.label,
        "on": event.on.isoformat(),
        **{part: fmt(getattr(event, part)) for part in WRITE_OFF_PARTS},
        "total": fmt(event.total),
        "actor": event.actor,
        "reason": event.reason,
        "version": event.originator_version,
        "status": loan.loan_status,
    }


def restructuring(loan: Loan) -> dict[str, Any]:
    """A restructuring just recorded (loan-rules §16): the ``Restructured`` event, each input
    of the plan before and after."""
    e = newest_pending(loan, Loan.Restructured)
    return {
        "loan_id": loan.label,
        "on": e.on.isoformat(),
        "kind": e.kind,
        "fixed": e.fixed,
        "principal_not_due": fmt(e.principal_not_due),
        "rate_name": e.rate_name,
        "rate_before": str(e.rate_before),
        "rate": str(e.rate),
        "monthly_rate_before": str(e.monthly_rate_before),
        "monthly_rate": str(e.monthly_rate),
        "last_k_before": e.last_k_before,
        "last_k": e.last_k,
        "emi_before": fmt(e.emi_before),
        "emi": fmt(e.emi),
        "principal_step_before": fmt(e.principal_step_before),
        "principal_step": fmt(e.principal_step),
        "holiday": e.holiday,  # section 16: a payment holiday's installments (null: none)
        "actor": e.actor,
        "reason": e.reason,
        "version": e.originator_version,
        "status": loan.loan_status,
    }


def recovery(loan: Loan) -> dict[str, Any]:
    """A recovery just recorded (loan-rules §14): the ``Recovered`` event."""
    event = newest_pending(loan, Loan.Recovered)
    return {
        "loan_id": loan.label,
        "on": event.on.isoformat(),
        "amount": fmt(event.amount),
        "written_off": fmt(loan.written_off),
        "outstanding_before": fmt(event.outstanding_before),
        "outstanding_after": fmt(event.outstanding_after),
        "actor": event.actor,
        "reason": event.reason,
        "version": event.originator_version,
        "status": loan.loan_status,
    }


def _pending(loan: Loan, kind: type[Any]) -> Any:
    """The newest not-yet-saved event of class ``kind`` on ``loan``, or ``None``."""
    return next((e for e in reversed(loan.pending_events) if isinstance(e, kind)), None)


def newest_pending(loan: Loan, kind: type[Any]) -> Any:
    """The newest not-yet-saved event of class ``kind`` on ``loan``: what the command being
    run just recorded (read before the unit of work saves it)."""
    event = _pending(loan, kind)
    if event is None:
        raise LookupError(f"the command recorded no {kind.__name__}")
    return event


def describe(e: Any) -> str:
    """What an event did and how, in one line with its amounts and arithmetic, by the
    event's class (the audit page's timeline, the demo's story)."""
    if isinstance(e, Loan.InterestAccrued):
        text = e.arithmetic_text()
        for p in e.penalties:
            rate = e.rate_text(p)
            if "compound" in p:  # section 11: penalty on principal, compound on interest
                text += (
                    f"; penalty #{p['k']}: {p['principal_base']} x {rate} x "
                    f"{e.penalty_multiplier} = {p['penalty']}; compound #{p['k']}: "
                    f"{p['interest_base']} x {rate} x {p['compound_multiplier']} = {p['compound']}"
                )
            else:
                text += f"; penalty #{p['k']}: {p['base']} x {rate} x {e.penalty_multiplier}"
                text += f" = {p['amount']}"
        return text
    if isinstance(e, Loan.InstallmentFellDue) and e.holiday:  # section 16
        return f"#{e.k}: payment holiday, nothing falls due; {e.interest_accrued} accrued goes on"
    if isinstance(e, Loan.InstallmentFellDue):
        interest = f"interest round({e.interest_accrued}) = {e.interest}"
        return f"#{e.k}: {interest}, principal {e.principal}"
    if isinstance(e, (Loan.InstallmentDeducted, Loan.Repaid, Loan.Prepaid)):
        money = (
            e.collected
            if isinstance(e, Loan.InstallmentDeducted)
            else e.amount
            if isinstance(e, Loan.Repaid)
            else e.total
        )
        parts = "; ".join(
            f"#{a['k']}: penalty {fmt(a['penalty'])}, interest {fmt(a['interest'])}, "
            f"principal {fmt(a['principal'])}"
            for a in e.allocations
        )
        if isinstance(e, Loan.Prepaid):
            parts = "; ".join(
                p
                for p in (
                    parts,
                    f"interest {fmt(e.interest)}, principal {fmt(e.principal)}, fee {fmt(e.fee)}",
                )
                if p
            )
        return f"{fmt(money)}: {parts}" if parts else fmt(money)
    if isinstance(e, Loan.DeductionFailed):
        return f"asked {fmt(e.requested)}, collected nothing"
    if isinstance(e, Loan.DeductionRequested):  # section 17
        return f"asked the bank for {fmt(e.requested)} (request {e.request_id})"
    if isinstance(e, Loan.Restructured):  # section 16
        return e.changes()
    if isinstance(e, Loan.Overdue):
        return f"#{e.k} overdue from {e.overdue_from}"
    if isinstance(e, Loan.Disbursed):
        return f"principal {e.terms['principal']}, {e.terms['term']} months, EMI {fmt(e.emi)}"
    if isinstance(e, Loan.Waived):
        return f"{fmt(e.amount)} of {e.part} waived: {e.reason} ({e.actor})"
    if isinstance(e, Loan.Corrected):
        amount = f" {fmt(e.amount)}" if e.amount is not None else ""
        return (
            f"{e.kind.replace('_', ' ')}{amount} effective {e.effective_on}: {e.reason} ({e.actor})"
        )
    if isinstance(e, Loan.Closed):
        return str(e.reason)
    return ""
