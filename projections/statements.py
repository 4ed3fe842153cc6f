"""Monthly statements: one per loan per statement cycle.

Cycle ``c`` of a loan covers the business days after due date ``c-1`` up to and including due
date ``c`` (loan-rules section 2; cycle 1 starts on the disbursement day), so the morning
deduction of a due date is on the statement that ends that day. A cycle is named by the month
of its due date (``2026-02``): every month holds exactly one due date of a loan.

The balance is what the borrower owes, to the fen: principal outstanding + interest (fixed and
unpaid, plus accrued since the last due date rounded as a payoff rounds it, section 7) +
penalty (per installment ``round(accrued) - paid``, section 6; on a loan that splits it,
section 11, its compound interest is counted in the statement's penalty figures) + handling fees
due and unpaid (a bank installment, section 13: ``fees`` adds each as it falls due, and the
remaining fees a payoff charges). For each cycle::

    closing = opening + disbursed + interest + penalty + fees - paid - waived + adjustments

where ``paid`` is split by source (deducted, repaid, prepaid, and ``credit_applied``: credit
the morning used, loan-rules §12) and by part (penalty, interest, principal, fee).
``interest`` and ``penalty`` are what the cycle added to the balance in fen; ``waived`` is what
waivers forgave, ``adjustments`` what corrections of the past (a back-dated repayment, a
reversed payment) changed in the balance when they were recorded, and what a write-off took
off it (section 14: the balance is zero after; recoveries are not on the statement); past
statements are not reissued. ``normal_accrued`` and ``penalty_accrued`` are the exact sums of
the daily accruals of the cycle (section 4, unrounded), so the rounding is visible. The closing
balance of a cycle is the opening balance of the next.

Credit owed to the borrower (section 12) is kept apart from the balance: ``credit_added`` (paid
charges waived, and what a correction changed in the credit), ``refunds`` (paid back through
the gateway) and ``credit`` at the end of the cycle, so that::

    credit = previous cycle's credit + credit_added - credit_applied_* - refunds
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.adapters.sql import Cursor
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO, Exact, accumulate, fmt
from ledger.domain.money import shown as unrounded_text
from ledger.domain.terms import Terms
from projections.balances import from_fen, to_fen
from projections.base import upsert
from projections.facts import Fact
from projections.loan_fold import LoanFold, amount_of, plain
from projections.loan_projection import LoanProjection

SOURCES: dict[type[Any], str] = {
    Loan.InstallmentDeducted: "deducted",
    Loan.Repaid: "repaid",
    Loan.Prepaid: "prepaid",
    Loan.CreditApplied: "credit_applied",
}
PARTS = ("penalty", "interest", "principal", "fee")
PAID = tuple(
    f"{source}_{part}"
    for source in ("deducted", "repaid", "prepaid", "credit_applied")
    for part in PARTS
)
FLOWS = ("disbursed", "interest", "penalty", "fees", *PAID, "paid_total", "waived", "adjustments")
CLOSING = (
    "closing_balance",
    "closing_principal",
    "closing_interest",
    "closing_penalty",
    "closing_fees",  # section 13: handling fees due and unpaid (0 on other loans)
)
CREDIT = ("credit_added", "refunds", "credit")  # section 12, apart from the balance
COLUMNS = (
    "loan_id",
    "month",
    "cycle",
    "period_start",
    "period_end",
    "opening_balance",
    *FLOWS,
    *CLOSING,
    *CREDIT,
    "normal_accrued",
    "penalty_accrued",
    "events",
    "last_version",
)


def cycle_of(terms: Terms, on: date) -> int:
    """The cycle holding business day ``on``: the first ``k >= 1`` with due date >= ``on``
    (sections 2 and 9: counted from the first due date when the loan names one)."""
    origin = terms.first_due_date or terms.disbursed_on
    months = (on.year - origin.year) * 12 + on.month - origin.month
    k = max(months + (1 if terms.first_due_date else 0), 1)
    while k > 1 and terms.due_date(k - 1) >= on:
        k -= 1
    while terms.due_date(k) < on:
        k += 1
    return k


def period_of(terms: Terms, cycle: int) -> tuple[date, date]:
    start = terms.disbursed_on if cycle == 1 else terms.due_date(cycle - 1) + timedelta(days=1)
    return start, terms.due_date(cycle)


class Statement:
    """The statement being built for a loan's current cycle."""

    __slots__ = ("cycle", "events", "flows", "normal", "opening", "penalty", "version")

    def __init__(self, cycle: int, opening: tuple[Decimal, ...]) -> None:
        self.cycle = cycle
        self.opening = opening  # principal, interest, penalty, handling fees owed at the start
        self.flows: dict[str, Decimal] = {}
        self.normal: Decimal | Exact = ZERO  # exact sums of the cycle's daily accruals
        self.penalty: Decimal | Exact = ZERO
        self.events = 0
        self.version = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle,
            "opening": [str(v) for v in self.opening],
            "flows": {k: str(v) for k, v in sorted(self.flows.items())},
            "normal": plain(self.normal),
            "penalty": plain(self.penalty),
            "events": self.events,
            "version": self.version,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Statement:
        o = [*data["opening"], "0"][:4]  # saved before section 13: no handling fees
        statement = cls(int(data["cycle"]), tuple(Decimal(v) for v in o))
        statement.flows = {k: Decimal(v) for k, v in data["flows"].items()}
        statement.normal = amount_of(data["normal"])
        statement.penalty = amount_of(data["penalty"])
        statement.events = int(data["events"])
        statement.version = int(data["version"])
        return statement

    def add(self, flow: str, amount: Decimal) -> None:
        self.flows[flow] = self.flows.get(flow, ZERO) + amount

    def row(self, fold: LoanFold) -> list[Any]:
        start, end = period_of(fold.terms, self.cycle)
        o_principal, o_interest, o_penalty, o_fees = self.opening
        c_principal = fold.principal_outstanding
        c_interest = fold.interest_owed
        c_penalty = fold.charges_owed
        c_fees = fold.handling_fees_owed
        f = self.flows
        paid = {k: f.get(k, ZERO) for k in PAID}
        paid_interest = sum((v for k, v in paid.items() if k.endswith("_interest")), ZERO)
        paid_penalty = sum((v for k, v in paid.items() if k.endswith("_penalty")), ZERO)
        waived_interest = f.get("waived_interest", ZERO)
        waived_penalty = f.get("waived_penalty", ZERO)
        adjusted = {
            p: f.get(f"adjusted_{p}", ZERO) for p in ("principal", "interest", "penalty", "fee")
        }
        values = {
            "disbursed": f.get("disbursed", ZERO),
            "interest": c_interest
            - o_interest
            + paid_interest
            + waived_interest
            - adjusted["interest"],
            "penalty": c_penalty - o_penalty + paid_penalty + waived_penalty - adjusted["penalty"],
            "fees": f.get("fees", ZERO),
            **paid,
            "paid_total": sum(paid.values(), ZERO),
            "waived": waived_interest + waived_penalty,
            "adjustments": sum(adjusted.values(), ZERO),
        }
        return [
            str(fold.loan_id),
            end.strftime("%Y-%m"),
            self.cycle,
            start.isoformat(),
            end.isoformat(),
            to_fen(o_principal + o_interest + o_penalty + o_fees),
            *(to_fen(values[k]) for k in FLOWS),
            to_fen(c_principal + c_interest + c_penalty + c_fees),
            to_fen(c_principal),
            to_fen(c_interest),
            to_fen(c_penalty),
            to_fen(c_fees),
            to_fen(f.get("credit_added", ZERO)),
            to_fen(f.get("refunds", ZERO)),
            to_fen(fold.credit),
            unrounded_text(self.normal),
            unrounded_text(self.penalty),
            self.events,
            self.version,
        ]


class Statements(LoanProjection):
    name = "statements"
    schema = 5  # 2: waived, adjustments; 3: folds are LoanState; 4: credit, refunds; 5: fees
    description = "one statement per loan per cycle (ending on the due date)"

    def __init__(self, sql: Any, cache_size: int = 50_000) -> None:
        super().__init__(sql, cache_size)
        self.t = sql.table("ledger_statements")
        self.pending: dict[tuple[UUID, int], list[Any]] = {}  # finished cycles
        self.current_of: dict[UUID, LoanFold] = {}  # loans whose current cycle changed
        self.restated: dict[UUID, tuple[Decimal, ...]] = {}

    def create(self, c: Cursor) -> None:
        self.create_folds(c)
        amounts = ", ".join(
            f"{n} BIGINT NOT NULL" for n in ("opening_balance", *FLOWS, *CLOSING, *CREDIT)
        )
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t} (loan_id TEXT NOT NULL, month TEXT NOT NULL, "
            "cycle INTEGER NOT NULL, period_start TEXT NOT NULL, period_end TEXT NOT NULL, "
            f"{amounts}, normal_accrued TEXT NOT NULL, penalty_accrued TEXT NOT NULL, "
            "events INTEGER NOT NULL, last_version INTEGER NOT NULL, "
            "PRIMARY KEY (loan_id, month))"
        )

    def tables(self) -> list[tuple[str, str]]:
        return [(self.t, "loan_id, month"), *self.fold_tables()]

    def forget(self) -> None:
        super().forget()
        self.pending.clear()
        self.current_of.clear()

    @staticmethod
    def current(fold: LoanFold) -> Statement:
        statement = fold.extra["statement"]
        if not isinstance(statement, Statement):  # as loaded from the folds table
            statement = fold.extra["statement"] = Statement.from_json(statement)
        return statement

    def before(self, fold: LoanFold, fact: Fact) -> None:
        """Start the fact's cycle (and any empty one before it) from the balance as it is."""
        if isinstance(fact.event, Loan.Corrected):
            self.restated[fold.loan_id] = (
                fold.principal_outstanding,
                fold.interest_owed,
                fold.charges_owed,
                fold.credit,
                fold.handling_fees_owed,
            )
        statement = self.current(fold)
        cycle = cycle_of(fold.terms, fact.on)
        while statement.cycle < cycle:
            self.pending[(fold.loan_id, statement.cycle)] = statement.row(fold)
            opening = (
                fold.principal_outstanding,
                fold.interest_owed,
                fold.charges_owed,
                fold.handling_fees_owed,
            )
            statement = Statement(statement.cycle + 1, opening)
            statement.version = fold.version
            fold.extra["statement"] = statement

    def after(self, fold: LoanFold, fact: Fact) -> None:
        e = fact.event
        if isinstance(e, Loan.Disbursed):
            statement = Statement(1, (ZERO, ZERO, ZERO, ZERO))
            statement.add("disbursed", fold.principal)
            fold.extra["statement"] = statement
        else:
            statement = self.current(fold)
        if isinstance(e, Loan.InterestAccrued):
            normal, penalties = e.accrued(fold.terms.arithmetic)
            statement.normal = accumulate(statement.normal, normal)
            for amount in penalties:
                statement.penalty = accumulate(statement.penalty, amount)
        elif isinstance(e, Loan.Waived):  # compound interest is counted with the penalty
            statement.add(f"waived_{'penalty' if e.part == 'compound' else e.part}", e.amount)
        elif isinstance(e, Loan.Corrected):  # what the recomputation changed, per part
            p, i, pen, credit, fees = self.restated.pop(fold.loan_id)
            statement.add("adjusted_principal", fold.principal_outstanding - p)
            statement.add("adjusted_interest", fold.interest_owed - i)
            statement.add("adjusted_penalty", fold.charges_owed - pen)
            statement.add("adjusted_fee", fold.handling_fees_owed - fees)
            statement.add("credit_added", fold.credit - credit)
        elif isinstance(e, Loan.WrittenOff):  # section 14: taken off the balance, by part
            statement.add("adjusted_principal", -e.principal)
            statement.add("adjusted_interest", -e.interest)
            statement.add("adjusted_penalty", -(e.penalty + e.compound))
            statement.add("adjusted_fee", -e.fees)
        elif isinstance(e, Loan.HandlingFeeFellDue):  # section 13: due with the installment
            statement.add("fees", e.fee)
        elif isinstance(e, Loan.RemainingFeesAssessed):  # charged, and paid by the payoff
            statement.add("fees", e.charged)
            statement.add("prepaid_fee", e.charged)
        elif isinstance(e, (Loan.PaidChargeWaived, Loan.OverpaymentHeld)):
            statement.add("credit_added", e.amount)
        elif isinstance(e, Loan.Refunded):
            statement.add("refunds", e.amount)
        source = SOURCES.get(type(e))
        if source is not None:
            for a in e.allocations:
                for part in ("penalty", "interest", "principal"):
                    statement.add(f"{source}_{part}", a[part])
                statement.add(f"{source}_fee", a.get("fee", ZERO))  # section 13
                statement.add(f"{source}_penalty", a.get("compound", ZERO))  # section 11
            if isinstance(e, Loan.Prepaid):
                statement.add("prepaid_interest", e.interest)
                statement.add("prepaid_principal", e.principal)
                statement.add("prepaid_fee", e.fee)
                statement.add("fees", e.fee)
        statement.events += 1
        statement.version = fold.version
        self.current_of[fold.loan_id] = fold  # its row is computed once, when written

    def write(self, c: Cursor) -> None:
        for fold in self.current_of.values():
            statement = self.current(fold)
            self.pending[(fold.loan_id, statement.cycle)] = statement.row(fold)
        self.current_of.clear()
        c.executemany(
            upsert(self.t, COLUMNS, ("loan_id", "month")),
            list(self.pending.values()),
        )
        self.pending.clear()

    def read(self, loan_id: UUID, month: str | None = None) -> list[dict[str, Any]]:
        where = " AND month = ?" if month else ""
        rows = self.sql.query(
            f"SELECT {', '.join(COLUMNS)} FROM {self.t} WHERE loan_id = ?{where} ORDER BY month",
            [str(loan_id), *([month] if month else [])],
        )
        if not rows:
            self.refuse_quarantined(loan_id)
        return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


def shown(row: dict[str, Any]) -> dict[str, Any]:
    """A statement as ``ledger loan statement`` prints it: amounts as strings."""
    result: dict[str, Any] = {}
    for column, value in row.items():
        if column in ("loan_id",):
            continue
        if column in FLOWS or column in CREDIT or column.startswith(("opening_", "closing_")):
            amount = from_fen(value)
            result[column] = fmt(amount) if amount is not None else None
        else:
            result[column] = value
    return result
