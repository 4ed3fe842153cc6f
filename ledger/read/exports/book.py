"""The book's exports: ``balances``, ``statements``, ``schedule``, ``portfolio``, ``events``.

Each row names its loan by reference (``loan_id``, the loan's UUID when it was opened without
one, as ``ledger loan show`` does) and by ``uuid``; the figures are those of the CLI's JSON
reads of the same read model (``ledger loan show``, ``loan statement``, ``loan schedule``,
``loan events``), amounts as exact two-decimal strings. Loans come in the order of
``loan_id`` (then ``uuid``), the order of ``ledger loan list``; events in log order. The
reference comes from the balances projection (caught up with the others).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.domain.errors import CommandRefused
from ledger.domain.money import fmt
from ledger.read import views
from ledger.read.exports.core import Export, Source, register
from projections import balances as balances_view
from projections import schedule as schedule_view
from projections import statements as statements_view
from projections.facts import LOAN_TOPICS, fact_from_row
from projections.portfolio import bucket_of

BALANCES = "ledger_balances"
BY_LOAN = "COALESCE(b.reference, ''), x.loan_id"  # the order of `ledger loan list`


def _joined(table: str, columns: tuple[str, ...], source: Source) -> str:
    """``SELECT`` the reference and ``columns`` of ``table`` (aliased ``x``)."""
    names = ", ".join(f"x.{c} AS {c}" for c in columns)
    return (
        f"SELECT b.reference AS reference, {names} FROM {source.table(table)} x "
        f"LEFT JOIN {source.table(BALANCES)} b ON b.loan_id = x.loan_id"
    )


def _named(reference: str | None, loan_id: str) -> dict[str, Any]:
    return {"loan_id": reference or loan_id, "uuid": loan_id}


# ------------------------------------------------------------------ balances

BALANCE_COLUMNS = (
    "loan_id",
    "uuid",
    "product",
    "status",
    "as_of",
    "day_closed",
    *(c for c in balances_view.COLUMNS[6:]),
)


def balance_rows(source: Source) -> Iterator[dict[str, Any]]:
    names = ", ".join(f"x.{c} AS {c}" for c in balances_view.COLUMNS)
    for r in source.stream(
        f"SELECT {names} FROM {source.table(BALANCES)} x "
        "ORDER BY COALESCE(x.reference, ''), x.loan_id"
    ):
        yield balances_view.shown(dict(zip(balances_view.COLUMNS, r, strict=True)))


register(
    Export(
        "balances",
        "one row per loan: its figures now, as `ledger loan show --json` prints them",
        BALANCE_COLUMNS,
        balance_rows,
        projection="balances",
        needs=("balances",),
        as_of_means=None,
        no_as_of="the balances projection keeps each loan's current figures only (for a past "
        "day: `ledger export portfolio --as-of D`, or `ledger loan show LOAN_ID --as-of D`)",
    )
)


# ------------------------------------------------------------------ statements

STATEMENT_COLUMNS = ("loan_id", "uuid", *statements_view.COLUMNS[1:])


def statement_rows(source: Source) -> Iterator[dict[str, Any]]:
    where, params = "", []
    if source.as_of is not None:
        where, params = " WHERE x.period_end <= ?", [source.as_of.isoformat()]
    columns = statements_view.COLUMNS
    statement = (
        f"{_joined('ledger_statements', columns, source)}{where} ORDER BY {BY_LOAN}, x.month"
    )
    for reference, *r in source.stream(statement, params):
        row = dict(zip(columns, r, strict=True))
        yield {**_named(reference, row["loan_id"]), **statements_view.shown(row)}


def within_the_book(source: Source, as_of: date | None, what: str) -> date | None:
    """``as_of`` itself, refused after the last business day the book has run."""
    if as_of is None:
        return None
    last = source.last_business_day()
    if last is None or as_of > last:
        raise CommandRefused(
            f"{what} {as_of}: the book has run only through {last or 'no business day yet'}"
        )
    return as_of


register(
    Export(
        "statements",
        "one row per loan per statement cycle, as `ledger loan statement --json` prints them",
        STATEMENT_COLUMNS,
        statement_rows,
        projection="statements",
        needs=("statements", "balances", "portfolio"),
        as_of_means="the statements whose cycle ended on or before D",
        resolve=within_the_book,
    )
)


# ------------------------------------------------------------------ schedule

SCHEDULE_COLUMNS = (
    "loan_id",
    "uuid",
    "k",
    "due_date",
    "principal",
    "interest",
    "penalty",
    "paid",
    "status",
    "estimated",
    "planned_principal",
    "planned_interest",
    "paid_penalty",
    "paid_interest",
    "paid_principal",
    "waived",
    "last_paid_on",
    "overdue_from",
    "settled_on",
)


def schedule_rows(source: Source) -> Iterator[dict[str, Any]]:
    columns = schedule_view.COLUMNS
    statement = f"{_joined('ledger_schedule', columns, source)} ORDER BY {BY_LOAN}, x.k"
    for reference, *r in source.stream(statement):
        row = dict(zip(columns, r, strict=True))
        yield {**_named(reference, row["loan_id"]), **schedule_view.shown(row)}


register(
    Export(
        "schedule",
        "one row per installment of every loan, as `ledger loan schedule --json` prints them",
        SCHEDULE_COLUMNS,
        schedule_rows,
        projection="schedule",
        needs=("schedule", "balances"),
        as_of_means=None,
        no_as_of="the schedule projection keeps each installment as it stands now (what was "
        "paid, its status), not as it stood on a past day",
    )
)


# ------------------------------------------------------------------ portfolio

PORTFOLIO_COLUMNS = (
    "as_of",
    "loan_id",
    "uuid",
    "product",
    "status",
    "overdue_since",
    "days_past_due",
    "bucket",
    "principal_outstanding",
    "overdue_amount",
    "since",
)
SEGMENT = ("loan_id", "product", "status", "overdue_since", "principal_outstanding")


def portfolio_rows(source: Source) -> Iterator[dict[str, Any]]:
    day = source.as_of
    if day is None:  # the book has not run a business day yet
        return
    columns = (*SEGMENT, "overdue_amount", "valid_from")
    statement = (
        f"{_joined('ledger_portfolio_segments', columns, source)} WHERE x.valid_from <= ? "
        f"AND (x.valid_to IS NULL OR x.valid_to > ?) ORDER BY {BY_LOAN}"
    )
    for reference, *r in source.stream(statement, [day.isoformat(), day.isoformat()]):
        row = dict(zip(columns, r, strict=True))
        since = row["overdue_since"]
        closed = row["status"] in ("closed", "written_off")  # out of the book (section 14)
        dpd = (day - date.fromisoformat(since)).days + 1 if since and not closed else 0
        yield {
            "as_of": day.isoformat(),
            **_named(reference, row["loan_id"]),
            "product": row["product"],
            "status": row["status"],
            "overdue_since": since,
            "days_past_due": dpd,
            "bucket": None if closed else bucket_of(dpd),
            "principal_outstanding": _money(row["principal_outstanding"]),
            "overdue_amount": _money(row["overdue_amount"]),
            "since": row["valid_from"],
        }


def _money(fen: int) -> str:
    return fmt(Decimal(int(fen)).scaleb(-2))


def last_day_by_default(source: Source, as_of: date | None, what: str) -> date | None:
    """``as_of`` (at most the last business day run), else the last business day run."""
    return within_the_book(source, as_of, what) or source.last_business_day()


register(
    Export(
        "portfolio",
        "one row per loan as the portfolio counts it on a business day (default: the last one "
        "run): status, days past due, delinquency bucket, principal and overdue amount",
        PORTFOLIO_COLUMNS,
        portfolio_rows,
        projection="portfolio",
        needs=("portfolio", "balances"),
        as_of_means="the loans as they stood at the end of business day D",
        resolve=last_day_by_default,
    )
)


# ------------------------------------------------------------------ events

EVENT_COLUMNS = (
    "position",
    "loan_id",
    "uuid",
    "version",
    "type",
    "effective_date",
    "recorded_at",
    "data",
)


def _uuid_text(source: Source) -> str:
    """The event's loan id as the balances table writes it (``str(UUID)``): PostgreSQL stores
    a ``uuid``, SQLite its 32 hex digits. An expression of the event's side only, so the join
    looks each loan up by the balances table's key."""
    if source.sql.is_postgres:
        return "CAST(e.originator_id AS TEXT)"
    hex_ = "e.originator_id"
    parts = [(1, 8), (9, 4), (13, 4), (17, 4), (21, 12)]
    return " || '-' || ".join(f"substr({hex_}, {a}, {n})" for a, n in parts)


def event_rows(source: Source) -> Iterator[dict[str, Any]]:
    table, column = source.events()
    marks = ",".join("?" * len(LOAN_TOPICS))
    statement = (
        f"SELECT e.{column} AS position, e.originator_id AS originator_id, "
        "e.originator_version AS originator_version, e.topic AS topic, e.state AS state, "
        f"b.reference AS reference FROM {table} e LEFT JOIN {source.table(BALANCES)} b "
        f"ON b.loan_id = {_uuid_text(source)} WHERE e.topic IN ({marks}) "
        f"ORDER BY e.{column}"
    )
    for *stored, reference in source.stream(statement, list(LOAN_TOPICS)):
        fact = fact_from_row(tuple(stored))
        if fact is None or (source.as_of is not None and fact.on > source.as_of):
            continue
        yield {
            "position": fact.position,
            **_named(reference, str(fact.loan_id)),
            **views.event(fact.event),
        }


register(
    Export(
        "events",
        "every loan event in log order, as `ledger loan events --json` prints them",
        EVENT_COLUMNS,
        event_rows,
        projection=None,
        needs=("balances",),
        as_of_means="the events effective on or before D",
    )
)
