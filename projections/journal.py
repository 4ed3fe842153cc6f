"""The journal: each loan event's double-entry postings (docs/accounting.md), derived by
:func:`ledger.domain.accounting.postings` from the loan's positions before and after the event,
on the same fold every other projection uses.

One row per posting line: the loan, the event's version and class, its business date, the
loan's product, the account's key (named by the chart of accounts when read, so a renamed
account needs no rebuild), the amount in fen (positive a debit, negative a credit) and the rule.
Exactly once and rebuildable like the other projections: the rows are written in the same
transaction as the projection's position.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from ledger.adapters.sql import Cursor
from ledger.domain.accounting import Positions, event_rule, positions_of, postings
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO
from projections.balances import to_fen
from projections.facts import Fact
from projections.loan_fold import LoanFold
from projections.loan_projection import LoanProjection

COLUMNS = (
    "loan_id",
    "version",
    "line",
    "on_date",
    "product",
    "event",
    "account",
    "amount",
    "rule",
)


class Journal(LoanProjection):
    name = "journal"
    schema = 1
    description = "double-entry postings of every loan event (accrual basis)"

    def __init__(self, sql: Any, cache_size: int = 50_000) -> None:
        super().__init__(sql, cache_size)
        self.t = sql.table("ledger_journal")
        self.pending: list[list[Any]] = []
        self.was: Positions | None = None

    def create(self, c: Cursor) -> None:
        self.create_folds(c)
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t} (loan_id TEXT NOT NULL, "
            "version INTEGER NOT NULL, line INTEGER NOT NULL, on_date TEXT NOT NULL, "
            "product TEXT NOT NULL, event TEXT NOT NULL, account TEXT NOT NULL, "
            "amount BIGINT NOT NULL, rule TEXT NOT NULL, PRIMARY KEY (loan_id, version, line))"
        )
        c.execute(f"CREATE INDEX IF NOT EXISTS ledger_journal_days ON {self.t} (on_date)")

    def tables(self) -> list[tuple[str, str]]:
        return [(self.t, "loan_id, version, line"), *self.fold_tables()]

    def forget(self) -> None:
        super().forget()
        self.pending.clear()
        self.was = None

    def before(self, fold: LoanFold, fact: Fact) -> None:
        self.was = positions_of(fold)

    def after(self, fold: LoanFold, fact: Fact) -> None:
        event = fact.event
        disbursed = event.terms["principal"] if isinstance(event, Loan.Disbursed) else ZERO
        before = None if isinstance(event, Loan.Disbursed) else self.was
        lines = postings(before, positions_of(fold), disbursed)
        self.was = None
        rule = event_rule(event)
        for number, posting in enumerate(lines, start=1):
            self.pending.append(
                [str(fold.loan_id), fact.version, number, fact.on.isoformat(), fold.product,
                 type(event).__name__, posting.account, to_fen(posting.amount), rule]
            )  # fmt: skip

    def write(self, c: Cursor) -> None:
        rows, self.pending = self.pending, []
        if rows:
            marks = ", ".join("?" * len(COLUMNS))
            c.executemany(f"INSERT INTO {self.t} ({', '.join(COLUMNS)}) VALUES ({marks})", rows)

    # ------------------------------------------------------------------ reads

    def of_loan(self, loan_id: UUID) -> list[dict[str, Any]]:
        """A loan's postings, in event and line order."""
        rows = self.sql.query(
            f"SELECT {', '.join(COLUMNS)} FROM {self.t} WHERE loan_id = ? ORDER BY version, line",
            [str(loan_id)],
        )
        if not rows:
            self.refuse_quarantined(loan_id)
        return [dict(zip(COLUMNS, r, strict=True)) for r in rows]

    def totals(self, as_of: date | None = None, *, by_product: bool = False) -> list[Any]:
        """(product or "", account, debits, credits) in fen, over postings dated up to
        ``as_of`` (all without it)."""
        group = "product, account" if by_product else "account"
        where, args = ("WHERE on_date <= ?", [as_of.isoformat()]) if as_of else ("", [])
        rows = self.sql.query(
            f"SELECT {group}, "
            "SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END) AS debits, "
            "SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END) AS credits "
            f"FROM {self.t} {where} GROUP BY {group} ORDER BY {group}",
            args,
        )
        return [tuple(r) if by_product else ("", *r) for r in rows]

    def loan_totals(self, accounts: list[str], as_of: date | None = None) -> dict[str, Any]:
        """Per loan, the balance in fen of each of ``accounts`` (postings up to ``as_of``)."""
        marks = ", ".join("?" * len(accounts))
        where = f"account IN ({marks})" + (" AND on_date <= ?" if as_of else "")
        args: list[Any] = [*accounts, *([as_of.isoformat()] if as_of else [])]
        result: dict[str, dict[str, int]] = {}
        for loan_id, account, amount in self.sql.query(
            f"SELECT loan_id, account, SUM(amount) AS total FROM {self.t} WHERE {where} "
            "GROUP BY loan_id, account",
            args,
        ):
            result.setdefault(str(loan_id), {})[str(account)] = int(amount)
        return result
