"""A loan event in one line: its effective date, what happened, its amounts and a note.

Read from the event's own fields by its class (amounts as recorded: money in fen, accruals
unrounded), so a money event always shows what it moved. :func:`periods` groups the routine
days (the end-of-day accruals and the failed morning deductions) by installment period with
their totals, the money events of the period listed beside them. The audit page's timeline
uses both; the CLI's ``ledger loan events`` table can too. Pure: imports the domain only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ledger.domain.loan import Loan
from ledger.domain.money import FEN, ZERO, Rounding, accumulate, fmt, round_to
from ledger.domain.terms import Arithmetic, Method, Terms

PARTS = ("principal", "interest", "penalty", "fee")
ROUTINE: tuple[type[Any], ...] = (Loan.InterestAccrued, Loan.DeductionFailed)

METHOD_LABELS = {
    Method.EQUAL_INSTALLMENT: "equal installment (EMI)",
    Method.EQUAL_PRINCIPAL: "equal principal",
    Method.INTEREST_FIRST: "interest first, principal at the end (bullet)",
    Method.FLAT: "flat (interest on the original principal)",
}


def method_label(method: Method | str) -> str:
    """What a repayment method means, in words: "EMI" only for ``equal_installment``."""
    try:
        return METHOD_LABELS[Method(method)]
    except ValueError:
        return str(method).replace("_", " ")


def percent(rate: Decimal) -> str:
    """A rate as a percentage: ``0.0005`` -> ``0.05``, ``0.015`` -> ``1.50``, ``0.18`` -> ``18``."""
    value = (rate * 100).normalize()
    if value == value.to_integral_value():
        return f"{value.quantize(Decimal(1)):f}"
    exponent = value.as_tuple().exponent
    fine = isinstance(exponent, int) and exponent < -2
    return f"{value:f}" if fine else f"{value.quantize(FEN):f}"


def rate_text(terms: Terms, monthly_rate: Decimal | None = None) -> str:
    """The loan's rate with its unit: ``0.05 % a day`` or ``18 % a year (ACT/365)``, and the
    monthly rate the plan uses when given (``1.50 % a month``)."""
    if terms.daily_rate is not None:
        text = f"{percent(terms.daily_rate)} % a day"
    elif terms.annual_rate is not None:
        basis = f" ({terms.day_count.value})" if terms.day_count else ""
        text = f"{percent(terms.annual_rate)} % a year{basis}"
    else:
        text = "none"
    if monthly_rate is not None:
        text += f"; {percent(monthly_rate)} % a month in the plan"
    return text


def amount_text(amount: Decimal) -> str:
    """Money with two decimals; an unrounded accrual with every digit it was recorded with."""
    return fmt(amount) if amount == amount.quantize(FEN) else str(amount)


@dataclass(frozen=True)
class EventSummary:
    """One event: ``amount`` is what it moved or fixed as a whole (None if nothing), ``parts``
    its split into principal / interest / penalty / fee, as the event records them."""

    version: int
    event: str  # the class name, as stored
    what: str  # in words
    on: date  # the business day it was recorded for
    effective_on: date  # the day it takes effect (a correction's effective date)
    amount: Decimal | None
    parts: tuple[tuple[str, Decimal], ...]
    note: str
    routine: bool
    superseded_by: int | None = None  # the correction that recomputed its amounts

    def part(self, name: str) -> Decimal | None:
        return next((value for part, value in self.parts if part == name), None)

    def amounts(self) -> str:
        """Every amount as text, e.g. ``collected 300.00: principal 0.00, interest 300.00``."""
        split = ", ".join(f"{name} {amount_text(value)}" for name, value in self.parts)
        whole = amount_text(self.amount) if self.amount is not None else ""
        return f"{whole}: {split}" if whole and split else whole or split


@dataclass(frozen=True)
class Shape:
    """What a summariser says about one event (the rest comes from the event itself)."""

    what: str
    amount: Decimal | None = None
    parts: tuple[tuple[str, Decimal], ...] = ()
    note: str = ""
    effective_on: date | None = None


def _allocated(allocations: Iterable[dict[str, Any]]) -> dict[str, Decimal]:
    """The money by part; a split loan's compound interest (section 11) in the penalty
    column, as the statements count it."""
    totals = {part: ZERO for part in ("principal", "interest", "penalty")}
    for a in allocations:
        for part, value in a.items():
            column = "penalty" if part == "compound" else part
            if column == "fee":  # section 13: a bank_installment loan's handling fee
                totals.setdefault("fee", ZERO)
            if column in totals and isinstance(value, Decimal):
                totals[column] += value
    return totals


def _split(allocations: Sequence[dict[str, Any]]) -> tuple[tuple[str, Decimal], ...]:
    return tuple(_allocated(allocations).items())


def _to_installments(allocations: Sequence[dict[str, Any]]) -> str:
    """``to #1 (penalty 14.87, principal 406.94); #2 (...)``: the non-zero parts, when
    more than one installment shares the amounts (else just ``to #1``)."""
    if len(allocations) == 1 and "amount" not in allocations[0]:
        return f"to #{allocations[0]['k']}"
    parts = []
    for a in allocations:
        amounts = [f"{p} {fmt(a[p])}" for p in ("penalty", "interest", "principal") if a.get(p)]
        if "amount" in a:
            amounts.append(fmt(a["amount"]))
        parts.append(f"#{a['k']}" + (f" ({', '.join(amounts)})" if amounts else ""))
    return "to " + "; ".join(parts) if parts else ""


def _disbursed(e: Loan.Disbursed) -> Shape:
    terms = Terms.from_event_fields({**e.terms, "disbursed_on": e.on})
    plan = {
        Method.EQUAL_INSTALLMENT: f"EMI {fmt(e.emi)}",
        Method.EQUAL_PRINCIPAL: f"principal {fmt(e.principal_step)} an installment",
        Method.FLAT: f"principal {fmt(e.principal_step)} an installment",
        Method.INTEREST_FIRST: "interest monthly, principal with the last installment",
    }[terms.method]
    note = (
        f"{terms.term} monthly installments, {method_label(terms.method)}: {plan}; "
        f"rate {rate_text(terms, e.monthly_rate)}"
    )
    return Shape("disbursed", terms.principal, (("principal", terms.principal),), note)


def _fell_due(e: Loan.InstallmentFellDue) -> Shape:
    if e.holiday:  # section 16
        note = f"nothing falls due; the interest accrued, {e.interest_accrued}, carries on"
        return Shape(f"installment #{e.k}: payment holiday", None, (), note)
    last = "; the last installment" if e.is_last else ""
    if e.planned_interest is not None:  # section 16: the first after a payment holiday
        last += f"; principal as if the interest were {fmt(e.planned_interest)}"
    return Shape(
        f"installment #{e.k} fell due",
        e.principal + e.interest,
        (("principal", e.principal), ("interest", e.interest)),
        f"interest round({e.interest_accrued}) = {fmt(e.interest)}{last}",
    )


def _deducted(e: Loan.InstallmentDeducted) -> Shape:
    note = f"asked {fmt(e.requested)}; " + _to_installments(e.allocations)
    return Shape("deducted", e.collected, _split(e.allocations), note.rstrip("; "))


def _deduction_failed(e: Loan.DeductionFailed) -> Shape:
    return Shape("deduction failed", None, (), f"asked {fmt(e.requested)}, collected nothing")


def _repaid(e: Loan.Repaid) -> Shape:
    return Shape("repaid", e.amount, _split(e.allocations), _to_installments(e.allocations))


def _accrued(e: Loan.InterestAccrued) -> Shape:
    note = e.arithmetic_text()
    for p in e.penalties:
        factors = f"{p['base']} x {e.rate_text(p)} x {e.penalty_multiplier}"
        note += f"; penalty #{p['k']}: {factors} = {p['amount']}"
    parts = (("interest", e.normal),) + ((("penalty", e.penalty),) if e.penalties else ())
    return Shape("interest accrued", None, parts, note)


def _overdue(e: Loan.Overdue) -> Shape:
    return Shape(
        f"installment #{e.k} overdue",
        e.principal + e.interest,
        (("principal", e.principal), ("interest", e.interest)),
        f"unpaid; penalty accrues from {e.overdue_from}",
    )


def _prepaid(e: Loan.Prepaid) -> Shape:
    paid = _allocated(e.allocations)
    fee = e.total - e.overdue - e.penalty - e.interest - e.principal
    parts = (
        ("principal", e.principal + paid["principal"]),
        ("interest", e.interest + paid["interest"]),
        ("penalty", e.penalty),
        ("fee", e.fee if fee == e.fee else fee),  # section 13: and the handling fees
    )
    notes = [
        f"principal prepaid {fmt(e.principal)}, accrued interest round({e.interest_accrued}) = "
        f"{fmt(e.interest)}, fee {percent(e.fee_rate)} % of {fmt(e.principal)} = {fmt(e.fee)}",
        f"principal left {fmt(e.remaining_principal)}",
    ]
    if e.allocations:
        notes.insert(
            0, f"overdue {fmt(e.overdue + e.penalty)} first, " + _to_installments(e.allocations)
        )
    if e.replan:
        plan = f"new EMI {fmt(e.emi)}" if e.emi is not None else ""
        if e.last_k is not None:
            plan = f"last installment now #{e.last_k}"
        notes.append(f"{e.replan.replace('_', ' ')}" + (f": {plan}" if plan else ""))
    return Shape(f"{e.kind} prepayment", e.total, parts, "; ".join(notes))


def _closed(e: Loan.Closed) -> Shape:
    residual = e.residual_interest
    note = str(e.reason) + (f"; residual interest {residual} not owed" if residual else "")
    return Shape("closed", None, (), note)


def _waived(e: Loan.Waived) -> Shape:
    note = f"{e.reason} ({e.actor}); " + _to_installments(e.allocations)
    if e.part == "compound":  # section 11: shown in the penalty column, as statements count it
        parts: tuple[tuple[str, Decimal], ...] = (("penalty", e.amount),)
        return Shape("compound interest waived", e.amount, parts, note.rstrip("; "))
    return Shape(f"{e.part} waived", e.amount, ((e.part, e.amount),), note.rstrip("; "))


DIFFERENCE_PARTS = {
    "principal_repaid": "principal",
    "interest_paid": "interest",
    "penalty_paid": "penalty",
    "fees_paid": "fee",
}


def _corrected(e: Loan.Corrected) -> Shape:
    parts = tuple(
        (part, value)
        for key, part in DIFFERENCE_PARTS.items()
        if isinstance(value := e.differences.get(key), Decimal)
    )
    if e.kind == "reversal":
        what, amount = f"reversal of event {e.reverses}", None
    else:
        what, amount = e.kind.replace("_", " "), e.amount
    notes = [f"recorded {e.on}: {e.reason} ({e.actor})"]
    if parts:
        notes.append("paid changes by " + ", ".join(f"{p} {fmt(v)}" for p, v in parts))
    if e.refund_due:
        notes.append(f"refund due {fmt(e.refund_due)}")
    if e.supersedes:
        notes.append(f"replaces the amounts of {len(e.supersedes)} recorded events")
    return Shape(what, amount, parts, "; ".join(notes), e.effective_on)


SUMMARISERS: tuple[tuple[type[Any], Callable[[Any], Shape]], ...] = (
    (Loan.Disbursed, _disbursed),
    (Loan.InstallmentFellDue, _fell_due),
    (Loan.InstallmentDeducted, _deducted),
    (Loan.DeductionFailed, _deduction_failed),
    (Loan.Repaid, _repaid),
    (Loan.InterestAccrued, _accrued),
    (Loan.Overdue, _overdue),
    (Loan.Prepaid, _prepaid),
    (Loan.Closed, _closed),
    (Loan.Waived, _waived),
    (Loan.Corrected, _corrected),
    (Loan.Restructured, lambda e: Shape("restructured", None, (), e.changes())),  # section 16
)
HEADLINE = ("amount", "applied", "collected", "received", "total", "charged", "fee")
TEXT_FIELDS = ("part", "source", "kind", "reason", "actor", "rule", "rounding")
FEE_EVENTS = (Loan.HandlingFeeFellDue, Loan.RemainingFeesAssessed)  # section 13


def _any_event(e: Any) -> Shape:
    """An event class without a summariser of its own: its money fields as recorded."""
    fields = {k: v for k, v in vars(e).items() if k not in ("on", "originator_version")}
    amount = next((fields[k] for k in HEADLINE if isinstance(fields.get(k), Decimal)), None)
    parts: tuple[tuple[str, Decimal], ...] = ()
    if isinstance(fields.get("allocations"), list):
        parts = _split(fields["allocations"])
    elif fields.get("part") in PARTS and amount is not None:
        parts = ((str(fields["part"]), amount),)
    elif isinstance(e, FEE_EVENTS) and amount is not None:
        parts = (("fee", amount),)
    shown = [f"{k.replace('_', ' ')} {fmt(v)}" for k, v in fields.items()
             if isinstance(v, Decimal) and k not in HEADLINE]  # fmt: skip
    shown += [str(fields[k]) for k in TEXT_FIELDS if isinstance(fields.get(k), str)]
    what = re.sub(r"(?<!^)(?=[A-Z])", " ", type(e).__name__).lower()
    return Shape(what, amount, parts, "; ".join(shown))


def summary(e: Any, superseded_by: int | None = None) -> EventSummary:
    """One event in a line, by its class."""
    make = next((f for cls, f in SUMMARISERS if isinstance(e, cls)), _any_event)
    shape = make(e)
    return EventSummary(
        version=int(e.originator_version),
        event=type(e).__name__,
        what=shape.what,
        on=e.on,
        effective_on=shape.effective_on or e.on,
        amount=shape.amount,
        parts=shape.parts,
        note=shape.note,
        routine=isinstance(e, ROUTINE),
        superseded_by=superseded_by,
    )


def summaries(events: Iterable[Any]) -> list[EventSummary]:
    """Every event in order; an event a later correction recomputed says which one."""
    recorded = list(events)
    superseded: dict[int, int] = {}
    for e in recorded:
        if isinstance(e, Loan.Corrected):
            for version in e.supersedes:
                superseded.setdefault(int(version), int(e.originator_version))
    return [summary(e, superseded.get(int(e.originator_version))) for e in recorded]


@dataclass
class Period:
    """One installment period: its routine days (accruals, failed deductions) with their
    totals, and the other events recorded in it, each in full. A period ends on the morning
    its installment falls due (with that morning's deduction); the accrual of the due date's
    evening opens the next one, as it accrues into the next installment."""

    title: str
    k: int | None = None  # the installment that fell due at its end; None: not (yet) one
    routine: list[EventSummary] = field(default_factory=list)
    events: list[EventSummary] = field(default_factory=list)
    interest: Decimal = ZERO  # normal interest accrued over its days, rounded once
    penalty: Decimal = ZERO  # penalty accrued over its days, rounded once
    days: int = 0  # days accrued
    failed_deductions: int = 0

    first_day: date | None = None  # the first and last day accrued
    last_day: date | None = None

    @property
    def superseded(self) -> int:
        """How many of its routine days a later correction recomputed."""
        return sum(1 for s in self.routine if s.superseded_by is not None)


@dataclass
class _Sums:
    """A period being read: the unrounded sums of its accruals."""

    interest: Decimal | Fraction = ZERO
    penalty: Decimal | Fraction = ZERO
    period: Period = field(default_factory=lambda: Period(""))

    def add(self, e: Any, shown: EventSummary, arithmetic: Arithmetic) -> None:
        if not shown.routine:
            self.period.events.append(shown)
            return
        self.period.routine.append(shown)
        if isinstance(e, Loan.InterestAccrued):
            normal, penalties = e.accrued(arithmetic)
            self.interest = accumulate(self.interest, normal)
            for amount in penalties:
                self.penalty = accumulate(self.penalty, amount)
            self.period.days += e.days
            self.period.first_day = self.period.first_day or e.on
            self.period.last_day = e.on
        else:
            self.period.failed_deductions += 1

    def close(self, title: str, k: int | None, rounding: Rounding) -> Period:
        self.period.title, self.period.k = title, k
        self.period.interest = round_to(self.interest, FEN, rounding)
        self.period.penalty = round_to(self.penalty, FEN, rounding)
        return self.period


def _title(fell_due: Loan.InstallmentFellDue) -> str:
    return f"#{fell_due.k}, due {fell_due.due_date}"


def periods(events: Iterable[Any]) -> list[Period]:
    """The events grouped by installment period, in order (see :class:`Period`)."""
    recorded = list(events)
    arithmetic, rounding = Arithmetic.EXACT, Rounding.HALF_UP
    result: list[Period] = []
    sums = _Sums()
    fell_due: Any = None
    for e, shown in zip(recorded, summaries(recorded), strict=True):
        if isinstance(e, Loan.Disbursed):
            terms = Terms.from_event_fields({**e.terms, "disbursed_on": e.on})
            arithmetic, rounding = terms.arithmetic, terms.rounding
        if fell_due is not None and (isinstance(e, Loan.InterestAccrued) or e.on > fell_due.on):
            result.append(sums.close(_title(fell_due), fell_due.k, rounding))
            sums, fell_due = _Sums(), None
        if isinstance(e, Loan.InstallmentFellDue):
            fell_due = e
        sums.add(e, shown, arithmetic)
    if fell_due is not None:
        result.append(sums.close(_title(fell_due), fell_due.k, rounding))
    elif sums.period.routine or sums.period.events:
        last = next((p.k for p in reversed(result) if p.k is not None), None)
        title = f"after #{last}" if last is not None else "from disbursement"
        result.append(sums.close(title, None, rounding))
    return result
