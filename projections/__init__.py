"""Read models built only from the loan events, each with its own position in the log.

``balances``, ``schedule``, ``statements`` and ``portfolio`` live in tables of the ledger's
own database (SQLite or PostgreSQL). :class:`Projections` creates them, catches them up,
rebuilds them from the first event and reports how far behind they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ledger.domain.errors import LedgerError
from ledger.sql import Sql
from projections.balances import Balances
from projections.base import (
    DEFAULT_CACHE,
    DEFAULT_PAGE,
    REBUILDING,
    LoanProjection,
    ProgressCallback,
    Projector,
)
from projections.portfolio import Portfolio
from projections.schedule import Schedule
from projections.statements import Statements

PROJECTIONS: dict[str, type[LoanProjection]] = {
    p.name: p for p in (Balances, Schedule, Statements, Portfolio)
}
NAMES = tuple(PROJECTIONS)
P = TypeVar("P", bound=LoanProjection)


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    description: str
    position: int
    head: int
    lag: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "position": self.position,
            "head": self.head,
            "lag": self.lag,
            "up_to_date": self.lag == 0,
            "rebuilding": self.position == REBUILDING,
        }


class Projections:
    """Every projection of one ledger store, with its projector."""

    def __init__(
        self, app: Any, *, page: int = DEFAULT_PAGE, cache_size: int = DEFAULT_CACHE
    ) -> None:
        self.app = app
        sql = Sql(app)
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
        result = []
        for p in self.select(names):
            position = p.position()
            result.append(
                ProjectionStatus(
                    p.name, p.projection.description, position, p.head(), p.lag(position)
                )
            )
        return result


__all__ = ["NAMES", "PROJECTIONS", "ProjectionStatus", "Projections"]
