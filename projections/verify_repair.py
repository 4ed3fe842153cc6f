"""``ledger audit verify --projections --repair``: rewrite the rows found different.

For each (projection, loan) that :func:`projections.verify.verify_projections` found
different, the loan's rows (its fold too) are deleted and built again from its events up to
the projection's position, by the projection itself, in **one transaction holding that
position** (the compare-and-set of the position to itself, as ``ledger projections release``
does): no batch is applied meanwhile and no event twice. Rows of loans that have no events
are deleted. A loan quarantined meanwhile is left alone. Then the same loans are verified
again.

A projector running in another process keeps the folds it has cached; one that had read a
tampered fold from the table keeps it until it restarts or loses the position to another
projector. Stop the projectors first, or rebuild the projection
(``ledger projections rebuild NAME``), to be certain.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.adapters.config import one_line
from ledger.domain.errors import Busy, LedgerError
from projections import Projections
from projections.base import REBUILDING, PositionMoved, Projector
from projections.quarantine import is_loan_error, read_facts
from projections.verify import check_loans
from projections.verify_result import TOTAL_TABLE, ProjectionsCheck

ATTEMPTS = 5


def repair(projections: Projections, check: ProjectionsCheck) -> ProjectionsCheck:
    """Rewrite every (projection, loan) of ``check``'s differences from the events; record
    what was rewritten in ``check.repaired`` and the loans verified again in
    ``check.after_repair``; return ``check``."""
    targets = sorted(
        {(d.projection, d.loan_id) for d in check.differences if d.table != TOTAL_TABLE}
    )
    labels = {d.loan_id: d.loan for d in check.differences}
    check.repaired = []
    keys: dict[str, Any] = {}
    for name, loan_id in targets:
        projector = projections.select([name])[0]
        if rewrite(projector, loan_id):
            check.repaired.append({"projection": name, "loan_id": labels[loan_id], "uuid": loan_id})
        key = _event_key(projector, loan_id)
        if key is not None:
            keys[loan_id] = key
    check.after_repair = check_loans(projections, sorted(keys.values()))
    return check


def _event_key(projector: Projector, loan_id: str) -> Any:
    """The loan's id as the events table holds it (``None``: not a loan id at all)."""
    try:
        uuid = UUID(loan_id)
    except ValueError:
        return None
    return uuid if projector.sql.is_postgres else uuid.hex


def rewrite(projector: Projector, loan_id: str) -> bool:
    """Delete the loan's rows from the projection and build them again from its events up to
    the projection's position, holding that position; ``False`` if it is quarantined there."""
    projection = projector.projection
    for _ in range(ATTEMPTS):
        position = projector.position()
        if position == REBUILDING:
            raise LedgerError(f"projection {projector.name} is being rebuilt: repair it later")
        key = _event_key(projector, loan_id)
        rows = projector.loan_rows([key]) if key is not None else []
        facts, broken = read_facts(r for r in rows if int(r[0]) <= position)
        if broken:
            raise LedgerError(
                f"loan {loan_id}: event {broken[0].version} cannot be read ({broken[0].error}); "
                "its rows were not repaired"
            )
        try:
            with projector.sql.transaction() as c:
                projector.move(c, position, position)
                if key is not None and UUID(loan_id) in projection.quarantine.held(
                    c, projector.name
                ):
                    return False
                for table in projection.loan_tables():
                    c.execute(f"DELETE FROM {table} WHERE loan_id = ?", [loan_id])
                projection.forget()
                if facts:
                    projection.apply(facts, c)
            return True
        except PositionMoved:
            continue  # a batch was applied in between: read the loan's events again
        except Exception as error:
            if isinstance(error, LedgerError) or not is_loan_error(error):
                raise
            raise LedgerError(
                f"loan {loan_id}: its events cannot be applied in projection {projector.name} "
                f"({one_line(error)}); its rows were not repaired"
            ) from None
        finally:
            projection.forget()  # its cache may hold the folds just written, or rolled back
    raise Busy(f"projection {projector.name} kept moving; repair again")
