"""Loans a projection sets apart because their events cannot be applied.

One bad event (a date past any calendar, a missing field, a state that does not parse) used to
stop every projection at that event for good, and with them every read of every loan. Now a
projector applies each batch in a savepoint; if it raises, the batch is applied again loan by
loan (each loan in a savepoint of its own), and a loan whose events raise on their own is
**quarantined** by that projection:

- a row in ``ledger_quarantine`` names the projection, the loan and the first event it could
  not apply (log position, version, kind), with a one-line error and when; it is written in
  the transaction that moves the position, so exactly-once still holds;
- the loan's rows (its fold too) are **removed** from the projection's tables: a projection
  holds only loans it can vouch for, so totals (portfolio, loans by status) leave the loan out
  instead of counting a state stopped at some past event, and ``ledger status`` lists it;
- the loan's later events are skipped by that projection (counted in ``skipped``) and the
  position moves past them, so the lag counts only events still to apply;
- reading the loan through the projection raises :class:`~ledger.domain.errors.Quarantined`.

Errors of the store (connection lost, a lock timeout, a statement the database refuses) never
quarantine anything: they roll the batch back as before. Nor does an error the batch raises
but no loan raises on its own: the batch is rolled back and the error raised. A rebuild starts
with an empty quarantine for its projection and sets apart the same loans at the same events.
:func:`release` builds a loan's rows again once its events can be applied (code fixed, or the
stored event repaired).
"""

from __future__ import annotations

import sqlite3
import sys
from collections import Counter
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing import persistence

from ledger.adapters.quarantine import (
    Failure,
    one_line,
)
from ledger.adapters.sql import Cursor
from ledger.domain.errors import Busy, LedgerError, Quarantined
from ledger.domain.loan import Loan
from projections.facts import KIND_OF_TOPIC, Fact, fact_from_row

if TYPE_CHECKING:
    from projections.base import Projection, Projector

RELEASE_ATTEMPTS = 5


def _store_errors() -> tuple[type[BaseException], ...]:
    """Errors of the store or of the code's SQL: retrying may succeed, or every loan would
    fail alike, so they never quarantine a loan."""
    errors: list[type[BaseException]] = [OSError, MemoryError]
    modules: list[Any] = [persistence, sqlite3]
    if "psycopg" in sys.modules:  # only a PostgreSQL store raises its errors
        modules.append(sys.modules["psycopg"])
    for module in modules:
        for name in (
            "OperationalError",
            "InterfaceError",
            "InternalError",
            "ProgrammingError",
            "NotSupportedError",
        ):
            errors.append(getattr(module, name))
    return tuple(errors)


def is_loan_error(error: Exception) -> bool:
    """Whether ``error`` may come from what a loan's events say (and so may quarantine it)."""
    return not isinstance(error, _store_errors())


def _loan_uuid(value: Any) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:  # not a loan id at all: still named, so it can be reported
        return uuid5(NAMESPACE_URL, str(value))


def read_facts(rows: Iterable[tuple[Any, ...]]) -> tuple[list[Fact], list[Failure]]:
    """The facts of event rows ``(position, originator_id, originator_version, topic,
    state)``; a row that cannot be read (its JSON, its business date) is a failure of its
    loan instead."""
    facts: list[Fact] = []
    broken: list[Failure] = []
    for row in rows:
        try:
            fact = fact_from_row(row)
        except Exception as error:
            position, originator, version, topic, _ = row
            kind = KIND_OF_TOPIC.get(topic, str(topic))
            loan_id = _loan_uuid(originator)
            broken.append(Failure(loan_id, int(position), int(version), kind, one_line(error)))
            continue
        if fact is not None:
            facts.append(fact)
    return facts, broken


class Savepoint:
    """``SAVEPOINT``: released on leaving, or rolled back (and the projection's memory
    forgotten) on an exception or after :meth:`discard`."""

    def __init__(self, c: Cursor, projection: Projection) -> None:
        self.c = c
        self.projection = projection
        self.discarded = False

    def __enter__(self) -> Savepoint:
        self.c.execute("SAVEPOINT ledger_projection")
        return self

    def discard(self) -> None:
        self.discarded = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None or self.discarded:
            self.c.execute("ROLLBACK TO SAVEPOINT ledger_projection")
            self.projection.forget()  # its cache may hold folds of what was rolled back
        self.c.execute("RELEASE SAVEPOINT ledger_projection")


def apply_batch(
    projection: Projection, c: Cursor, facts: list[Fact], broken: list[Failure]
) -> None:
    """Apply a batch in ``c``'s transaction: skip the loans already quarantined, quarantine
    those whose events cannot be read or applied, apply every other loan's facts."""
    quarantine = projection.quarantine
    held = quarantine.held(c, projection.name)
    failed: dict[UUID, Failure] = {}
    for failure in sorted(broken, key=lambda f: f.position):
        if failure.loan_id not in held:
            failed.setdefault(failure.loan_id, failure)
    good = [f for f in facts if f.loan_id not in held and f.loan_id not in failed]
    for failure in apply_guarded(projection, good, c):
        failed[failure.loan_id] = failure
    for loan_id, failure in failed.items():
        reference = _reference(projection, loan_id, facts, c)
        projection.remove(loan_id, c)
        quarantine.put(c, projection.name, failure, reference)
    passed = [(f.loan_id, f.position) for f in facts] + [(f.loan_id, f.position) for f in broken]
    quarantine.count_skipped(
        c,
        projection.name,
        Counter(
            loan_id
            for loan_id, position in passed
            if loan_id in held or (loan_id in failed and position > failed[loan_id].position)
        ),
    )


def _reference(projection: Projection, loan_id: UUID, facts: list[Fact], c: Cursor) -> str | None:
    for fact in facts:
        if fact.loan_id == loan_id and isinstance(fact.event, Loan.Disbursed):
            reference = fact.event.reference
            return str(reference) if reference else None
    return projection.reference_of(loan_id, c)


def apply_guarded(projection: Projection, facts: list[Fact], c: Cursor) -> list[Failure]:
    """Apply ``facts``; if that raises, apply them loan by loan and return the loans whose
    facts raise on their own (nothing of theirs is written). Raises what the whole batch
    raised if no loan does, and any error of the store at once."""
    if not facts:
        return []
    try:
        with Savepoint(c, projection):
            projection.apply(facts, c)
        return []
    except Exception as error:
        if not is_loan_error(error):
            raise
        cause = error
    by_loan: dict[UUID, list[Fact]] = {}
    for fact in facts:
        by_loan.setdefault(fact.loan_id, []).append(fact)
    failures = [f for f in (_apply_loan(projection, fs, c) for fs in by_loan.values()) if f]
    if not failures:
        raise cause
    return failures


def _apply_loan(projection: Projection, facts: list[Fact], c: Cursor) -> Failure | None:
    """Apply one loan's facts; or return the first that raises, with nothing written."""
    try:
        with Savepoint(c, projection):
            projection.apply(facts, c)
        return None
    except Exception as error:
        if not is_loan_error(error):
            raise
    # Which event? One at a time (the rows do not depend on where batches end).
    with Savepoint(c, projection) as savepoint:
        for fact in facts:
            try:
                projection.apply([fact], c)
            except Exception as error:
                if not is_loan_error(error):
                    raise
                savepoint.discard()
                return Failure(
                    fact.loan_id, fact.position, fact.version, fact.kind, one_line(error)
                )
    return None  # it fails only with others: applied alone, it is kept


def release(projector: Projector, loan_id: UUID, name: str) -> int:
    """Take the loan out of ``projector``'s quarantine and build its rows from its events up
    to the projection's position, in one transaction holding that position (so no batch is
    applied meanwhile, and no event twice); return how many events were applied. Raises
    :class:`Quarantined` (nothing changed) if they still fail, :class:`LedgerError` if the
    loan is not quarantined there."""
    from projections.base import REBUILDING, PositionMoved

    for _ in range(RELEASE_ATTEMPTS):
        projector.catch_up()  # finishes a rebuild, if one is under way
        position = projector.position()
        if position == REBUILDING:
            raise LedgerError(f"projection {projector.name} is being rebuilt: try again")
        key = loan_id if projector.sql.is_postgres else loan_id.hex  # as each store keeps it
        rows = [r for r in projector.loan_rows([key]) if int(r[0]) <= position]
        facts, broken = read_facts(rows)
        try:
            with projector.sql.transaction() as c:
                projector.move(c, position, position)
                return _release(projector.projection, c, loan_id, name, facts, broken)
        except PositionMoved:
            continue  # a batch was applied in between: read the loan's events again
    raise Busy(f"projection {projector.name} kept moving; release {name} again")


def _release(
    projection: Projection,
    c: Cursor,
    loan_id: UUID,
    name: str,
    facts: list[Fact],
    broken: list[Failure],
) -> int:
    held = projection.quarantine.take(c, projection.name, loan_id)
    if held is None:
        raise LedgerError(f"loan {name} is not quarantined in projection {projection.name}")
    projection.remove(loan_id, c)
    projection.forget()
    failures = broken[:1] or apply_guarded(projection, facts, c)
    if failures:
        f = failures[0]
        raise Quarantined(
            f"loan {name} still fails in projection {projection.name}: its event {f.version} "
            f"({f.kind}, log position {f.position}) cannot be applied ({f.error}); "
            "it stays quarantined"
        )
    return len(facts)
