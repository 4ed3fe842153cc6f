"""Projections on a real store (SQLite and PostgreSQL): consistent with the aggregates,
rebuilt byte for byte, and exactly once through crashes and concurrent projectors."""

from __future__ import annotations

import itertools
import random
import threading
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ledger.domain.errors import CommandRefused
from ledger.domain.loan import Loan
from ledger.domain.money import FEN, ZERO, fmt, round_to
from ledger.domain.terms import Replan
from ledger.read import views
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input
from projections import Projections
from projections.balances import shown as balance_shown
from projections.base import Projector
from projections.portfolio import BUCKETS, bucket_of
from projections.schedule import shown as schedule_shown

START = date(2026, 1, 1)
PRODUCTS = [
    "borrow_and_return",
    "repay_on_schedule",
    "interest_first",
    "equal_principal",
    "mall_installment",
]


def random_book(
    app: LedgerApp, *, seed: int, loans: int, days: int, newer_terms: bool = False
) -> list[str]:
    """Loans of every product, some with empty or short linked accounts (missed and partly
    paid installments, penalties), repayments, partial prepayments both ways and payoffs,
    over ``days`` business days run by close-of-business. ``newer_terms``: some loans also
    name the terms of issue 15 (:func:`newer_terms_of`), drawn from a generator of their own
    so the books of every other seed stay as they were."""
    rng = random.Random(seed)
    newer = random.Random(seed * 104729) if newer_terms else None
    refs: list[str] = []
    for i in range(loans):
        extra: dict[str, Any] = {}
        if rng.random() < 0.2:
            extra["rounding"] = "half_even"
        if rng.random() < 0.2:
            extra["grace_days"] = rng.choice([1, 3])
        if rng.random() < 0.15:
            extra |= {"daily_rate": None, "annual_rate": "0.18", "day_count": "ACT/365"}
        else:
            extra["daily_rate"] = rng.choice(["0.0005", "0.0003", "0.00045"])
        product = PRODUCTS[i % 5]
        principal = f"{rng.randint(500, 30000)}.{rng.randint(0, 99):02d}"
        term = rng.choice([2, 3, 6, 12])
        disbursed_on = START + timedelta(days=rng.randint(0, 20))
        if newer is not None:
            product, extra = newer_terms_of(newer, product, extra, disbursed_on)
        terms = terms_from_input(
            product=product,
            principal=principal,
            term=term,
            disbursed_on=disbursed_on,
            **extra,
        )
        ref = f"R{seed}-{i}"
        app.open_loan(terms, ref)
        refs.append(ref)
        roll = rng.random()
        if roll < 0.25:
            app.set_balance(ref, Decimal(0))
        elif roll < 0.45:
            app.set_balance(ref, Decimal(rng.randint(50, 900)))
    day = START
    end = START + timedelta(days=days)
    while day < end:
        step = rng.randint(5, 25)
        day = min(day + timedelta(days=step), end)
        app.close_days(day - timedelta(days=1))
        for ref in rng.sample(refs, k=max(1, len(refs) // 4)):
            _random_payment(app, rng, ref, day)
    app.close_days(end)
    return refs


def newer_terms_of(
    rng: random.Random, product: str, extra: dict[str, Any], disbursed_on: date
) -> tuple[str, dict[str, Any]]:
    """Issue 15's terms for some loans: a first due date (section 9), per-transaction interest
    (10), compound interest apart (11), or a bank installment (13) instead of the product."""
    roll = rng.random()
    if roll < 0.15:
        return "bank_installment", {
            "fee_rate_per_period": rng.choice(["0.006", "0.004567"]),
            "remaining_fees": rng.choice(["charge", "waive"]),
        }
    if rng.random() < 0.3:
        extra = {**extra, "first_due_date": disbursed_on + timedelta(days=rng.randint(20, 55))}
    if product != "mall_installment" and rng.random() < 0.3:
        extra = {**extra, "interest_method": "per_transaction"}
    if rng.random() < 0.3:
        extra = {**extra, "compound_multiplier": rng.choice(["1.0", "1.5"])}
    return product, extra


def _random_payment(app: LedgerApp, rng: random.Random, ref: str, day: date) -> None:
    loan = app.get_loan(ref)
    if loan.is_closed or loan.terms.disbursed_on > day:
        return
    try:
        choice = rng.random()
        if choice < 0.45:
            bank_loan = app.loan_as_of(ref)
            due = bank_loan.amount_due
            if due > 0:
                part = round_to(due * Decimal(rng.choice([25, 50, 100])) / 100, FEN)
                app.repay(ref, max(part, FEN), day)
        elif choice < 0.75:
            app.prepay(
                ref,
                day,
                amount=Decimal(rng.randint(300, 3000)),
                replan=rng.choice([Replan.REDUCE_INSTALLMENT, Replan.REDUCE_TERM]),
            )
        elif choice < 0.85:
            app.prepay(ref, day)
    except CommandRefused:
        pass  # e.g. a partial prepayment that would pay everything, or not reach principal


def fixed_installments(loan: Loan) -> list[dict[str, Any]]:
    """The aggregate's fixed installments, shown the way ``ledger loan schedule`` shows them:
    the witness the schedule projection is compared with."""
    rows = []
    for inst in loan.installments:
        owed = inst.owed(loan.terms)
        paid = inst.principal_paid + inst.interest_paid + inst.penalty_paid
        if inst.settled_on is not None:
            status = "paid"
        elif inst.overdue_from is not None:
            status = "overdue"
        elif paid > ZERO:
            status = "partly_paid"
        else:
            status = "due"
        rows.append(
            {
                "k": inst.k,
                "due_date": inst.due_date.isoformat(),
                "principal": fmt(inst.principal),
                "interest": fmt(owed.interest + inst.interest_paid),
                "penalty": fmt(owed.penalty + inst.penalty_paid),
                "paid": fmt(paid),
                "status": status,
            }
        )
    return rows


def dump(projections: Projections) -> list[Any]:
    return [p.dump() for p in projections.select()]


def aggregate_balance(loan: Loan) -> Decimal:
    """What the borrower owes per the aggregate: everything due + principal not yet due +
    accrued interest rounded as a payoff rounds it."""
    return (
        loan.amount_due
        + loan.principal_not_due
        + round_to(loan.interest_accrued, FEN, loan.terms.rounding)
    )


def test_every_balances_row_equals_the_state_computed_from_the_aggregate(app: LedgerApp) -> None:
    refs = random_book(app, seed=7, loans=30, days=150)
    projections = Projections(app, page=97)  # odd page size: batches cut across loans and days
    projections.catch_up()
    statuses = set()
    for ref in refs:
        loan = app.get_loan(ref)
        expected = views.loan_state(loan)
        row = projections.balances.read(loan.id)
        assert row is not None
        got = balance_shown(row)
        for field, value in expected.items():
            assert got[field] == value, (ref, field)
        assert row["version"] == loan.version
        statuses.add(expected["status"])
    assert statuses == {"active", "overdue", "closed"}  # the book covers every status


def test_schedule_rows_are_the_aggregate_installments_with_their_plan(app: LedgerApp) -> None:
    refs = random_book(app, seed=11, loans=20, days=120)
    projections = Projections(app, page=50)
    projections.catch_up()
    seen = set()
    for ref in refs:
        loan = app.get_loan(ref)
        rows = [schedule_shown(r) for r in projections.schedule.read(loan.id)]
        fixed = {r["k"]: r for r in rows if not r["estimated"]}
        from_aggregate = {r["k"]: r for r in fixed_installments(loan)}
        assert fixed.keys() == from_aggregate.keys(), ref
        for k, expected in from_aggregate.items():
            for field in ("due_date", "principal", "interest", "penalty", "paid", "status"):
                assert fixed[k][field] == expected[field], (ref, k, field)
            assert fixed[k]["planned_principal"] is not None
        for r in rows:
            seen.add(r["status"])
            if r["estimated"]:
                assert r["status"] in ("upcoming", "prepaid")
                assert (r["status"] == "prepaid") == (loan.is_closed or r["k"] > loan.last_k)
    assert {"paid", "overdue", "upcoming", "prepaid"} <= seen


def test_statements_chain_and_close_on_the_balance_at_their_due_date(app: LedgerApp) -> None:
    refs = random_book(app, seed=13, loans=15, days=120)
    projections = Projections(app, page=200)
    projections.catch_up()
    checked = 0
    for ref in refs:
        loan = app.get_loan(ref)
        rows = projections.statements.read(loan.id)
        assert rows, ref
        assert rows[0]["opening_balance"] == 0
        assert rows[0]["disbursed"] == int(loan.terms.principal * 100)
        for before, after in itertools.pairwise(rows):
            assert after["opening_balance"] == before["closing_balance"], ref
            assert after["cycle"] == before["cycle"] + 1
        for r in rows:
            flows = r["disbursed"] + r["interest"] + r["penalty"] + r["fees"] - r["paid_total"]
            assert r["closing_balance"] == r["opening_balance"] + flows, (ref, r["month"])
            end = date.fromisoformat(r["period_end"])
            if end <= loan.closed_through and not loan.is_closed:
                past = app.loan_as_of(ref, end)
                assert Decimal(r["closing_balance"]) / 100 == aggregate_balance(past), (
                    ref,
                    r["month"],
                )
                checked += 1
        if loan.is_closed:
            assert rows[-1]["closing_balance"] == 0
    assert checked > 10


def test_portfolio_buckets_match_the_aggregates_on_any_day(app: LedgerApp) -> None:
    refs = random_book(app, seed=17, loans=25, days=150)
    projections = Projections(app)
    projections.catch_up()
    last = projections.portfolio.last_business_day()
    assert last == START + timedelta(days=150)
    for as_of in (START + timedelta(days=45), START + timedelta(days=100), last):
        report = projections.portfolio.report(as_of)
        expected: dict[str, tuple[int, Decimal]] = {b: (0, ZERO) for b in BUCKETS}
        closed = 0
        for ref in refs:
            loan = app.get_loan(ref)
            if loan.terms.disbursed_on > as_of:
                continue
            closed_by_then = loan.closed_on is not None and loan.closed_on <= as_of
            past = loan if closed_by_then else app.loan_as_of(ref, as_of)
            if past.is_closed:
                closed += 1
                continue
            name = bucket_of(past.days_past_due(as_of))
            count, principal = expected[name]
            expected[name] = (count + 1, principal + past.principal_outstanding)
        got = {
            b["bucket"]: (b["loans"], Decimal(b["principal_outstanding"]))
            for b in report["buckets"]
        }
        assert got == expected, as_of
        assert report["loans"] - report["open_loans"] == closed
    assert any(b["loans"] for b in report["buckets"] if b["bucket"] != "current")


def test_rebuilding_every_projection_from_scratch_gives_byte_identical_tables(
    app: LedgerApp,
) -> None:
    Projections(app).catch_up()  # tables made before the book: catch-ups go in log order
    random_book(app, seed=19, loans=15, days=90)
    incremental = Projections(app, page=13)
    # caught up in pieces while the book grows: different batch boundaries than a rebuild
    incremental.catch_up()
    random_payments_and_days(app, seed=19)
    incremental.catch_up()
    before = dump(incremental)
    rebuilt = Projections(app, page=5000)
    rebuilt.rebuild()
    assert dump(rebuilt) == before
    assert all(s.lag == 0 for s in rebuilt.status())


def random_payments_and_days(app: LedgerApp, seed: int) -> None:
    rng = random.Random(seed)
    last = app.get_calendar().last_closed
    assert last is not None
    refs = [str(i) for i in app.directory.all_loan_ids()]
    for day in (last + timedelta(days=1), last + timedelta(days=20)):
        app.close_days(day - timedelta(days=1))
        for ref in rng.sample(refs, k=5):
            _random_payment(app, rng, ref, day)
    app.close_days(last + timedelta(days=40))


def test_a_batch_that_fails_midway_applies_nothing_and_the_next_run_applies_it_once(
    app: LedgerApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    Projections(app).catch_up()  # tables made before the book: catch-ups go in log order
    random_book(app, seed=23, loans=8, days=60)
    projections = Projections(app, page=40)
    projector = projections.select(["statements"])[0]
    statements = projections.statements
    real_write = statements.write
    calls = {"n": 0}

    def failing_write(c: Any) -> None:
        calls["n"] += 1
        real_write(c)  # the rows are written inside the transaction...
        if calls["n"] == 3:
            raise RuntimeError("killed between two events")  # ...and then it dies

    monkeypatch.setattr(statements, "write", failing_write)
    with pytest.raises(RuntimeError):
        projector.catch_up()
    position = projector.position()
    assert 0 < position < projector.head()
    monkeypatch.undo()
    projector.catch_up()
    resumed = projector.dump()
    fresh = Projections(app)
    fresh.rebuild(["statements"])
    assert fresh.select(["statements"])[0].dump() == resumed


def test_two_projectors_racing_on_one_projection_apply_every_event_once(app: LedgerApp) -> None:
    Projections(app).catch_up()  # tables made before the book: catch-ups go in log order
    random_book(app, seed=29, loans=12, days=90)
    runners = [Projections(app, page=25), Projections(app, page=31)]
    errors: list[BaseException] = []

    def run(p: Projections) -> None:
        try:
            p.catch_up(["balances", "portfolio"])
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(p,)) for p in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    result = [p.dump() for p in runners[0].select(["balances", "portfolio"])]
    fresh = Projections(app)
    fresh.rebuild(["balances", "portfolio"])
    assert [p.dump() for p in fresh.select(["balances", "portfolio"])] == result


def test_a_projector_reads_on_from_a_position_another_one_stored(app: LedgerApp) -> None:
    Projections(app).catch_up()  # tables made before the book: catch-ups go in log order
    random_book(app, seed=31, loans=5, days=40)
    first = Projections(app, page=10)
    second = Projections(app, page=10)
    p1: Projector = first.select(["balances"])[0]
    p2: Projector = second.select(["balances"])[0]
    p1.step()
    p1.step()
    applied = p2.catch_up()  # its cache is empty; it loads the folds p1 stored
    assert p1.position() == p2.position() == p2.head()
    assert applied == p2.lag(0) - 20


def test_a_projector_rereads_its_folds_when_another_one_moved_the_position_in_between(
    app: LedgerApp,
) -> None:
    Projections(app).catch_up()  # tables made before the book: catch-ups go in log order
    random_book(app, seed=37, loans=3, days=30)
    a = Projections(app, page=4).select(["statements"])[0]
    b = Projections(app, page=4).select(["statements"])[0]
    b.step()  # b caches the folds of the first loans
    a.step()
    a.step()  # a moves them on: b's cache is now behind the table
    while b.step():  # b goes on from a's position with folds read back from the table
        pass
    followed = b.dump()
    fresh = Projections(app)
    fresh.rebuild(["statements"])
    assert fresh.select(["statements"])[0].dump() == followed


def test_a_rebuild_that_dies_half_way_is_finished_by_the_next_catch_up_exactly_once(
    app: LedgerApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    random_book(app, seed=47, loans=12, days=60)
    projections = Projections(app, page=150)  # 3 loans per rebuild page
    projector = projections.select(["portfolio"])[0]
    portfolio = projections.portfolio
    real_write = portfolio.write
    calls = {"n": 0}

    def failing_write(c: Any) -> None:
        calls["n"] += 1
        real_write(c)
        if calls["n"] == 2:
            raise RuntimeError("killed in the middle of a rebuild")

    monkeypatch.setattr(portfolio, "write", failing_write)
    with pytest.raises(RuntimeError):
        projector.rebuild()
    monkeypatch.undo()
    [status] = projections.status(["portfolio"])
    assert status.as_dict()["rebuilding"] is True
    another = Projections(app, page=150).select(["portfolio"])[0]
    another.catch_up()  # any projector that meets the rebuild finishes it
    assert another.position() == another.head()
    rebuilt = another.dump()
    in_log_order = Projections(app, page=7).select(["portfolio"])[0]
    with in_log_order.sql.transaction() as c:
        in_log_order.projection.clear(c)
        c.execute(
            f"UPDATE {in_log_order.t_pos} SET position = 0 WHERE name = ?", [in_log_order.key]
        )
    in_log_order.catch_up()
    assert in_log_order.dump() == rebuilt


def test_events_recorded_after_a_rebuild_began_are_applied_by_the_same_catch_up(
    app: LedgerApp,
) -> None:
    random_book(app, seed=89, loans=4, days=20)
    projections = Projections(app)  # made after the book: a rebuild up to here is pending
    last = app.get_calendar().last_closed
    assert last is not None
    app.close_days(last + timedelta(days=3))  # recorded after the rebuild's target
    projections.catch_up(["balances"])
    [status] = projections.status(["balances"])
    assert status.lag == 0 and status.position == status.head
    for loan_id in app.directory.all_loan_ids():
        row = projections.balances.read(loan_id)
        assert row is not None and row["version"] == app.get_loan(loan_id).version


def test_a_projection_whose_tables_changed_shape_is_dropped_and_rebuilt(
    app: LedgerApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    random_book(app, seed=97, loans=4, days=30)
    projections = Projections(app)
    projections.catch_up()
    before = projections.select(["statements"])[0].dump()
    from projections.statements import Statements

    monkeypatch.setattr(Statements, "schema", Statements.schema + 1)
    upgraded = Projections(app)
    [status] = upgraded.status(["statements"])
    assert status.as_dict()["rebuilding"] is True
    upgraded.catch_up(["statements"])
    assert upgraded.select(["statements"])[0].dump() == before
