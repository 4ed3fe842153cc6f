"""One loan folded from its events alone: what the read models are computed from.

The fold never loads the aggregate. It reads the amounts the events carry (allocations,
installment parts, unrounded accruals) and rounds only where the rules say a figure becomes
payable (loan-rules sections 5 to 7), with the product's rounding mode. The consistency tests
compare it with the aggregate, so the two are independent witnesses of the same history.

A fold is saved as canonical JSON (sorted keys, amounts as strings), so rebuilding a projection
from the first event gives byte-identical rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.domain import rules
from ledger.domain.terms import Method
from ledger.money import FEN, ZERO, Rounding, round_to
from projections.facts import Fact, amount, day

ACTIVE = "active"
OVERDUE = "overdue"
CLOSED = "closed"


@dataclass(slots=True)
class FoldedInstallment:
    """Installment ``k`` once fixed (loan-rules section 5) and what was paid on it (section 6)."""

    k: int
    due_date: date
    principal: Decimal
    interest: Decimal
    principal_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    penalty_accrued: Decimal = ZERO  # unrounded
    penalty_paid: Decimal = ZERO
    interest_after_due: Decimal = ZERO  # unrounded, last installment only
    overdue_from: date | None = None
    settled_on: date | None = None
    last_paid_on: date | None = None
    penalty_waived: Decimal = ZERO
    interest_waived: Decimal = ZERO

    def interest_total(self, rounding: Rounding) -> Decimal:
        return self.interest + round_to(self.interest_after_due, FEN, rounding)

    def penalty_owed(self, rounding: Rounding) -> Decimal:
        """Section 6: round(penalty accrued) minus what was paid (or waived)."""
        settled = self.penalty_paid + self.penalty_waived
        return max(round_to(self.penalty_accrued, FEN, rounding) - settled, ZERO)

    def interest_owed(self, rounding: Rounding) -> Decimal:
        return self.interest_total(rounding) - self.interest_paid - self.interest_waived

    def principal_owed(self) -> Decimal:
        return self.principal - self.principal_paid

    def owed(self, rounding: Rounding) -> Decimal:
        return self.penalty_owed(rounding) + self.interest_owed(rounding) + self.principal_owed()

    def to_json(self) -> list[Any]:
        return [
            self.k,
            self.due_date.isoformat(),
            str(self.principal),
            str(self.interest),
            str(self.principal_paid),
            str(self.interest_paid),
            str(self.penalty_accrued),
            str(self.penalty_paid),
            str(self.interest_after_due),
            _iso(self.overdue_from),
            _iso(self.settled_on),
            _iso(self.last_paid_on),
            str(self.penalty_waived),
            str(self.interest_waived),
        ]

    @classmethod
    def from_json(cls, row: list[Any]) -> FoldedInstallment:
        d = [Decimal(v) for v in row[2:9]]
        return cls(
            k=int(row[0]),
            due_date=date.fromisoformat(row[1]),
            principal=d[0],
            interest=d[1],
            principal_paid=d[2],
            interest_paid=d[3],
            penalty_accrued=d[4],
            penalty_paid=d[5],
            interest_after_due=d[6],
            overdue_from=_day(row[9]),
            settled_on=_day(row[10]),
            last_paid_on=_day(row[11]),
            penalty_waived=Decimal(row[12]),
            interest_waived=Decimal(row[13]),
        )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None


@dataclass(slots=True)
class LoanFold:
    """The state of one loan, built from its events in version order."""

    loan_id: UUID
    reference: str | None
    product: str
    method: Method
    rounding: Rounding
    principal: Decimal
    term: int
    disbursed_on: date
    monthly_rate: Decimal
    emi: Decimal
    principal_step: Decimal
    last_k: int
    version: int
    status: str = ACTIVE
    closed_on: date | None = None
    closed_through: date | None = None
    principal_not_due: Decimal = ZERO
    interest_accrued: Decimal = ZERO  # unrounded, since the last due date
    installments: list[FoldedInstallment] = field(default_factory=list)
    principal_repaid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    penalty_paid: Decimal = ZERO
    fees_paid: Decimal = ZERO
    # A projection's own working state for this loan (e.g. the statement being built):
    # JSON values, or objects with ``as_json()``; saved with the fold.
    extra: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ building

    @classmethod
    def disbursed(cls, fact: Fact) -> LoanFold:
        d = fact.data
        terms = d["terms"]
        principal = amount(terms["principal"])
        return cls(
            loan_id=fact.loan_id,
            reference=d.get("reference"),
            product=str(terms["product"]),
            method=Method(terms["method"]),
            rounding=Rounding(terms["rounding"]),
            principal=principal,
            term=int(terms["term"]),
            disbursed_on=fact.on,
            monthly_rate=amount(d["monthly_rate"]),
            emi=amount(d["emi"]),
            principal_step=amount(d["principal_step"]),
            last_k=int(terms["term"]),
            version=fact.version,
            principal_not_due=principal,
        )

    def apply(self, fact: Fact) -> None:
        """Move the fold by one event (the event's own amounts; nothing recomputed)."""
        if fact.version != self.version + 1:
            raise ValueError(
                f"loan {self.loan_id}: event version {fact.version} after {self.version}"
            )
        d = fact.data
        kind = fact.kind
        if kind == "InterestAccrued":
            if d["into"] == "period":
                self.interest_accrued += amount(d["normal"])
            else:
                self.installments[-1].interest_after_due += amount(d["normal"])
            for p in d["penalties"]:
                self.installments[int(p["k"]) - 1].penalty_accrued += amount(p["amount"])
            self.closed_through = fact.on
        elif kind == "InstallmentFellDue":
            inst = FoldedInstallment(
                int(d["k"]), day(d["due_date"]), amount(d["principal"]), amount(d["interest"])
            )
            if inst.principal == ZERO and inst.interest == ZERO:
                inst.settled_on = fact.on
            self.installments.append(inst)
            self.principal_not_due -= inst.principal
            self.interest_accrued = ZERO
        elif kind in ("InstallmentDeducted", "Repaid"):
            self._pay(d["allocations"], fact.on)
        elif kind == "Overdue":
            self.installments[int(d["k"]) - 1].overdue_from = day(d["overdue_from"])
        elif kind == "Prepaid":
            self._pay(d["allocations"], fact.on)
            self.interest_accrued = ZERO
            principal = amount(d["principal"])
            self.principal_not_due -= principal
            self.principal_repaid += principal
            self.interest_paid += amount(d["interest"])
            self.fees_paid += amount(d["fee"])
            if d.get("emi") is not None:
                self.emi = amount(d["emi"])
            if d.get("principal_step") is not None:
                self.principal_step = amount(d["principal_step"])
            if d.get("last_k") is not None:
                self.last_k = int(d["last_k"])
        elif kind == "Closed":
            self.status = CLOSED
            self.closed_on = fact.on
        elif kind == "Waived":
            for a in d["allocations"]:
                inst = self.installments[int(a["k"]) - 1]
                if d["part"] == "penalty":
                    inst.penalty_waived += amount(a["amount"])
                else:
                    inst.interest_waived += amount(a["amount"])
                if inst.owed(self.rounding) == ZERO:
                    inst.settled_on = fact.on
        elif kind == "Corrected":
            self._restore(d["state"])
        elif kind != "DeductionFailed":
            raise ValueError(f"loan {self.loan_id}: unknown event {kind}")
        self.version = fact.version

    def _restore(self, state: dict[str, Any]) -> None:
        """Take the state a ``Corrected`` event recorded (values as stored)."""
        self.emi = amount(state["emi"])
        self.principal_step = amount(state["principal_step"])
        self.last_k = int(state["last_k"])
        self.principal_not_due = amount(state["principal_not_due"])
        self.interest_accrued = amount(state["interest_accrued"])
        self.closed_through = day(state["closed_through"])
        self.status = str(state["status"])
        self.closed_on = day(state["closed_on"]) if state["closed_on"] is not None else None
        self.principal_repaid = amount(state["principal_repaid"])
        self.interest_paid = amount(state["interest_paid"])
        self.penalty_paid = amount(state["penalty_paid"])
        self.fees_paid = amount(state["fees_paid"])
        paid_on = {i.k: i.last_paid_on for i in self.installments}
        self.installments = [
            FoldedInstallment(
                k=int(i["k"]),
                due_date=day(i["due_date"]),
                principal=amount(i["principal"]),
                interest=amount(i["interest"]),
                principal_paid=amount(i["principal_paid"]),
                interest_paid=amount(i["interest_paid"]),
                penalty_accrued=amount(i["penalty_accrued"]),
                penalty_paid=amount(i["penalty_paid"]),
                interest_after_due=amount(i["interest_after_due"]),
                overdue_from=day(i["overdue_from"]) if i["overdue_from"] else None,
                settled_on=day(i["settled_on"]) if i["settled_on"] else None,
                last_paid_on=paid_on.get(int(i["k"])),
                penalty_waived=amount(
                    i.get("penalty_waived", {"_type_": "decimal_str", "_data_": "0"})
                ),
                interest_waived=amount(
                    i.get("interest_waived", {"_type_": "decimal_str", "_data_": "0"})
                ),
            )
            for i in state["installments"]
        ]

    def _pay(self, allocations: list[dict[str, Any]], on: date) -> None:
        for a in allocations:
            inst = self.installments[int(a["k"]) - 1]
            penalty, interest, principal = (
                amount(a["penalty"]),
                amount(a["interest"]),
                amount(a["principal"]),
            )
            inst.penalty_paid += penalty
            inst.interest_paid += interest
            inst.principal_paid += principal
            inst.last_paid_on = on
            self.penalty_paid += penalty
            self.interest_paid += interest
            self.principal_repaid += principal
            if inst.owed(self.rounding) == ZERO:
                inst.settled_on = on

    # ------------------------------------------------------------------ figures

    @property
    def is_closed(self) -> bool:
        return self.status == CLOSED

    def unsettled(self) -> list[FoldedInstallment]:
        return [i for i in self.installments if i.settled_on is None]

    def overdue_installments(self) -> list[FoldedInstallment]:
        return [i for i in self.installments if i.settled_on is None and i.overdue_from]

    @property
    def loan_status(self) -> str:
        if self.is_closed:
            return CLOSED
        return OVERDUE if self.overdue_installments() else ACTIVE

    @property
    def principal_outstanding(self) -> Decimal:
        return self.principal_not_due + sum((i.principal_owed() for i in self.installments), ZERO)

    @property
    def interest_accrued_rounded(self) -> Decimal:
        """Normal interest accrued since the last due date, as a payoff rounds it (section 7)."""
        return round_to(self.interest_accrued, FEN, self.rounding)

    @property
    def penalty_owed(self) -> Decimal:
        return sum((i.penalty_owed(self.rounding) for i in self.unsettled()), ZERO)

    @property
    def interest_owed(self) -> Decimal:
        """Interest of fixed installments not paid, plus the accrued interest, rounded."""
        fixed = sum((i.interest_owed(self.rounding) for i in self.unsettled()), ZERO)
        return fixed + self.interest_accrued_rounded

    @property
    def overdue_amount(self) -> Decimal:
        r = self.rounding
        overdue = self.overdue_installments()
        return sum((i.interest_owed(r) + i.principal_owed() for i in overdue), ZERO)

    @property
    def amount_due(self) -> Decimal:
        return sum((i.owed(self.rounding) for i in self.unsettled()), ZERO)

    @property
    def balance(self) -> Decimal:
        """What the borrower owes, to the fen: principal + interest + penalty (section 7)."""
        return self.principal_outstanding + self.interest_owed + self.penalty_owed

    @property
    def overdue_since(self) -> date | None:
        overdue = self.overdue_installments()
        return overdue[0].overdue_from if overdue else None

    def days_past_due(self, as_of: date | None = None) -> int:
        """Section 6: days since the first overdue day of the oldest overdue installment,
        that day counting 1; 0 when nothing is overdue."""
        since = self.overdue_since
        day = as_of or self.closed_through
        if since is None or day is None:
            return 0
        return max((day - since).days + 1, 0)

    @property
    def next_k(self) -> int | None:
        k = len(self.installments) + 1
        return None if self.is_closed or k > self.last_k else k

    def planned_parts(
        self, first_k: int, count: int | None = None
    ) -> list[tuple[int, date, Decimal, Decimal]]:
        """Installments ``first_k..last_k`` (or ``count`` of them) as planned now: (k, due
        date, principal, interest), interest estimated as base x the monthly rate (the plan
        of section 5)."""
        rows: list[tuple[int, date, Decimal, Decimal]] = []
        remaining = self.principal_not_due
        last = self.last_k if count is None else min(self.last_k, first_k + count - 1)
        for k in range(first_k, last + 1):
            base = self.principal if self.method is Method.FLAT else remaining
            parts = rules.installment_parts(
                method=self.method,
                is_last=k == self.last_k,
                emi_amount=self.emi,
                principal_step=self.principal_step,
                remaining_principal=remaining,
                interest_accrued=base * self.monthly_rate,
                rounding=self.rounding,
            )
            remaining -= parts.principal
            rows.append((k, rules.due_date(self.disbursed_on, k), parts.principal, parts.interest))
        return rows

    # ------------------------------------------------------------------ storage

    def to_json(self) -> str:
        return json.dumps(
            {
                "loan_id": str(self.loan_id),
                "reference": self.reference,
                "product": self.product,
                "method": self.method.value,
                "rounding": self.rounding.value,
                "principal": str(self.principal),
                "term": self.term,
                "disbursed_on": self.disbursed_on.isoformat(),
                "monthly_rate": str(self.monthly_rate),
                "emi": str(self.emi),
                "principal_step": str(self.principal_step),
                "last_k": self.last_k,
                "version": self.version,
                "status": self.status,
                "closed_on": _iso(self.closed_on),
                "closed_through": _iso(self.closed_through),
                "principal_not_due": str(self.principal_not_due),
                "interest_accrued": str(self.interest_accrued),
                "installments": [i.to_json() for i in self.installments],
                "principal_repaid": str(self.principal_repaid),
                "interest_paid": str(self.interest_paid),
                "penalty_paid": str(self.penalty_paid),
                "fees_paid": str(self.fees_paid),
                "extra": {
                    k: v.as_json() if hasattr(v, "as_json") else v for k, v in self.extra.items()
                },
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> LoanFold:
        d = json.loads(text)
        return cls(
            loan_id=UUID(d["loan_id"]),
            reference=d["reference"],
            product=d["product"],
            method=Method(d["method"]),
            rounding=Rounding(d["rounding"]),
            principal=Decimal(d["principal"]),
            term=int(d["term"]),
            disbursed_on=date.fromisoformat(d["disbursed_on"]),
            monthly_rate=Decimal(d["monthly_rate"]),
            emi=Decimal(d["emi"]),
            principal_step=Decimal(d["principal_step"]),
            last_k=int(d["last_k"]),
            version=int(d["version"]),
            status=d["status"],
            closed_on=_day(d["closed_on"]),
            closed_through=_day(d["closed_through"]),
            principal_not_due=Decimal(d["principal_not_due"]),
            interest_accrued=Decimal(d["interest_accrued"]),
            installments=[FoldedInstallment.from_json(r) for r in d["installments"]],
            principal_repaid=Decimal(d["principal_repaid"]),
            interest_paid=Decimal(d["interest_paid"]),
            penalty_paid=Decimal(d["penalty_paid"]),
            fees_paid=Decimal(d["fees_paid"]),
            extra=d["extra"],
        )
