"""Read models built only from the loan events, each with its own position in the log.

``balances``, ``schedule``, ``statements``, ``portfolio`` and ``journal`` live in tables of
the ledger's own database (SQLite or PostgreSQL). :class:`Projections` creates them, catches
them up,
rebuilds them from the first event and reports how far behind they are, and which loans each
one has quarantined (a loan whose events it cannot apply: see :mod:`projections.quarantine`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from ledger.adapters.quarantine import Quarantine, QuarantinedLoan
from ledger.adapters.sql import Sql
from ledger.domain.errors import LedgerError, Quarantined
from projections.balances import Balances
from projections.base import (
    DEFAULT_CACHE,
    DEFAULT_PAGE,
    REBUILDING,
    ProgressCallback,
    Projector,
)
from projections.journal import Journal
from projections.loan_projection import LoanProjection
from projections.portfolio import Portfolio
from projections.quarantine import release
from projections.schedule import Schedule
from projections.statements import Statements

PROJECTIONS: dict[str, type[LoanProjection]] = {
    p.name: p for p in (Balances, Schedule, Statements, Portfolio, Journal)
}
NAMES = tuple(PROJECTIONS)
P = TypeVar("P", bound=LoanProjection)


@dataclass(frozen=True)
class ProjectionStatus:
    """Where a projection is in the log. ``lag`` counts the loan events still to apply: the
    events of quarantined loans it passed over are not lag (they are ``skipped``)."""

    name: str
    description: str
    position: int
    head: int
    lag: int
    quarantined: tuple[str, ...] = ()  # the ids of the loans it set apart
    skipped: int = 0  # events of those loans passed over after the one that failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "position": self.position,
            "head": self.head,
            "lag": self.lag,
            "up_to_date": self.lag == 0,
            "rebuilding": self.position == REBUILDING,
            "quarantined": len(self.quarantined),
            "quarantined_loans": list(self.quarantined),
            "skipped": self.skipped,
        }


class Projections:
    """Every projection of one ledger store, with its projector."""

    def __init__(
        self, app: Any, *, page: int = DEFAULT_PAGE, cache_size: int = DEFAULT_CACHE
    ) -> None:
        self.app = app
        sql = Sql(app)
        self.quarantine = Quarantine(sql)
        self.projectors: dict[str, Projector] = {}
        for name, cls in PROJECTIONS.items():
            self.projectors[name] = Projector(app, cls(sql, cache_size), page=page)
        with sql.ddl() as c:
            for projector in self.projectors.values():
                projector.create(c)

    def select(self, names: Sequence[str] | None = None) -> list[Projector]:
        if not names:
            return list(self.projectors.values())
        unknown = [n for n in names if n not in self.projectors]
        if unknown:
            raise LedgerError(
                f"unknown projection {', '.join(unknown)} (known: {', '.join(NAMES)})"
            )
        return [self.projectors[n] for n in names]

    def _projection(self, name: str, cls: type[P]) -> P:
        projection = self.projectors[name].projection
        assert isinstance(projection, cls)
        return projection

    @property
    def balances(self) -> Balances:
        return self._projection("balances", Balances)

    @property
    def schedule(self) -> Schedule:
        return self._projection("schedule", Schedule)

    @property
    def statements(self) -> Statements:
        return self._projection("statements", Statements)

    @property
    def portfolio(self) -> Portfolio:
        return self._projection("portfolio", Portfolio)

    @property
    def journal(self) -> Journal:
        return self._projection("journal", Journal)

    def catch_up(
        self,
        names: Sequence[str] | None = None,
        *,
        progress: ProgressCallback | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> dict[str, int]:
        return {p.name: p.catch_up(progress=progress, stop=stop) for p in self.select(names)}

    def rebuild(
        self, names: Sequence[str] | None = None, *, progress: ProgressCallback | None = None
    ) -> dict[str, int]:
        return {p.name: p.rebuild(progress=progress) for p in self.select(names)}

    def status(self, names: Sequence[str] | None = None) -> list[ProjectionStatus]:
        held = self.quarantined()
        result = []
        for p in self.select(names):
            position = p.position()
            mine = [q for q in held if q.projection == p.name]
            result.append(
                ProjectionStatus(
                    p.name,
                    p.projection.description,
                    position,
                    p.head(),
                    p.lag(position),
                    tuple(str(q.loan_id) for q in mine),
                    sum(q.skipped for q in mine),
                )
            )
        return result

    def quarantined(self) -> list[QuarantinedLoan]:
        """Every loan some projection set apart, with the event it could not apply."""
        return self.quarantine.all()

    def release(
        self, loan_id: UUID, names: Sequence[str] | None = None, *, label: str | None = None
    ) -> dict[str, int]:
        """Take the loan out of quarantine in ``names`` (default: wherever it is) and build
        its rows from its events; return the events applied per projection. A projection in
        which its events still fail keeps it quarantined: :class:`Quarantined` names them
        (after the others were released)."""
        name = label or str(loan_id)
        held = {q.projection for q in self.quarantined() if q.loan_id == loan_id}
        targets = [p for p in self.select(names) if p.name in held]
        if not targets:
            where = f" in {', '.join(names)}" if names else ""
            raise LedgerError(f"loan {name} is not quarantined{where}")
        released: dict[str, int] = {}
        refused: list[str] = []
        for projector in targets:
            try:
                released[projector.name] = release(projector, loan_id, name)
            except Quarantined as error:
                refused.append(str(error))
        if refused:
            done = f" (released from {', '.join(released)})" if released else ""
            raise Quarantined("; ".join(refused) + done)
        return released


__all__ = ["NAMES", "PROJECTIONS", "ProjectionStatus", "Projections"]
