"""The projections computed from each loan's fold: balances, schedule, statements, portfolio."""

from __future__ import annotations

import json
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Iterable
from uuid import UUID

from ledger.adapters.sql import Cursor, Sql
from ledger.domain.loan import Loan
from projections.base import DEFAULT_CACHE, Projection
from projections.facts import Fact
from projections.loan_fold import LoanFold


class LoanProjection(Projection):
    """A projection computed from each loan's :class:`LoanFold`.

    Folds are kept in a table of the projection's own (so it can be rebuilt alone) and in a
    bounded in-memory cache; the cache is only trusted while this process holds the position
    (any failed batch clears it). Subclasses implement :meth:`before` / :meth:`after` to
    collect row writes per fact, and :meth:`write` to flush them."""

    def __init__(self, sql: Sql, cache_size: int = DEFAULT_CACHE) -> None:
        super().__init__(sql)
        self.t_folds = sql.table(f"ledger_{self.name}_folds")
        self.cache: OrderedDict[UUID, LoanFold] = OrderedDict()
        self.cache_size = cache_size

    def create_folds(self, c: Cursor) -> None:
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self.t_folds} "
            "(loan_id TEXT PRIMARY KEY, version INTEGER NOT NULL, state TEXT NOT NULL)"
        )

    def fold_tables(self) -> list[tuple[str, str]]:
        return [(self.t_folds, "loan_id")]

    def forget(self) -> None:
        self.cache.clear()

    def remove(self, loan_id: UUID, c: Cursor) -> None:
        super().remove(loan_id, c)
        self.cache.pop(loan_id, None)

    def reference_of(self, loan_id: UUID, c: Cursor) -> str | None:
        """The reference in the loan's stored fold (``None`` if none, or if it cannot be read:
        it only names the loan in messages)."""
        c.execute(f"SELECT state FROM {self.t_folds} WHERE loan_id = ?", [str(loan_id)])
        rows = c.fetchall()
        try:
            reference = json.loads(rows[0][0]).get("reference") if rows else None
        except (ValueError, AttributeError):
            return None
        return str(reference) if reference else None

    def _load(self, loan_ids: Iterable[UUID], c: Cursor) -> None:
        missing = [str(i) for i in loan_ids if i not in self.cache]
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            marks = ",".join("?" * len(chunk))
            c.execute(f"SELECT state FROM {self.t_folds} WHERE loan_id IN ({marks})", chunk)
            for (state,) in c.fetchall():
                fold = LoanFold.from_json(state)
                self.cache[fold.loan_id] = fold

    def apply(self, facts: list[Fact], c: Cursor) -> None:
        opened = {f.loan_id for f in facts if isinstance(f.event, Loan.Disbursed)}
        self._load({f.loan_id for f in facts} - opened, c)
        dirty: dict[UUID, LoanFold] = {}
        for fact in facts:
            fold = self.cache.get(fact.loan_id)
            if isinstance(fact.event, Loan.Disbursed):
                if fold is not None:
                    raise ValueError(f"loan {fact.loan_id} disbursed twice (event {fact.position})")
                fold = LoanFold.disbursed(fact)
                self.cache[fact.loan_id] = fold
                self.after(fold, fact)
            else:
                if fold is None:
                    raise ValueError(
                        f"loan {fact.loan_id}: {fact.kind} (event {fact.position}) before its "
                        "Disbursed event"
                    )
                self.before(fold, fact)
                fold.apply(fact)
                self.after(fold, fact)
            dirty[fact.loan_id] = fold
        self.write(c)
        c.upsert_rows(
            self.t_folds,
            (("loan_id", "text"), ("version", "bigint"), ("state", "text")),
            "loan_id",
            [(str(i), f.version, f.to_json()) for i, f in dirty.items()],
        )
        for loan_id in dirty:
            self.cache.move_to_end(loan_id)
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)

    def before(self, fold: LoanFold, fact: Fact) -> None:
        """Called before ``fact`` moves ``fold`` (not for ``Disbursed``)."""

    @abstractmethod
    def after(self, fold: LoanFold, fact: Fact) -> None:
        """Called once ``fact`` has moved ``fold``: record the rows to write."""

    @abstractmethod
    def write(self, c: Cursor) -> None:
        """Write the rows recorded since the last call, and forget them."""
