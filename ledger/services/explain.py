"""``ledger loan explain``: every figure of a loan's balance broken into the events that built
it, each line with its version, business date, recorded time, arithmetic and rule section.
The lines are added up apart from the state and compared with the figure (which comes from
:meth:`LoanState.figures`) to the fen: the explanation is an independent check.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledger.domain import rules
from ledger.domain.loan import Loan
from ledger.domain.money import FEN, ZERO, Exact, fmt, fraction_text, readable, round_to, shown
from ledger.services import audit
from ledger.services.application import LedgerApp

RECOMPUTED = "recomputed"
Lines = list[dict[str, Any]]


def explain(
    app: LedgerApp, reference: str, *, as_of: date | None = None, known_at: datetime | None = None
) -> dict[str, Any]:
    """Every figure of the balance, broken into its lines; ``adds_up`` when all do."""
    loan, events, recomputed = audit.history_at(app, reference, as_of=as_of, known_at=known_at)
    if recomputed:  # lines from the corrected history carry no recorded version or time
        for e in events:
            object.__setattr__(e, RECOMPUTED, True)
    parts = Explanation(loan)
    for e in events:
        parts.add(e)
    f = loan.figures(as_of)
    figures = {
        "principal_outstanding": parts.principal(),
        "interest_accrued": parts.interest(),
        **parts.installment_figures(f.penalty_accrued, f.overdue_amount, f.compound_accrued),
        **parts.handling_fees(f.handling_fees_owed),
        "fees_paid": parts.fees(events),
        "credit": parts.credit(),
    }
    return {
        "loan_id": loan.label,
        "as_of": f.as_of.isoformat(),
        "known_at": known_at.isoformat() if known_at else None,
        "recomputed_from_corrected_facts": recomputed,
        "version": loan.version,
        "status": f.status,
        "figures": figures,
        "unsettled_installments": parts.unsettled(),
        "adds_up": all(x["adds_up"] for x in figures.values()),
    }


def _line(event: Any, amount: Decimal | Exact, what: str, rule: str) -> dict[str, Any]:
    """One line; an exact accrual with no finite decimal also carries ``exact`` ("1/120"),
    the value the sums add (section 4)."""
    recomputed = getattr(event, RECOMPUTED, False)
    line = {
        "version": None if recomputed else event.originator_version,
        "date": event.on.isoformat(),
        "recorded_at": None if recomputed else event.timestamp.isoformat(),
        "event": type(event).__name__ + (" (recomputed)" if recomputed else ""),
        "amount": str(readable(amount)),
        "arithmetic": what,
        "rule": rule,
    }
    if isinstance(amount, Exact) and Exact(readable(amount)) != amount:
        line["exact"] = fraction_text(amount)
    return line


def _value(line: dict[str, Any]) -> Exact:
    return Exact(line["exact"]) if "exact" in line else Exact(Decimal(line["amount"]))


def _sum(lines: Lines) -> Exact:
    """The lines added up exactly."""
    return sum((_value(x) for x in lines), Exact(0))


class Explanation:
    """The lines of one loan's figures, gathered event by event (by the event's class)."""

    def __init__(self, loan: Loan) -> None:
        self.loan = loan
        self.mode = loan.terms.rounding
        self.principal_lines: Lines = []
        self.interest_lines: Lines = []  # since the last due date
        self.per_k: dict[int, dict[str, Lines]] = {}
        self.credit_lines: Lines = []  # owed to the borrower (section 12)

    def k_lines(self, k: int) -> dict[str, Lines]:
        """Installment ``k``'s lines by part (``compound`` only on a loan that splits
        penalty, section 11; ``fee`` only on a loan that charges a handling fee, section 13)."""
        if k not in self.per_k:
            parts = ["interest", "penalty", "principal"]
            if self.loan.terms.splits_penalty:
                parts.insert(2, "compound")
            if self.loan.terms.charges_handling_fee:
                parts.insert(0, "fee")
            self.per_k[k] = {part: [] for part in parts}
        return self.per_k[k]

    def add(self, e: Any) -> None:
        if isinstance(e, Loan.Disbursed):
            self.principal_lines.append(_line(e, e.terms["principal"], "principal disbursed", "§1"))
        elif isinstance(e, Loan.InstallmentFellDue):
            self._fell_due(e)
        elif isinstance(e, Loan.HandlingFeeFellDue):
            what = f"round_{self.mode.value}({e.principal} x {e.fee_rate}) = {e.fee} fee of #{e.k}"
            self.k_lines(e.k)["fee"].append(_line(e, e.fee, what, "§13"))
        elif isinstance(e, Loan.InterestAccrued):
            self._accrued(e)
        elif isinstance(e, Loan.Waived):
            for a in e.allocations:
                k = int(a["k"])
                what = f"{e.part} of #{k} waived: {e.reason}"
                self.k_lines(k)[e.part].append(_line(e, -a["amount"], what, "waiver"))
        elif isinstance(e, (Loan.InstallmentDeducted, Loan.Repaid, Loan.Prepaid)):
            self._paid(e)
        elif isinstance(e, Loan.WrittenOff):
            self._written_off(e)
        else:
            self._credit(e)

    def _written_off(self, e: Any) -> None:
        """Section 14: everything owed left the book: each installment's parts as the event
        records them, the principal not yet due, and the accrued interest (as a payoff)."""
        what = f"written off: {e.reason}"
        for owed in e.owed:
            k = int(owed["k"])
            for part in ("penalty", "compound", "fee", "interest", "principal"):
                if owed.get(part):
                    self.k_lines(k)[part].append(_line(e, -owed[part], what, "§14"))
        self.principal_lines.append(_line(e, -e.principal, what, "§14"))
        self.interest_lines = []  # taken as a payoff rounds it (e.interest_accrued)

    def _credit(self, e: Any) -> None:
        """Section 12: what moved the credit owed to the borrower."""
        if isinstance(e, Loan.PaidChargeWaived):
            what = (
                f"{e.part} paid {e.paid}, given back before {e.credited_before}: {e.amount} "
                f"waived into credit: {e.reason}"
            )
            self.credit_lines.append(_line(e, e.amount, what, "§12"))
        elif isinstance(e, Loan.OverpaymentHeld):
            what = f"{e.source} of {e.received}, {e.used} needed: {e.received} - {e.used} held"
            self.credit_lines.append(_line(e, e.amount, what, "§12"))
        elif isinstance(e, Loan.CreditApplied):
            self._paid(e)
            what = f"min(eligible {e.eligible}, due {e.amount_due}) = {e.applied} used"
            self.credit_lines.append(_line(e, -e.applied, what, "§12"))
        elif isinstance(e, Loan.Refunded):
            what = f"refunded through the payment gateway: {e.reason}"
            self.credit_lines.append(_line(e, -e.amount, what, "§12"))

    def _fell_due(self, e: Loan.InstallmentFellDue) -> None:
        if e.holiday:  # section 16: nothing fell due; the interest accrued carries on
            return
        self.interest_lines = []  # section 5: the accrued interest became installment k's
        what = f"round_{self.mode.value}({e.interest_accrued}) = {e.interest} interest of #{e.k}"
        self.k_lines(e.k)["interest"].append(_line(e, e.interest, what, "§5"))
        what = f"principal part of #{e.k} ({e.method})"
        if e.planned_interest is not None:  # section 16: the first after a payment holiday
            what += f", as if its interest were {e.planned_interest} (after a payment holiday)"
        self.k_lines(e.k)["principal"].append(_line(e, e.principal, what, "§5"))

    def _accrued(self, e: Loan.InterestAccrued) -> None:
        normal, penalties = e.accrued(self.loan.terms.arithmetic)
        arithmetic = e.arithmetic_text()
        if e.into == "period":
            rule = "§10" if self.loan.terms.per_transaction else "§4"
            self.interest_lines.append(_line(e, normal, arithmetic, rule))
        else:
            what = arithmetic + " (after the last due date)"
            self.k_lines(self.loan.last_k)["interest"].append(_line(e, normal, what, "§4"))
        for p, amount, (penalty, compound) in zip(
            e.penalties, penalties, e.charges(self.loan.terms.arithmetic), strict=True
        ):
            k, factors = int(p["k"]), e.rate_text(p)
            if compound is None:
                what = f"{p['base']} x {factors} x {e.penalty_multiplier} = {p['amount']} on #{k}"
                self.k_lines(k)["penalty"].append(_line(e, amount, what, "§4"))
                continue
            what = (
                f"principal {p['principal_base']} x {factors} x {e.penalty_multiplier} = "
                f"{p['penalty']} on #{k}"
            )
            self.k_lines(k)["penalty"].append(_line(e, penalty, what, "§11"))
            what = (
                f"interest {p['interest_base']} x {factors} x {p['compound_multiplier']} = "
                f"{p['compound']} on #{k}"
            )
            self.k_lines(k)["compound"].append(_line(e, compound, what, "§11"))

    def _paid(self, e: Any) -> None:
        how = type(e).__name__
        for a in e.allocations:
            k = int(a["k"])
            for part in ("penalty", "compound", "fee", "interest", "principal"):
                if a.get(part):  # "compound", "fee": only on loans of sections 11, 13
                    what = f"{part} of #{k} paid ({how})"
                    self.k_lines(k)[part].append(_line(e, -a[part], what, "§6"))
            if a["principal"]:
                what = f"principal of #{k} paid ({how})"
                self.principal_lines.append(_line(e, -a["principal"], what, "§6"))
        if isinstance(e, Loan.Prepaid):
            self.interest_lines = []
            if e.principal:
                what = f"principal prepaid ({e.kind}); fee {e.fee_rate} x ... = {e.fee}"
                self.principal_lines.append(_line(e, -e.principal, what, "§7"))

    # ------------------------------------------------------------------ figures

    def principal(self) -> dict[str, Any]:
        total = _sum(self.principal_lines)
        return {
            "figure": fmt(self.loan.principal_outstanding),
            "sum_of_parts": fmt(readable(total)),
            "adds_up": total == Exact(self.loan.principal_outstanding),
            "lines": self.principal_lines,
        }

    def interest(self) -> dict[str, Any]:
        accrued = _sum(self.interest_lines)
        rounded = round_to(accrued, FEN, self.mode)
        return {
            "figure": fmt(self.loan.interest_accrued_rounded),
            "sum_of_parts": str(readable(accrued)),
            "sum_of_parts_exact": fraction_text(accrued),
            "rounded": f"round_{self.mode.value}({shown(accrued)}) = {fmt(rounded)} (§7: rounded "
            "once, as a payoff)",
            "adds_up": rounded == self.loan.interest_accrued_rounded,
            "lines": self.interest_lines,
        }

    def _owed(self, k: int) -> tuple[Exact, Decimal, Decimal, Decimal, Decimal]:
        """Installment ``k`` from its lines: penalty accrued, paid, owed (section 6);
        interest owed (after-due accruals rounded); principal owed."""
        lines = self.k_lines(k)
        accrued, paid, owed = self._charge(k, "penalty")
        interest = round_to(_sum(lines["interest"]), FEN, self.mode)
        return accrued, paid, owed, interest, readable(_sum(lines["principal"]))

    def _charge(self, k: int, part: str) -> tuple[Exact, Decimal, Decimal]:
        """Penalty (section 6) or compound interest (section 11) of installment ``k`` from
        its lines: accrued, paid or waived, owed = round(accrued) - paid - waived."""
        amounts = [_value(x) for x in self.k_lines(k)[part]]
        accrued = sum((a for a in amounts if a > 0), Exact(0))
        paid = readable(-sum((a for a in amounts if a < 0), Exact(0)))
        return accrued, paid, rules.unpaid_penalty(accrued, paid, self.mode)

    def unsettled(self) -> list[dict[str, Any]]:
        rows = []
        for inst in self.loan.installments:
            if inst.settled_on is not None:
                continue
            accrued, paid, owed, interest, principal = self._owed(inst.k)
            rows.append(
                {
                    "k": inst.k,
                    "due_date": inst.due_date.isoformat(),
                    "overdue_from": inst.overdue_from.isoformat() if inst.overdue_from else None,
                    "penalty": f"round_{self.mode.value}({shown(accrued)}) - paid {fmt(paid)} = "
                    f"{fmt(owed)} (§6)",
                    **self._compound_owed(inst.k),
                    **self._fee_owed(inst.k),
                    "interest_owed": fmt(interest),
                    "principal_owed": fmt(principal),
                    "lines": self.k_lines(inst.k),
                }
            )
        return rows

    def _compound_owed(self, k: int) -> dict[str, str]:
        """Section 11: installment ``k``'s compound interest, on a loan that splits it."""
        if not self.loan.terms.splits_penalty:
            return {}
        accrued, paid, owed = self._charge(k, "compound")
        text = f"round_{self.mode.value}({shown(accrued)}) - paid {fmt(paid)} = {fmt(owed)} (§11)"
        return {"compound": text}

    def _fee_owed(self, k: int) -> dict[str, str]:
        """Section 13: installment ``k``'s handling fee owed, on a loan that charges one."""
        if not self.loan.terms.charges_handling_fee:
            return {}
        return {"fee_owed": fmt(readable(_sum(self.k_lines(k)["fee"])))}

    def installment_figures(
        self, penalty: Decimal, overdue: Decimal, compound: Decimal | None
    ) -> dict[str, Any]:
        """The penalty owed (section 11: and the compound interest owed, on a loan that splits
        them) and the overdue amount, each added up over the unsettled installments' lines and
        compared with the state's figure."""
        unsettled = [i for i in self.loan.installments if i.settled_on is None]
        overdue_ks = [i.k for i in unsettled if i.overdue_from is not None]
        overdue_total = sum((self._owed(k)[3] + self._owed(k)[4] for k in overdue_ks), ZERO)
        charges = {"penalty_accrued": self._charge_figure(unsettled, "penalty", penalty)}
        if compound is not None:
            charges["compound_accrued"] = self._charge_figure(unsettled, "compound", compound)
        return {
            **charges,
            "overdue_amount": {
                "figure": fmt(overdue),
                "sum_of_parts": fmt(overdue_total),
                "adds_up": overdue_total == overdue,
                "lines": [
                    x
                    for k in overdue_ks
                    for part in ("interest", "principal")
                    for x in self.k_lines(k)[part]
                ],
            },
        }

    def handling_fees(self, figure: Decimal | None) -> dict[str, Any]:
        """Section 13: the handling fees owed, ``fee - paid`` of each unsettled installment
        from its lines, on a loan that charges them (none otherwise)."""
        if figure is None:
            return {}
        unsettled = [i.k for i in self.loan.installments if i.settled_on is None]
        lines = [x for k in unsettled for x in self.k_lines(k)["fee"]]
        total = readable(_sum(lines))
        return {
            "handling_fees_owed": {
                "figure": fmt(figure),
                "sum_of_parts": fmt(total),
                "adds_up": total == figure,
                "lines": lines,
            }
        }

    def _charge_figure(self, unsettled: list[Any], part: str, figure: Decimal) -> dict[str, Any]:
        """Penalty or compound interest owed, added up per installment from its lines."""
        total = sum((self._charge(i.k, part)[2] for i in unsettled), ZERO)
        rounded = (
            "per installment: round(sum of its daily penalties) - paid (§6)"
            if part == "penalty"
            else "per installment: round(sum of its daily compound interest) - paid (§11)"
        )
        return {
            "figure": fmt(figure),
            "sum_of_parts": fmt(total),
            "rounded": rounded,
            "adds_up": total == figure,
            "lines": [x for i in unsettled for x in self.k_lines(i.k)[part]],
        }

    def credit(self) -> dict[str, Any]:
        total = _sum(self.credit_lines)
        return {
            "figure": fmt(self.loan.credit),
            "sum_of_parts": fmt(readable(total)),
            "adds_up": total == Exact(self.loan.credit),
            "lines": self.credit_lines,
        }

    def fees(self, events: list[Any]) -> dict[str, Any]:
        fees = [x for x in events if isinstance(x, Loan.Prepaid) and x.fee]
        total = sum((x.fee for x in fees), ZERO)
        return {
            "figure": fmt(self.loan.fees_paid),
            "sum_of_parts": fmt(total),
            "adds_up": total == self.loan.fees_paid,
            "lines": [
                _line(
                    x,
                    x.fee,
                    f"prepayment fee {x.fee_rate} of the prepaid principal {x.principal} = {x.fee}",
                    "§7",
                )
                for x in fees
            ],
        }
