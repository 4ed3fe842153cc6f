"""Balances: one row per loan, what ``ledger loan show`` prints.

Amounts are whole fen (``BIGINT``), exact and summable on both stores:
``principal_outstanding``; ``interest_accrued`` (normal interest since the last due date,
rounded as a payoff rounds it, loan-rules section 7); ``penalty_accrued`` (per installment
``round(penalty accrued) - paid``, section 6); ``compound_accrued`` (section 11, the same for
compound interest; NULL for a loan that does not name ``compound_multiplier``);
``handling_fees_owed`` (section 13, handling fees of installments due and unpaid; NULL for a
loan that charges none);
``overdue_amount`` (unpaid principal and interest
of overdue installments); ``amount_due`` (what the next deduction asks for); the next
installment's due date and planned amount (section 5's plan); ``days_past_due`` at the last
closed day (section 6); ``credit``: what the loan holds for its borrower (section 12: paid
charges waived, money a correction found was not needed, less what was used or refunded);
``version``: the last event applied.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.adapters.sql import Cursor
from ledger.domain.money import fmt
from projections.base import upsert
from projections.facts import Fact
from projections.loan_fold import LoanFold
from projections.loan_projection import LoanProjection

COLUMNS = (
    "loan_id",
    "reference",
    "product",
    "status",
    "as_of",
    "day_closed",
    "principal_outstanding",
    "interest_accrued",
    "handling_fees_owed",
    "penalty_accrued",
    "compound_accrued",
    "overdue_amount",
    "amount_due",
    "days_past_due",
    "overdue_since",
    "next_due_date",
    "next_due_amount",
    "principal_repaid",
    "interest_paid",
    "penalty_paid",
    "fees_paid",
    "credit",
    "written_off",
    "written_off_outstanding",
    "non_accrual_since",
    "closed_on",
    "version",
)
AMOUNTS = {
    "principal_outstanding",
    "interest_accrued",
    "handling_fees_owed",
    "penalty_accrued",
    "compound_accrued",
    "overdue_amount",
    "amount_due",
    "next_due_amount",
    "principal_repaid",
    "interest_paid",
    "penalty_paid",
    "fees_paid",
    "credit",
    "written_off",
    "written_off_outstanding",
}
OPTIONAL = (
    "compound_accrued",
    "handling_fees_owed",
    "written_off",
    "written_off_outstanding",
    "non_accrual_since",
)


def to_fen(amount: Decimal) -> int:
    """A two-decimal amount as whole fen; refuses anything finer."""
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of fen")
    return int(fen)


def from_fen(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(int(fen)).scaleb(-2)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


class Balances(LoanProjection):
    name = "balances"
    # 2: folds are LoanState; day_closed; 3: credit; 4: compound_accrued; 5: handling_fees_owed;
    # 6: written_off, written_off_outstanding (section 14); 7: non_accrual_since (section 15)
    schema = 7
    description = "one row per loan: status, principal, interest, penalty, overdue, next due"

    def __init__(self, sql: Any, cache_size: int = 50_000) -> None:
        super().__init__(sql, cache_size)
        self.t = sql.table("ledger_balances")
        self.pending: dict[UUID, LoanFold] = {}

    def create(self, c: Cursor) -> None:
        self.create_folds(c)
        amounts = " BIGINT, ".join(sorted(AMOUNTS))
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t} (loan_id TEXT PRIMARY KEY, reference TEXT, "
            "product TEXT NOT NULL, status TEXT NOT NULL, as_of TEXT, day_closed INTEGER, "
            "days_past_due INTEGER, "
            "overdue_since TEXT, next_due_date TEXT, closed_on TEXT, version INTEGER NOT NULL, "
            "non_accrual_since TEXT, "
            f"{amounts} BIGINT)"
        )

    def tables(self) -> list[tuple[str, str]]:
        return [(self.t, "loan_id"), *self.fold_tables()]

    def forget(self) -> None:
        super().forget()
        self.pending.clear()

    def after(self, fold: LoanFold, fact: Fact) -> None:
        self.pending[fold.loan_id] = fold

    def write(self, c: Cursor) -> None:
        rows = [row_of(fold) for fold in self.pending.values()]
        self.pending.clear()
        c.executemany(
            upsert(self.t, COLUMNS, ("loan_id",)),
            [[r[col] for col in COLUMNS] for r in rows],
        )

    def read(self, loan_id: UUID) -> dict[str, Any] | None:
        names = ", ".join(COLUMNS)
        rows = self.sql.query(f"SELECT {names} FROM {self.t} WHERE loan_id = ?", [str(loan_id)])
        if not rows:
            self.refuse_quarantined(loan_id)
            return None
        return dict(zip(COLUMNS, rows[0], strict=True))

    def all(self) -> list[dict[str, Any]]:
        """Every loan's row, by reference (then id)."""
        names = ", ".join(COLUMNS)
        rows = self.sql.query(f"SELECT {names} FROM {self.t} ORDER BY reference, loan_id")
        return [dict(zip(COLUMNS, r, strict=True)) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self.sql.query(f"SELECT status, COUNT(*) FROM {self.t} GROUP BY status")
        result = {"active": 0, "overdue": 0, "closed": 0}  # written_off: only when there are
        for status, count in rows:
            result[str(status)] = int(count)
        return result


def row_of(fold: LoanFold) -> dict[str, Any]:
    """The balances row of a loan: its figures (:meth:`LoanState.figures`), amounts in fen."""
    f = fold.figures()
    return {
        "loan_id": str(fold.loan_id),
        "reference": fold.reference,
        "product": fold.product,
        "status": f.status,
        "as_of": _iso(f.as_of),
        "day_closed": int(f.day_closed),
        "principal_outstanding": to_fen(f.principal_outstanding),
        "interest_accrued": to_fen(f.interest_accrued),
        "penalty_accrued": to_fen(f.penalty_accrued),
        "compound_accrued": None if f.compound_accrued is None else to_fen(f.compound_accrued),
        "handling_fees_owed": (
            None if f.handling_fees_owed is None else to_fen(f.handling_fees_owed)
        ),
        "overdue_amount": to_fen(f.overdue_amount),
        "amount_due": to_fen(f.amount_due),
        "days_past_due": f.days_past_due,
        "overdue_since": _iso(f.overdue_since),
        "next_due_date": _iso(f.next_due_date),
        "next_due_amount": to_fen(f.next_due_amount) if f.next_due_amount is not None else None,
        "principal_repaid": to_fen(f.principal_repaid),
        "interest_paid": to_fen(f.interest_paid),
        "penalty_paid": to_fen(f.penalty_paid),
        "fees_paid": to_fen(f.fees_paid),
        "credit": to_fen(f.credit),
        "written_off": None if f.written_off is None else to_fen(f.written_off),
        "written_off_outstanding": (
            None if f.written_off_outstanding is None else to_fen(f.written_off_outstanding)
        ),
        "non_accrual_since": _iso(f.non_accrual_since),
        "closed_on": _iso(f.closed_on),
        "version": fold.version,
    }


def shown(row: dict[str, Any]) -> dict[str, Any]:
    """A balances row as the CLI prints it (``ledger loan show``): amounts as strings."""
    result = {
        "loan_id": row["reference"] or row["loan_id"],
        "uuid": row["loan_id"],
        "product": row["product"],
        "status": row["status"],
        "as_of": row["as_of"],
        "day_closed": bool(row["day_closed"]),
    }
    for column in COLUMNS:
        if column in result or column in ("reference", "loan_id"):
            continue
        if column in OPTIONAL and row[column] is None:
            continue  # a loan without section 11, 13, 14 or 15 shows what it did
        if column == "non_accrual_since":
            result["non_accrual"] = True  # section 15
        value = row[column]
        if column in AMOUNTS:
            amount = from_fen(value)
            result[column] = fmt(amount) if amount is not None else None
        else:
            result[column] = value
    return result
