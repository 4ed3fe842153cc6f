"""The book's loans, a page at a time: ``GET /loans``, ``ledger loan list`` and the portfolio page.

Reads the balances projection's rows (one per loan, current figures), filtered by status,
product and days past due, ordered by reference then id. Paging is by key, not offset: a page
ends with ``next_after``, the last row's ``reference|loan_id``; passing it back as ``after``
gives the next page, stable while loans are added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from projections.balances import COLUMNS, Balances

STATUSES = ("active", "overdue", "closed", "written_off")  # written_off: section 14
MAX_PAGE = 500
DEFAULT_PAGE = 50


@dataclass(frozen=True)
class LoanFilter:
    """Which loans: ``status`` and ``product`` exactly; ``min_days_past_due`` at least."""

    status: str | None = None
    product: str | None = None
    min_days_past_due: int | None = None

    def where(self) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.status is not None:
            clauses.append("status = ?")
            params.append(self.status)
        if self.product is not None:
            clauses.append("product = ?")
            params.append(self.product)
        if self.min_days_past_due is not None:
            clauses.append("COALESCE(days_past_due, 0) >= ?")
            params.append(self.min_days_past_due)
        return clauses, params


@dataclass(frozen=True)
class LoanPage:
    """Rows of the balances projection (amounts in fen), how many match, and the next key."""

    rows: list[dict[str, Any]]
    total: int
    next_after: str | None


def cursor_of(row: dict[str, Any]) -> str:
    return f"{row['reference'] or ''}|{row['loan_id']}"


def list_loans(
    balances: Balances,
    which: LoanFilter = LoanFilter(),
    *,
    after: str | None = None,
    limit: int = DEFAULT_PAGE,
) -> LoanPage:
    """A page of at most ``limit`` loans matching ``which``, after the key ``after``."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be 1 to {MAX_PAGE}, not {limit}")
    clauses, params = which.where()
    t = balances.t
    where = " AND ".join(clauses) or "1 = 1"
    total = int(balances.sql.query(f"SELECT COUNT(*) FROM {t} WHERE {where}", params)[0][0])
    page_clauses, page_params = list(clauses), list(params)
    if after:
        reference, sep, loan_id = after.rpartition("|")
        if not sep:
            raise ValueError(f"after {after!r} is not a key from a previous page")
        page_clauses.append(
            "(COALESCE(reference, '') > ? OR (COALESCE(reference, '') = ? AND loan_id > ?))"
        )
        page_params += [reference, reference, loan_id]
    names = ", ".join(COLUMNS)
    found = balances.sql.query(
        f"SELECT {names} FROM {t} WHERE {' AND '.join(page_clauses) or '1 = 1'} "
        f"ORDER BY COALESCE(reference, ''), loan_id LIMIT ?",
        [*page_params, limit + 1],
    )
    rows = [dict(zip(COLUMNS, r, strict=True)) for r in found]
    more = len(rows) > limit
    rows = rows[:limit]
    return LoanPage(rows, total, cursor_of(rows[-1]) if more and rows else None)
