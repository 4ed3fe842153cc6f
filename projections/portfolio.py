"""Portfolio: totals by product and status, and delinquency buckets, as of any business day.

Each loan's portfolio-relevant state (status, the first overdue day of its oldest overdue
installment, principal outstanding, overdue amount) is kept as **segments**: a row holds the
state from the business day it took effect (``valid_from``) until the day another one did
(``valid_to``, exclusive; ``NULL`` while current). So the portfolio as of day ``D`` is one
query over the segments valid on ``D``, and days past due on ``D`` are
``D - overdue_since + 1`` (loan-rules section 6), whatever day it is asked for.

Buckets by days past due: ``current`` (open and not overdue), ``1-30``, ``31-60``, ``61-90``,
``90+``. Amounts in fen in the table.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ledger.adapters.sql import Cursor
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO, fmt
from ledger.domain.state import CLOSED
from ledger.domain.write_off import WRITTEN_OFF
from projections.balances import from_fen, to_fen
from projections.base import upsert
from projections.facts import Fact
from projections.loan_fold import LoanFold
from projections.loan_projection import LoanProjection

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
COLUMNS = (
    "loan_id",
    "valid_from",
    "valid_to",
    "product",
    "status",
    "overdue_since",
    "principal_outstanding",
    "overdue_amount",
)


def bucket_of(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "90+"


class Portfolio(LoanProjection):
    name = "portfolio"
    schema = 2  # 2: folds are LoanState
    description = "loan states over time: totals by product and status, delinquency buckets"

    def __init__(self, sql: Any, cache_size: int = 50_000) -> None:
        super().__init__(sql, cache_size)
        self.t = sql.table("ledger_portfolio_segments")
        self.t_days = sql.table("ledger_portfolio_days")
        self.pending: dict[tuple[str, str], list[Any]] = {}
        self.last_day: date | None = None

    def create(self, c: Cursor) -> None:
        self.create_folds(c)
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t} (loan_id TEXT NOT NULL, "
            "valid_from TEXT NOT NULL, valid_to TEXT, product TEXT NOT NULL, "
            "status TEXT NOT NULL, overdue_since TEXT, principal_outstanding BIGINT NOT NULL, "
            "overdue_amount BIGINT NOT NULL, PRIMARY KEY (loan_id, valid_from))"
        )
        c.execute(
            f"CREATE INDEX IF NOT EXISTS ledger_portfolio_segments_days "
            f"ON {self.t} (valid_from, valid_to)"
        )
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t_days} (name TEXT PRIMARY KEY, day TEXT NOT NULL)"
        )

    def tables(self) -> list[tuple[str, str]]:
        return [(self.t, "loan_id, valid_from"), (self.t_days, "name"), *self.fold_tables()]

    def loan_tables(self) -> list[str]:
        return [self.t, self.t_folds]  # the last business day is the book's, not a loan's

    def forget(self) -> None:
        super().forget()
        self.pending.clear()
        self.last_day = None

    def after(self, fold: LoanFold, fact: Fact) -> None:
        on = fact.on.isoformat()
        since = fold.overdue_since
        state = [
            fold.product,
            fold.loan_status,
            since.isoformat() if since else None,
            to_fen(fold.principal_outstanding),
            to_fen(fold.overdue_amount),
        ]
        current = fold.extra.get("segment")  # [valid_from, *state]
        if current is not None and current[1:] == state:
            return
        loan_id = str(fold.loan_id)
        if current is not None and current[0] != on:
            self._put(loan_id, current[0], on, current[1:])  # the old state ends today
        fold.extra["segment"] = [on, *state]
        self._put(loan_id, on, None, state)

    def _put(self, loan_id: str, start: str, end: str | None, state: list[Any]) -> None:
        self.pending[(loan_id, start)] = [loan_id, start, end, *state]

    def apply(self, facts: list[Fact], c: Cursor) -> None:
        for fact in facts:  # the last business day the book has run
            # a day's end (a written-off loan has none after: its write-off's day counts)
            if isinstance(fact.event, (Loan.InterestAccrued, Loan.WrittenOff)) and (
                self.last_day is None or fact.on > self.last_day
            ):
                self.last_day = fact.on
        super().apply(facts, c)

    def write(self, c: Cursor) -> None:
        c.executemany(
            upsert(self.t, COLUMNS, ("loan_id", "valid_from")),
            list(self.pending.values()),
        )
        self.pending.clear()
        if self.last_day is not None:
            c.execute(
                f"INSERT INTO {self.t_days} (name, day) VALUES ('last_business_day', ?) "
                f"ON CONFLICT (name) DO UPDATE SET day = excluded.day "
                f"WHERE excluded.day > {self.t_days}.day",
                [self.last_day.isoformat()],
            )

    def last_business_day(self) -> date | None:
        rows = self.sql.query(f"SELECT day FROM {self.t_days} WHERE name = 'last_business_day'")
        return date.fromisoformat(rows[0][0]) if rows else None

    def report(self, as_of: date | None = None) -> dict[str, Any]:
        """The portfolio at the end of business day ``as_of`` (default: the last one run)."""
        day = as_of or self.last_business_day()
        if day is None:
            return {
                "as_of": None,
                "loans": 0,
                "open_loans": 0,
                "principal_outstanding": "0.00",
                "overdue_amount": "0.00",
                "by_product": [],
                "buckets": _empty_buckets(),
            }
        rows = self.sql.query(
            "SELECT product, status, overdue_since, COUNT(*) AS loans, "
            "SUM(principal_outstanding) AS principal, SUM(overdue_amount) AS overdue "
            f"FROM {self.t} WHERE valid_from <= ? "
            "AND (valid_to IS NULL OR valid_to > ?) GROUP BY product, status, overdue_since",
            [day.isoformat(), day.isoformat()],
        )
        by_product: dict[tuple[str, str], list[int]] = {}
        buckets = {b: [0, 0, 0] for b in BUCKETS}
        for product, status, since, count, principal, overdue in rows:
            totals = by_product.setdefault((product, status), [0, 0, 0])
            totals[0] += int(count)
            totals[1] += int(principal)
            totals[2] += int(overdue)
            if status in (CLOSED, WRITTEN_OFF):  # section 14: a written-off loan is counted
                continue  # apart (by product and status), never in the open book's buckets
            dpd = (day - date.fromisoformat(since)).days + 1 if since else 0
            b = buckets[bucket_of(dpd)]
            b[0] += int(count)
            b[1] += int(principal)
            b[2] += int(overdue)
        open_principal = sum((v[1] for v in buckets.values()), 0)
        return {
            "as_of": day.isoformat(),
            "loans": sum(v[0] for v in by_product.values()),
            "open_loans": sum(v[0] for v in buckets.values()),
            "principal_outstanding": _money(open_principal),
            "overdue_amount": _money(sum((v[2] for v in buckets.values()), 0)),
            "by_product": [
                {
                    "product": product,
                    "status": status,
                    "loans": v[0],
                    "principal_outstanding": _money(v[1]),
                    "overdue_amount": _money(v[2]),
                }
                for (product, status), v in sorted(by_product.items())
            ],
            "buckets": [
                {
                    "bucket": name,
                    "loans": v[0],
                    "principal_outstanding": _money(v[1]),
                    "overdue_amount": _money(v[2]),
                    "share_of_principal": _share(v[1], open_principal),
                }
                for name, v in buckets.items()
            ],
        }


def _money(fen: int) -> str:
    amount = from_fen(fen)
    return fmt(amount if amount is not None else ZERO)


def _share(part: int, whole: int) -> str:
    if whole == 0:
        return "0.0000"
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def _empty_buckets() -> list[dict[str, Any]]:
    return [
        {
            "bucket": b,
            "loans": 0,
            "principal_outstanding": "0.00",
            "overdue_amount": "0.00",
            "share_of_principal": "0.0000",
        }
        for b in BUCKETS
    ]
