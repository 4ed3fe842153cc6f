"""Schedule, planned vs actual: one row per installment of every loan.

``planned_principal`` / ``planned_interest`` are the plan in force for that installment
(loan-rules section 5: interest estimated as base x the monthly rate; re-planned by a partial
prepayment, section 7), kept as they were when the installment fell due. ``principal`` /
``interest`` are what was fixed on the due date from what actually accrued (``NULL`` until
then); ``penalty`` is ``round(penalty accrued)`` (section 6; a loan that splits it, section
11, adds its compound interest, rounded on its own). ``paid_*`` is what was collected,
``last_paid_on`` when. ``status``: ``upcoming`` (not due yet), ``due`` (fixed, nothing paid),
``partly_paid``, ``overdue``, ``paid``, or ``prepaid`` (will never fall due: the loan was
paid off, or a prepayment shortened its term), or ``written_off`` (not paid when the loan was
written off, or never to fall due after it: loan-rules section 14), or ``holiday`` (an
installment of a payment holiday: nothing falls due on it, loan-rules section 16). Amounts in
fen.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from ledger.adapters.sql import Cursor
from ledger.domain.installment import Installment
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO, fmt
from ledger.domain.write_off import WRITTEN_OFF
from projections.balances import from_fen, to_fen
from projections.base import upsert
from projections.facts import Fact
from projections.loan_fold import LoanFold
from projections.loan_projection import LoanProjection

# events that allocate money (or a waiver) to installments
PAYMENTS = (Loan.InstallmentDeducted, Loan.Repaid, Loan.Prepaid, Loan.Waived, Loan.CreditApplied)

COLUMNS = (
    "loan_id",
    "k",
    "due_date",
    "planned_principal",
    "planned_interest",
    "principal",
    "interest",
    "penalty",
    "paid_penalty",
    "paid_interest",
    "paid_principal",
    "paid_total",
    "waived",
    "last_paid_on",
    "overdue_from",
    "settled_on",
    "status",
)
CANCELLED = "cancelled"  # a pending write that only marks a planned row (prepaid, written_off)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


HOLIDAY = "holiday"  # an installment of a payment holiday (section 16)
PLANNED_TO = "planned_to"  # the fold's extra: the last row a restructuring planned (section 16)


class Schedule(LoanProjection):
    name = "schedule"
    schema = 3  # 2: waived; 3: folds are LoanState
    description = "every installment: planned, fixed, collected and when, status"

    def __init__(self, sql: Any, cache_size: int = 50_000) -> None:
        super().__init__(sql, cache_size)
        self.t = sql.table("ledger_schedule")
        self.pending: dict[tuple[UUID, int], list[Any]] = {}  # planned and cancelled rows
        # installments whose actual figures changed: rendered once, when written
        self.touched: dict[tuple[UUID, int], tuple[LoanFold, Installment]] = {}

    def create(self, c: Cursor) -> None:
        self.create_folds(c)
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t} (loan_id TEXT NOT NULL, k INTEGER NOT NULL, "
            "due_date TEXT NOT NULL, planned_principal BIGINT, planned_interest BIGINT, "
            "principal BIGINT, interest BIGINT, penalty BIGINT NOT NULL, "
            "paid_penalty BIGINT NOT NULL, paid_interest BIGINT NOT NULL, "
            "paid_principal BIGINT NOT NULL, paid_total BIGINT NOT NULL, waived BIGINT NOT NULL, "
            "last_paid_on TEXT, "
            "overdue_from TEXT, settled_on TEXT, status TEXT NOT NULL, PRIMARY KEY (loan_id, k))"
        )

    def tables(self) -> list[tuple[str, str]]:
        return [(self.t, "loan_id, k"), *self.fold_tables()]

    def forget(self) -> None:
        super().forget()
        self.pending.clear()
        self.touched.clear()

    def after(self, fold: LoanFold, fact: Fact) -> None:
        e = fact.event
        touched: set[int] = set()
        if isinstance(e, (Loan.Disbursed, Loan.Restructured)) or (
            isinstance(e, Loan.Prepaid) and e.kind == "partial"
        ):
            for k, due, principal, interest in fold.planned_parts(len(fold.installments) + 1):
                self._plan(fold, k, due, to_fen(principal), to_fen(interest))
            if fold.last_k > max(fold.term, fold.extra.get(PLANNED_TO, 0)):  # section 16
                fold.extra[PLANNED_TO] = fold.last_k  # a longer term: rows past the first
            why = "restructured" if isinstance(e, Loan.Restructured) else "prepaid"
            self._cancel_after(fold, fold.last_k, why)  # a shorter term (reduce_term, s. 16)
        elif isinstance(e, Loan.Closed):
            self._cancel_after(fold, len(fold.installments))
        elif isinstance(e, Loan.WrittenOff):  # section 14
            touched.update(int(row["k"]) for row in e.owed)
            self._cancel_after(fold, len(fold.installments), WRITTEN_OFF)
        elif isinstance(e, (Loan.InstallmentFellDue, Loan.Overdue)):
            touched.add(int(e.k))
        elif isinstance(e, Loan.InterestAccrued):
            touched.update(int(p["k"]) for p in e.penalties)
            if e.into != "period":
                touched.add(len(fold.installments))
        if isinstance(e, PAYMENTS):
            touched.update(int(a["k"]) for a in e.allocations)
        if isinstance(e, Loan.Corrected):  # recomputed from the effective date on
            touched.update(i.k for i in fold.installments)
            for k, due, principal, interest in fold.planned_parts(len(fold.installments) + 1):
                self._plan(fold, k, due, to_fen(principal), to_fen(interest))
            if fold.is_closed:
                self._cancel_after(fold, len(fold.installments))
        for k in touched:  # rendered once, when written
            self.touched[(fold.loan_id, k)] = (fold, fold.installments[k - 1])

    def _plan(self, fold: LoanFold, k: int, due: date, principal: int, interest: int) -> None:
        status = HOLIDAY if k <= fold.holiday_through else "upcoming"  # section 16
        self.pending[(fold.loan_id, k)] = [
            str(fold.loan_id), k, due.isoformat(), principal, interest,
            None, None, 0, 0, 0, 0, 0, 0, None, None, None, status,
        ]  # fmt: skip

    def _cancel_after(self, fold: LoanFold, last: int, status: str = "prepaid") -> None:
        """Planned installments after ``last`` will never fall due (``status``: why)."""
        for k in range(last + 1, max(fold.term, fold.extra.get(PLANNED_TO, 0)) + 1):
            row = self.pending.get((fold.loan_id, k))
            if row is None:  # written by an earlier batch
                self.pending[(fold.loan_id, k)] = [CANCELLED, str(fold.loan_id), k, status]
            elif row[0] != CANCELLED and row[5] is None:
                row[-1] = status

    def _fixed(self, fold: LoanFold, inst: Installment) -> list[Any]:
        owed = inst.owed(fold.terms)
        interest = owed.interest + inst.interest_paid + inst.interest_waived
        # section 11: a split loan's compound interest is counted with its penalty here
        charges_paid = inst.penalty_paid + inst.compound_paid
        penalty = owed.penalty + (owed.compound or ZERO) + charges_paid
        # section 13: a bank_installment loan's handling fee paid is in what was paid
        paid = charges_paid + inst.interest_paid + inst.principal_paid + inst.fee_paid
        if inst.holiday:
            status = HOLIDAY
        elif inst.settled_on is not None:
            status = "paid"
        elif fold.is_written_off:
            status = WRITTEN_OFF
        elif inst.overdue_from is not None:
            status = "overdue"
        elif paid > ZERO:
            status = "partly_paid"
        else:
            status = "due"
        earlier = self.pending.get((fold.loan_id, inst.k))
        planned = earlier[3:5] if earlier is not None and earlier[0] != CANCELLED else [None, None]
        return [
            str(fold.loan_id), inst.k, inst.due_date.isoformat(), *planned,
            to_fen(inst.principal), to_fen(interest), to_fen(penalty),
            to_fen(charges_paid), to_fen(inst.interest_paid), to_fen(inst.principal_paid),
            to_fen(paid),
            to_fen(inst.penalty_waived + inst.compound_waived + inst.interest_waived),
            _iso(inst.last_paid_on), _iso(inst.overdue_from),
            _iso(inst.settled_on), status,
        ]  # fmt: skip

    def write(self, c: Cursor) -> None:
        """Rows planned in this batch are written whole; rows planned by an earlier batch keep
        the plan stored with them; cancelled rows only change status."""
        whole: list[list[Any]] = []
        actual: list[list[Any]] = []
        cancelled: list[list[Any]] = []
        for key, (fold, inst) in self.touched.items():
            self.pending[key] = self._fixed(fold, inst)
        self.touched.clear()
        for row in self.pending.values():
            if row[0] == CANCELLED:
                cancelled.append([row[3], row[1], row[2]])
            elif row[3] is not None:
                whole.append(row)
            else:
                actual.append(row)
        self.pending.clear()
        keep_plan = [n for n in COLUMNS[2:] if not n.startswith("planned_")]
        c.executemany(upsert(self.t, COLUMNS, ("loan_id", "k")), whole)
        c.executemany(
            f"UPDATE {self.t} SET {', '.join(f'{n} = ?' for n in keep_plan)} "
            "WHERE loan_id = ? AND k = ?",
            [[row[2], *row[5:], row[0], row[1]] for row in actual],
        )
        c.executemany(
            f"UPDATE {self.t} SET status = ? WHERE loan_id = ? AND k = ? AND principal IS NULL",
            cancelled,
        )

    def read(self, loan_id: UUID) -> list[dict[str, Any]]:
        rows = self.sql.query(
            f"SELECT {', '.join(COLUMNS)} FROM {self.t} WHERE loan_id = ? ORDER BY k",
            [str(loan_id)],
        )
        if not rows:
            self.refuse_quarantined(loan_id)
        return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


def shown(row: dict[str, Any]) -> dict[str, Any]:
    """A schedule row as ``ledger loan schedule`` prints it: the fixed amounts once the
    installment fell due, the plan before (``"estimated": true``)."""
    fixed = row["principal"] is not None
    result: dict[str, Any] = {
        "k": row["k"],
        "due_date": row["due_date"],
        "principal": _money(row["principal"] if fixed else row["planned_principal"]),
        "interest": _money(row["interest"] if fixed else row["planned_interest"]),
        "penalty": _money(row["penalty"]),
        "paid": _money(row["paid_total"]),
        "status": row["status"],
        "estimated": not fixed,
        "planned_principal": _money(row["planned_principal"]),
        "planned_interest": _money(row["planned_interest"]),
        "paid_penalty": _money(row["paid_penalty"]),
        "paid_interest": _money(row["paid_interest"]),
        "paid_principal": _money(row["paid_principal"]),
        "waived": _money(row["waived"]),
        "last_paid_on": row["last_paid_on"],
        "overdue_from": row["overdue_from"],
        "settled_on": row["settled_on"],
    }
    return result


def _money(fen: int | None) -> str | None:
    amount = from_fen(fen)
    return fmt(amount) if amount is not None else None
