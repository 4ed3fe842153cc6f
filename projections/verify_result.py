"""What ``ledger audit verify --projections`` reports (:mod:`projections.verify`): each
difference, the loans not compared in full (behind the log, quarantined), and the portfolio's
current totals against the recomputed balances."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

TOTALS = (
    "loans_active",
    "loans_overdue",
    "loans_closed",
    "principal_outstanding",
    "overdue_amount",
)
TOTAL_TABLE = "ledger_portfolio_segments (current, summed)"


@dataclass(frozen=True)
class Difference:
    """A stored value that is not what the events give. ``loan_id`` is the loan's id as the
    tables hold it, ``loan`` its reference; ``column`` ``(row)``: a row only one side has."""

    projection: str
    loan_id: str
    loan: str
    table: str
    row: str
    column: str
    stored: Any
    recomputed: Any

    def as_dict(self) -> dict[str, Any]:
        return {
            "projection": self.projection,
            "loan_id": self.loan,
            "uuid": self.loan_id,
            "table": self.table,
            "row": self.row,
            "column": self.column,
            "stored": self.stored,
            "recomputed": self.recomputed,
        }


@dataclass(frozen=True)
class LoanNote:
    """A loan a projection was not compared on in full: behind the log, or quarantined."""

    projection: str
    loan_id: str
    loan: str
    folded_version: int = 0  # its last event at or before the projection's position
    latest_version: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "projection": self.projection,
            "loan_id": self.loan,
            "uuid": self.loan_id,
            "folded_version": self.folded_version,
            "latest_version": self.latest_version,
        }


class Totals:
    """Sums over the loans both balances and portfolio were compared on in full: the stored
    current portfolio segments and the recomputed balances rows (amounts in fen)."""

    def __init__(self) -> None:
        self.loans = 0
        self.stored: Counter[str] = Counter()
        self.recomputed: Counter[str] = Counter()

    def add(self, balances: list[dict[str, Any]], segments: list[dict[str, Any]]) -> None:
        """One loan: its recomputed balances row, its stored segments."""
        self.loans += 1
        current = [s for s in segments if s["valid_to"] is None]
        for side, rows in ((self.recomputed, balances), (self.stored, current)):
            for row in rows:
                side[f"loans_{row['status']}"] += 1
                side["principal_outstanding"] += int(row["principal_outstanding"] or 0)
                side["overdue_amount"] += int(row["overdue_amount"] or 0)

    def differences(self) -> list[Difference]:
        label = f"(sum over {self.loans} loans)"
        return [
            Difference("portfolio", "", label, TOTAL_TABLE, "current", k, stored, recomputed)
            for k in TOTALS
            if (stored := self.stored[k]) != (recomputed := self.recomputed[k])
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "loans_compared": self.loans,
            "stored": {k: self.stored[k] for k in TOTALS},
            "recomputed_from_balances": {k: self.recomputed[k] for k in TOTALS},
        }


@dataclass
class ProjectionsCheck:
    """What ``ledger audit verify --projections`` found (``clean``: no difference)."""

    loans: int
    sample: dict[str, int] | None = None  # size, of (loans in the book), seed
    status: list[dict[str, Any]] = field(default_factory=list)  # each projection's position
    differences: list[Difference] = field(default_factory=list)
    behind: list[LoanNote] = field(default_factory=list)
    quarantined: list[LoanNote] = field(default_factory=list)
    rebuilding: set[str] = field(default_factory=set)
    totals: Totals = field(default_factory=Totals)
    repaired: list[dict[str, str]] | None = None  # with --repair: (projection, loan) rewritten
    after_repair: ProjectionsCheck | None = None  # the repaired loans verified again

    @property
    def clean(self) -> bool:
        return not self.differences

    def dirty_loans(self) -> set[str]:
        return {d.loan_id for d in self.differences if d.table != TOTAL_TABLE}

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "clean": self.clean,
            "loans": self.loans,
            "sample": self.sample,
            "projections": self.status,
            "differences": [d.as_dict() for d in self.differences],
            "behind": [b.as_dict() for b in self.behind],
            "quarantined": [q.as_dict() for q in self.quarantined],
            "rebuilding": sorted(self.rebuilding),
            "portfolio_totals": self.totals.as_dict(),
            "amounts": "whole fen, as stored",
        }
        if self.repaired is not None:
            after = self.after_repair
            result["repaired"] = self.repaired
            result["clean_after_repair"] = after is None or after.clean
            if after is not None and not after.clean:
                result["differences_after_repair"] = [d.as_dict() for d in after.differences]
        return result
