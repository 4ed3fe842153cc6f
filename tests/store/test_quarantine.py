"""One bad event never takes the other loans down (SQLite and PostgreSQL).

Each test plants a loan event no projection can apply (a date past any calendar, JSON that
does not parse, a missing field, or a fold that raises) next to healthy loans: that loan is
quarantined, every other loan reads as before, status lists it, and it can be released once
fixed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing import persistence
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.adapters.api_keys import new_key
from ledger.adapters.sql import Sql
from ledger.domain.errors import Quarantined
from ledger.domain.loan import Loan
from ledger.read import views
from ledger.read.status import status_report
from ledger.services.application import LedgerApp, loan_id_for
from ledger.services.products import terms_from_input
from projections import Projections
from projections.balances import Balances
from projections.balances import shown as balance_shown
from projections.loan_fold import LoanFold
from tests.conftest import Ledger

HEALTHY = ("ALICE", "BOB", "CAROL")
PRODUCTS = ("repay_on_schedule", "interest_first", "equal_principal")
LOAN_PROJECTIONS = ("balances", "schedule", "statements")  # the ones a 9999 date breaks


def open_book(app: LedgerApp, through: date = date(2026, 3, 1)) -> None:
    """Three healthy loans (BOB's account is empty: overdue, penalties), run by close-of-day."""
    open_loans(app, dict(zip(HEALTHY, PRODUCTS, strict=True)))
    app.close_days(through)


def open_loans(app: LedgerApp, products: dict[str, str]) -> None:
    """12,000.00 over 6 months at 0.05 % a day from 2026-01-15, one loan per reference and
    product; BOB's linked account is empty."""
    for ref, product in products.items():
        terms = terms_from_input(
            product=product,
            principal="12000.00",
            term=6,
            disbursed_on=date(2026, 1, 15),
            daily_rate="0.0005",
        )
        app.open_loan(terms, ref)
    app.set_balance("BOB", Decimal(0))


def events_of(app: LedgerApp, ref: str) -> list[Any]:
    loan_id = str(loan_id_for(ref))
    everything = app.recorder.select_notifications(start=None, limit=10**9)
    return [n for n in everything if str(n.originator_id) == loan_id]


def plant(app: LedgerApp, ref: str, version: int, kind: str, state: dict[str, Any] | bytes) -> None:
    """Write one loan event straight into the events table, as a faulty writer would."""
    data = state if isinstance(state, bytes) else json.dumps(state).encode()
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=loan_id_for(ref),
                originator_version=version,
                topic=get_topic(getattr(Loan, kind)),
                state=data,
            )
        ]
    )


def disbursed_like(app: LedgerApp, source: str, ref: str, on: str) -> dict[str, Any]:
    """``source``'s Disbursed event, for loan ``ref`` disbursed ``on``."""
    state: dict[str, Any] = json.loads(events_of(app, source)[0].state)
    state["reference"] = ref
    state["on"] = on
    return state


def plant_far_future_loan(app: LedgerApp, ref: str = "BAD") -> None:
    """A loan disbursed 9999-12-31 (its due dates overflow), and two later events of it."""
    plant(app, ref, 1, "Disbursed", disbursed_like(app, "ALICE", ref, "9999-12-31"))
    for n in events_of(app, "ALICE")[1:3]:
        plant(app, ref, int(n.originator_version), "InterestAccrued", json.loads(n.state))


def events_table(app: LedgerApp) -> tuple[Sql, str, Any]:
    """The events table, and how to pass a loan id to it."""
    sql = Sql(app)
    recorder: Any = app.recorder  # its table name is not in the recorder's type
    table = sql.table(recorder.events_table_name)
    return sql, table, (lambda ref: loan_id_for(ref) if sql.is_postgres else loan_id_for(ref).hex)


def dump(projections: Projections) -> list[Any]:
    return [p.dump() for p in projections.select()]


def held(projections: Projections) -> list[tuple[Any, ...]]:
    """The quarantine, without the time it was written."""
    return sorted(
        (q.projection, q.reference or "", q.version, q.position, q.kind, q.error, q.skipped)
        for q in projections.quarantined()
    )


def assert_reads_as_its_aggregate(app: LedgerApp, projections: Projections, ref: str) -> None:
    loan = app.get_loan(ref)
    row = projections.balances.read(loan.id)
    assert row is not None and row["version"] == loan.version, ref
    got = balance_shown(row)
    for field, value in views.loan_state(loan).items():
        assert got[field] == value, (ref, field)


def test_a_loan_disbursed_on_9999_12_31_is_quarantined_and_every_other_loan_reads_as_its_aggregate(
    app: LedgerApp,
) -> None:
    open_book(app, through=date(2026, 2, 1))
    plant_far_future_loan(app)
    app.close_days(date(2026, 3, 20))  # the healthy loans go on after the bad event
    projections = Projections(app, page=7)  # batches that mix the bad loan with the others

    projections.catch_up()  # does not raise

    for ref in HEALTHY:
        assert_reads_as_its_aggregate(app, projections, ref)
    bad = loan_id_for("BAD")
    with pytest.raises(Quarantined) as refused:
        projections.balances.read(bad)
    message = str(refused.value)
    assert "\n" not in message
    for needle in ("loan BAD", "projection balances", "event 1 (Disbursed", "out of range"):
        assert needle in message
    with pytest.raises(Quarantined, match="projection schedule"):
        projections.schedule.read(bad)
    with pytest.raises(Quarantined, match="projection statements"):
        projections.statements.read(bad)
    by_name = {s.name: s for s in projections.status()}
    for name in LOAN_PROJECTIONS:
        status = by_name[name]
        assert status.lag == 0 and status.position == status.head
        assert status.quarantined == (str(bad),)
        assert status.skipped == 2  # its two later events: passed over, not lag
        assert status.as_dict()["quarantined"] == 1
    assert projections.balances.counts() == {"active": 2, "overdue": 1, "closed": 0}


def test_with_bad_loans_the_tables_are_byte_identical_to_a_rebuild_of_the_store_without_them(
    app: LedgerApp,
) -> None:
    Projections(app).catch_up()  # tables made before the book: catch-ups go in log order
    open_book(app, through=date(2026, 2, 1))
    # events the loan directory does not read (it would stop close-of-business, not the
    # projections): JSON that does not parse, and a Disbursed event without its terms
    plant(app, "JUNK", 1, "InterestAccrued", b"{not json")
    alice = events_of(app, "ALICE")
    plant(app, "JUNK", 2, "InterestAccrued", json.loads(alice[1].state))
    hollow = disbursed_like(app, "ALICE", "HOLLOW", "9999-12-31")
    del hollow["terms"]
    plant(app, "HOLLOW", 1, "Disbursed", hollow)
    app.close_days(date(2026, 3, 20))
    caught_up = Projections(app, page=7)
    caught_up.catch_up()
    with_bad_loans = dump(caught_up)
    quarantine = held(caught_up)
    assert {(q[0], q[1], q[2]) for q in quarantine} == {
        (name, ref, 1) for name in caught_up.projectors for ref in ("HOLLOW", "")
    }
    # the garbled JSON fails to decode; the Disbursed without terms fails to fold
    assert {q[5].split(":")[0] for q in quarantine} == {
        "MapperDeserialisationError",
        "AttributeError",
    }

    rebuilt = Projections(app)
    rebuilt.rebuild()  # a rebuild quarantines too, the same loans at the same events
    assert dump(rebuilt) == with_bad_loans
    assert held(rebuilt) == quarantine

    sql, table, key = events_table(app)
    with sql.transaction() as c:
        for ref in ("JUNK", "HOLLOW"):
            c.execute(f"DELETE FROM {table} WHERE originator_id = ?", [key(ref)])
    without = Projections(app)
    without.rebuild()
    assert dump(without) == with_bad_loans
    assert without.quarantined() == []


def test_a_fold_that_raises_mid_life_quarantines_the_loan_at_that_event_until_released(
    app: LedgerApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_book(app, through=date(2026, 3, 20))
    victim = loan_id_for("CAROL")
    real_apply = LoanFold.apply

    def bug(fold: LoanFold, fact: Any) -> None:
        if fold.loan_id == victim and fact.version == 9:
            raise ArithmeticError("a bug that only CAROL's ninth event meets")
        real_apply(fold, fact)

    monkeypatch.setattr(LoanFold, "apply", bug)
    projections = Projections(app, page=11)
    projections.catch_up()
    entries = held(projections)
    assert [(q[0], q[1], q[2]) for q in entries] == [
        (name, "CAROL", 9) for name in sorted(projections.projectors)
    ]
    assert all(q[6] == app.get_loan("CAROL").version - 9 for q in entries)  # skipped after
    with pytest.raises(Quarantined, match="its event 9"):
        projections.balances.read(victim)
    for ref in ("ALICE", "BOB"):
        assert_reads_as_its_aggregate(app, projections, ref)
    rebuilt = Projections(app, page=100)
    rebuilt.rebuild()
    assert held(rebuilt) == entries and dump(rebuilt) == dump(projections)

    with pytest.raises(Quarantined, match="still fails in projection balances: its event 9"):
        projections.release(victim, ["balances"])
    assert held(projections) == entries  # refused: nothing changed

    monkeypatch.undo()  # the bug is fixed
    released = projections.release(victim)
    assert released == dict.fromkeys(sorted(projections.projectors), app.get_loan("CAROL").version)
    assert projections.quarantined() == []
    assert_reads_as_its_aggregate(app, projections, "CAROL")
    fresh = Projections(app)
    fresh.rebuild()
    assert dump(projections) == dump(fresh)


def test_an_error_of_the_store_quarantines_nothing_and_rolls_the_batch_back(
    app: LedgerApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_book(app, through=date(2026, 2, 1))
    projections = Projections(app)
    projector = projections.select(["balances"])[0]

    def locked(self: Balances, c: Any) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(Balances, "write", locked)
    with pytest.raises((sqlite3.OperationalError, persistence.OperationalError)):
        projector.catch_up()
    assert projector.position() in (0, -1)  # as it was: not moved, nothing set apart
    assert projections.quarantined() == []
    monkeypatch.undo()
    projector.catch_up()
    for ref in HEALTHY:
        assert_reads_as_its_aggregate(app, projections, ref)


# --------------------------------------------------------------------------- CLI and API


@pytest.fixture
def store(ledger: Ledger) -> Iterator[LedgerApp]:
    """A healthy book and the far-future loan, in the store the ``ledger`` fixture runs on."""
    app = LedgerApp.from_url(ledger.db_url)
    open_book(app)
    plant_far_future_loan(app)
    yield app
    app.close()


def assert_one_line(result: Any, code: int, *needles: str) -> None:
    assert result.code == code, result.err
    assert result.out == ""
    assert "Traceback" not in result.err and result.err.count("\n") == 1, result.err
    for needle in needles:
        assert needle in result.err


def test_through_the_cli_a_quarantined_loan_is_one_line_and_status_lists_it(
    ledger: Ledger, store: LedgerApp
) -> None:
    assert ledger.ok("loan", "show", "ALICE")["loan_id"] == "ALICE"
    assert_one_line(ledger("loan", "show", "BAD"), 4, "loan BAD is quarantined", "balances")
    assert_one_line(ledger("loan", "schedule", "BAD"), 4, "projection schedule", "event 1")
    assert_one_line(ledger("loan", "statement", "BAD"), 4, "projection statements")
    assert_one_line(ledger("loan", "show", "NOBODY"), 2, "unknown loan NOBODY")

    status = ledger.ok("status")
    assert {(q["reference"], q["projection"]) for q in status["quarantined"]} == {
        ("BAD", name) for name in LOAN_PROJECTIONS
    }
    entry = status["quarantined"][0]
    assert (entry["version"], entry["kind"], entry["skipped"]) == (1, "Disbursed", 2)
    assert entry["loan_id"] == str(loan_id_for("BAD")) and "out of range" in entry["error"]
    assert status["loans"] == {"active": 2, "overdue": 1, "closed": 0}
    text = ledger("status")
    assert text.code == 0, text.err
    assert "Quarantined loans" in text.out and "BAD" in text.out
    assert "balances up to date (1 loan quarantined)" in text.out
    rows = {r["name"]: r for r in ledger.ok("projections", "status")}
    assert rows["balances"]["quarantined_loans"] == [str(loan_id_for("BAD"))]
    assert rows["balances"]["lag"] == 0


def test_release_refuses_while_the_stored_event_is_broken_and_rebuilds_the_loan_once_repaired(
    ledger: Ledger, store: LedgerApp
) -> None:
    ledger.ok("projections", "catch-up")
    assert_one_line(
        ledger("projections", "release", "BAD"), 4, "loan BAD still fails", "stays quarantined"
    )
    assert_one_line(ledger("projections", "release", "ALICE"), 2, "ALICE is not quarantined")
    assert len(ledger.ok("status")["quarantined"]) == 3

    sql, table, key = events_table(store)  # an operator repairs the stored event
    repaired = disbursed_like(store, "ALICE", "BAD", "2026-01-20")
    with sql.transaction() as c:
        c.execute(
            f"UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = 1",
            [json.dumps(repaired).encode(), key("BAD")],
        )
    one = ledger.ok("projections", "release", "BAD", "--projection", "balances")
    assert one == {"loan_id": "BAD", "released": {"balances": 3}}
    shown = ledger.ok("loan", "show", "BAD")
    assert (shown["loan_id"], shown["version"]) == ("BAD", 3)
    assert_one_line(ledger("loan", "schedule", "BAD"), 4, "projection schedule")
    rest = ledger.ok("projections", "release", "BAD")
    assert rest["released"] == {"schedule": 3, "statements": 3}
    assert ledger.ok("status")["quarantined"] == []
    assert ledger.ok("loan", "schedule", "BAD")[0]["due_date"] == "2026-02-20"


def test_the_status_report_never_raises_a_part_that_fails_says_so(
    app: LedgerApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_book(app, through=date(2026, 2, 1))
    today = date(2026, 2, 2)

    def boom(*args: Any) -> Any:
        raise RuntimeError("boom")

    with monkeypatch.context() as m:
        m.setattr(Projections, "status", boom)
        report = status_report(app, today)
    assert report["projections"] == {"error": "RuntimeError: boom"}
    assert sum(report["loans"].values()) == len(HEALTHY)
    assert report["partitions"][0]["last_closed"] == "2026-02-01"

    with monkeypatch.context() as m:
        m.setattr("ledger.read.status.Projections", boom)
        m.setattr(app, "find_calendar", boom)
        report = status_report(app, today)
    for part in ("loans", "projections", "quarantined"):
        assert report[part] == {"error": "RuntimeError: boom"}
    assert report["partitions"] == [{"partition": "0/1", "error": "RuntimeError: boom"}]
    assert report["business_today"] == "2026-02-02"


def test_the_status_text_says_which_part_is_unavailable(
    ledger: Ledger, store: LedgerApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any) -> Any:
        raise RuntimeError("the [bold]table[/bold] is gone")

    monkeypatch.setattr(Projections, "status", boom)
    monkeypatch.setattr("ledger.read.status.WorkerStatusStore", boom)
    result = ledger("status")
    assert result.code == 0, result.err
    assert "projections: unavailable (RuntimeError: the [bold]table[/bold] is gone)" in result.out
    assert "close-of-business by partition: unavailable" in result.out
    assert "BAD" in result.out  # the quarantine is still shown


def test_the_api_answers_status_and_every_other_loan_while_one_is_quarantined(
    app: LedgerApp,
) -> None:
    open_book(app, through=date(2026, 2, 1))
    plant_far_future_loan(app)
    auditor, key = new_key("auditor-1", "auditor")
    headers = {"Authorization": f"Bearer {auditor}"}
    with TestClient(create_app(app, [key]), raise_server_exceptions=False) as client:
        status = client.get("/status", headers=headers)
        assert status.status_code == 200
        assert {q["reference"] for q in status.json()["quarantined"]} == {"BAD"}
        assert client.get("/loans/ALICE", headers=headers).status_code == 200
        assert client.get("/loans/ALICE/schedule", headers=headers).status_code == 200
        for path in ("/loans/BAD", "/loans/BAD/schedule", "/loans/BAD/statements/2026-02"):
            answer = client.get(path, headers=headers)
            assert answer.status_code == 409, (path, answer.text)
            assert "quarantined" in answer.json()["detail"]
        projections = client.get("/projections", headers=headers).json()
        assert {p["name"]: p["quarantined"] for p in projections}["balances"] == 1


def test_a_rebuild_starts_with_an_empty_quarantine_and_the_position_passes_the_bad_events(
    app: LedgerApp,
) -> None:
    open_book(app, through=date(2026, 2, 1))
    plant_far_future_loan(app)
    projections = Projections(app)
    projections.catch_up()
    before = held(projections)
    projector = projections.select(["balances"])[0]
    assert projector.position() == projector.head() and projector.lag() == 0
    sql, table, key = events_table(app)
    with sql.transaction() as c:
        c.execute(f"DELETE FROM {table} WHERE originator_id = ?", [key("BAD")])
    projections.rebuild(["balances"])
    assert [q for q in held(projections) if q[0] == "balances"] == []
    assert [q for q in before if q[0] != "balances"] == held(projections)


def test_a_disbursed_event_that_does_not_parse_sets_its_loan_apart_and_the_book_closes_its_days(
    app: LedgerApp,
) -> None:
    open_book(app, through=date(2026, 2, 1))
    plant(app, "GARBLED", 1, "Disbursed", b"{not json")
    report = app.close_days(date(2026, 2, 10))
    assert report.failures == []
    assert report.last_closed == date(2026, 2, 10)
    held = {q.loan_id: q for q in app.directory.quarantine.all()}
    assert loan_id_for("GARBLED") in held
    assert held[loan_id_for("GARBLED")].projection == "loan_directory"
    assert views.loan_state(app.get_loan("ALICE"))["as_of"] == "2026-02-10"
