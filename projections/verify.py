"""Verify the stored projections against the events (``ledger audit verify --projections``).

For each loan checked and each projection (``balances``, ``schedule``, ``statements``,
``portfolio``), the loan's events are folded from the first one, in memory, by a fresh
instance of the **same projection class** the projector runs (:mod:`projections.recompute`).
The stored tables are only read. Every table the projection keeps per loan is compared with
the recomputed one, row by row (by the table's key: the loan's one row of ``ledger_balances``,
installment ``k`` of ``ledger_schedule``, ``month`` of ``ledger_statements``, ``valid_from``
of ``ledger_portfolio_segments``) and column by column; the working state each projection
keeps per loan (``ledger_<name>_folds``) too, key by key of its JSON. Each difference names
the projection, the loan, the table, the row, the column, the stored value and the recomputed
one, as stored (amounts in whole fen).

What is **not** a difference:

- a projection **behind** the log: only the loan's events up to the projection's stored
  position are folded (what the projector has applied), so events it has not applied yet are
  not counted against it. The position, the rows and the quarantine are read in one snapshot
  (``REPEATABLE READ`` on PostgreSQL), the events after it. Loans with events past the
  position are listed apart as behind, with the version folded and the latest one;
- a loan the projection **quarantined** (it holds no rows for it): listed apart;
- a projection being **rebuilt**: not compared, and said so.

The portfolio is compared per loan like the others (its segments are each loan's states over
time; every total it reports is a sum over them). Its current totals are also checked against
the balances: the current segments (``valid_to`` NULL) of the checked loans, summed (loans by
status, principal outstanding, overdue amount), against the same sums over the recomputed
balances rows (:class:`~projections.verify_result.Totals`). The book's last business day
(``ledger_portfolio_days``) is not checked.

A run over every loan also reports rows of loans that have no events at all (rows planted in
the tables). :mod:`projections.verify_repair` rewrites the rows of the loans found different.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger.adapters.quarantine import Failure
from ledger.adapters.sql import Cursor, Sql
from ledger.domain.errors import CommandRefused, NotFound
from ledger.domain.loan import Loan
from ledger.services import parsing
from ledger.services.application import loan_id_for
from projections import Projections
from projections.base import REBUILDING
from projections.facts import DISBURSED_TOPIC, LOAN_TOPICS, Fact
from projections.quarantine import read_facts
from projections.recompute import Recomputer, Rows, differing_cells
from projections.verify_result import Difference, LoanNote, ProjectionsCheck

__all__ = ["MAX_SAMPLE", "MAX_SEED", "ProjectionsCheck", "check_loans", "verify_projections"]

PAGE = 200  # loans read and compared per snapshot
MAX_SAMPLE = 100_000_000
MAX_SEED = 999_999_999


def verify_projections(
    projections: Projections,
    *,
    loan: str | None = None,
    sample: int | None = None,
    seed: int | None = None,
    page: int = PAGE,
) -> ProjectionsCheck:
    """Compare every projection's stored rows of the chosen loans (:func:`choose_loans`)
    with the rows recomputed from their events. Writes nothing."""
    keys, drawn = choose_loans(projections, loan=loan, sample=sample, seed=seed)
    check = check_loans(projections, keys, page=page)
    check.sample = drawn
    if loan is None and sample is None:
        check.differences.extend(orphan_rows(projections, {str(_uuid(k)) for k in keys}))
    return check


def _events_table(projections: Projections) -> tuple[Sql, str]:
    sql = Sql(projections.app)
    return sql, sql.table(projections.app.recorder.events_table_name)


def _uuid(key: Any) -> UUID:
    return key if isinstance(key, UUID) else UUID(str(key))


def choose_loans(
    projections: Projections,
    *,
    loan: str | None = None,
    sample: int | None = None,
    seed: int | None = None,
) -> tuple[list[Any], dict[str, int] | None]:
    """The loans to check (ids as the events table holds them): one loan, a random sample,
    or every loan with a ``Disbursed`` event. For a sample also its size, the number of loans
    in the book and the seed (drawn when not given, so the same loans can be drawn again)."""
    if loan is not None and sample is not None:
        raise CommandRefused("give a loan or a sample, not both")
    if seed is not None and sample is None:
        raise CommandRefused("a seed goes with a sample")
    sql, table = _events_table(projections)
    if loan is not None:
        loan_id = loan_id_for(loan)
        found = sql.query(
            f"SELECT originator_id FROM {table} WHERE originator_id = ? "
            f"AND topic IN ({','.join('?' * len(LOAN_TOPICS))}) LIMIT 1",
            [loan_id if sql.is_postgres else loan_id.hex, *LOAN_TOPICS],
        )
        if not found:
            raise NotFound(f"unknown loan {loan}")
        return [found[0][0]], None
    query = f"SELECT originator_id FROM {table} WHERE topic = ?"
    every = sorted(r[0] for r in sql.query(query, [DISBURSED_TOPIC]))
    if sample is None:
        return every, None
    parsing.integer_in_range(sample, "sample", low=1, high=MAX_SAMPLE)
    if seed is None:
        seed = random.SystemRandom().randrange(MAX_SEED + 1)
    parsing.integer_in_range(seed, "seed", low=0, high=MAX_SEED)
    chosen = sorted(random.Random(seed).sample(every, min(sample, len(every))))
    return chosen, {"size": len(chosen), "of": len(every), "seed": seed}


def check_loans(
    projections: Projections, keys: Sequence[Any], *, page: int = PAGE
) -> ProjectionsCheck:
    """Compare the loans ``keys`` (ids as the events table holds them), ``page`` loans per
    snapshot: the snapshot first, then their events (every event the snapshot's positions
    cover was committed before it, so it is read)."""
    check = ProjectionsCheck(len(keys), status=[s.as_dict() for s in projections.status()])
    recomputer = Recomputer()
    reader = projections.select()[0]
    for start in range(0, len(keys), page):
        chunk = keys[start : start + page]
        stored = snapshot(projections, recomputer, [str(_uuid(k)) for k in chunk])
        facts, broken = read_facts(reader.loan_rows(chunk))
        by_loan: dict[UUID, list[Fact]] = defaultdict(list)
        for fact in facts:
            by_loan[fact.loan_id].append(fact)
        first_broken = {b.loan_id: b for b in reversed(broken)}
        for loan_id in map(_uuid, chunk):
            events = Events(loan_id, by_loan[loan_id], first_broken.get(loan_id))
            _check_loan(check, recomputer, stored, events)
    check.differences.extend(check.totals.differences())
    return check


@dataclass
class Stored:
    """One projection as a snapshot saw it: its position, the loans it quarantined, and for
    each table it keeps per loan the rows of the loans read, by loan id."""

    position: int
    held: set[UUID]
    rows: list[dict[str, Rows]]


def snapshot(
    projections: Projections, recomputer: Recomputer, loan_ids: list[str]
) -> dict[str, Stored]:
    """Every projection's position, quarantine and rows of ``loan_ids``, in one read
    transaction (on PostgreSQL ``REPEATABLE READ``: one snapshot for all of them)."""
    sql = Sql(projections.app)
    marks = ",".join("?" * len(loan_ids))
    result: dict[str, Stored] = {}
    with sql.datastore.transaction(commit=False) as curs:
        c = Cursor(curs, sql)
        if sql.is_postgres:
            c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for name, projector in projections.projectors.items():
            c.execute(f"SELECT position FROM {projector.t_pos} WHERE name = ?", [projector.key])
            found = c.fetchall()
            tables = []
            shapes = recomputer.shapes[name]
            for table, shape in zip(projector.projection.loan_tables(), shapes, strict=True):
                c.execute(
                    f"SELECT {', '.join(shape.columns)} FROM {table} WHERE loan_id IN ({marks})",
                    loan_ids,
                )
                rows: dict[str, Rows] = defaultdict(list)
                at = shape.columns.index("loan_id")
                for row in c.fetchall():
                    rows[str(row[at])].append(row)
                tables.append(rows)
            held = projector.projection.quarantine.held(c, name)
            result[name] = Stored(int(found[0][0]) if found else 0, held, tables)
    return result


@dataclass(frozen=True)
class Events:
    """One loan's events as the projections read them, and the first that cannot be read."""

    loan_id: UUID
    facts: list[Fact]
    broken: Failure | None

    @property
    def label(self) -> str:
        first = self.facts[0].event if self.facts else None
        reference = first.reference if isinstance(first, Loan.Disbursed) else None
        return reference or str(self.loan_id)


def _check_loan(
    check: ProjectionsCheck, recomputer: Recomputer, stored: dict[str, Stored], events: Events
) -> None:
    """Compare each projection's rows of one loan with its events up to the position."""
    loan_id, label, key = events.loan_id, events.label, str(events.loan_id)
    in_full: dict[str, tuple[list[Rows], list[Rows]]] = {}
    for name, s in stored.items():
        if s.position == REBUILDING:
            check.rebuilding.add(name)
            continue
        if loan_id in s.held:
            check.quarantined.append(LoanNote(name, key, label))
            continue
        done = [f for f in events.facts if f.position <= s.position]
        later = [f for f in events.facts if f.position > s.position]
        if later:
            folded = done[-1].version if done else 0
            check.behind.append(LoanNote(name, key, label, folded, later[-1].version))
        mine = [t.get(key, []) for t in s.rows]
        try:
            if events.broken is not None and events.broken.position <= s.position:
                raise ValueError(f"event {events.broken.version}: {events.broken.error}")
            theirs = recomputer.rows(name, done)
        except Exception as error:  # the projector would have quarantined the loan
            held = f"{sum(len(rows) for rows in mine)} rows, not quarantined"
            cannot = f"cannot be applied: {error}"
            check.differences.append(
                Difference(name, key, label, "(events)", "-", "(fold)", held, cannot)
            )
            continue
        for shape, a, b in zip(recomputer.shapes[name], mine, theirs, strict=True):
            for row, column, x, y in differing_cells(shape, a, b):
                check.differences.append(
                    Difference(name, key, label, shape.name, row, column, x, y)
                )
        if not later:
            in_full[name] = (mine, theirs)
    if "balances" in in_full and "portfolio" in in_full:
        balances = _dicts(recomputer, "balances", in_full["balances"][1][0])
        segments = _dicts(recomputer, "portfolio", in_full["portfolio"][0][0])
        check.totals.add(balances, segments)


def _dicts(recomputer: Recomputer, name: str, rows: Rows) -> list[dict[str, Any]]:
    columns = recomputer.shapes[name][0].columns
    return [dict(zip(columns, row, strict=True)) for row in rows]


def orphan_rows(projections: Projections, known: set[str]) -> Iterator[Difference]:
    """Rows of loans that have no event at all (a loan opened since the loans were listed
    has events, so it is not one of them)."""
    sql, table = _events_table(projections)
    for name, projector in projections.projectors.items():
        for stored_table in projector.projection.loan_tables():
            rows = sql.query(f"SELECT loan_id, COUNT(*) AS n FROM {stored_table} GROUP BY loan_id")
            for loan_id, n in rows:
                if str(loan_id) in known or _has_events(sql, table, str(loan_id)):
                    continue
                short = stored_table.rsplit(".", 1)[-1]
                yield Difference(
                    name, str(loan_id), str(loan_id), short, "(loan)", "(row)",
                    f"{n} rows", "absent: the loan has no events",
                )  # fmt: skip


def _has_events(sql: Sql, table: str, loan_id: str) -> bool:
    try:
        uuid = UUID(loan_id)
    except ValueError:
        return False
    key = uuid if sql.is_postgres else uuid.hex
    return bool(sql.query(f"SELECT 1 AS one FROM {table} WHERE originator_id = ? LIMIT 1", [key]))
