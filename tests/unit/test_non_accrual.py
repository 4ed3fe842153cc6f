"""Non-accrual (loan-rules §15), in memory: the end-of-day step, the contract's figures that
do not change, the journal's suspense and the replay of the facts."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger.domain.accounting import RECEIVABLES, positions_of, postings
from ledger.domain.business_day import advance_to, run_through
from ledger.domain.errors import CommandRefused
from ledger.domain.evolve import evolve
from ledger.domain.facts import corrected_facts, facts_of
from ledger.domain.loan import Loan
from ledger.domain.replay import replay, run_facts
from ledger.domain.state import LoanState
from ledger.services.products import terms_from_input

D = Decimal
LOAN_ID = uuid4()


class NoMoney:
    """A linked account that never has money: every deduction fails."""

    def collect(self, loan_id: UUID, on: date, amount: Decimal) -> Decimal:
        return D(0)


def unpaid_loan(through: date, after_days: int | None) -> Loan:
    """12,000.00 over 12 months at 0.05 % a day from 2026-01-15, never paid: installment 1
    (due 2026-02-15) is overdue from 2026-02-16, so 30 days past due at the end of 03-17."""
    terms = terms_from_input(
        product="repay_on_schedule",
        principal="12000.00",
        term=12,
        disbursed_on=date(2026, 1, 15),
        daily_rate="0.0005",
    )
    loan = Loan.disburse(terms, loan_id=LOAN_ID, reference="NA-1")
    run_through(loan, through, NoMoney(), after_days)
    return loan


def journal(events: list[Any]) -> tuple[dict[str, Decimal], list[tuple[Any, dict[str, Decimal]]]]:
    """Every event's postings, and each account's balance (debits positive)."""
    state = LoanState()
    balances: dict[str, Decimal] = defaultdict(D)
    entries = []
    before = None
    for event in events:
        evolve(state, event)
        after = positions_of(state)
        disbursed = state.terms.principal if isinstance(event, Loan.Disbursed) else D(0)
        lines = {p.account: p.amount for p in postings(before, after, disbursed)}
        for account, amount in lines.items():
            balances[account] += amount
        entries.append((event, lines))
        before = after
    return dict(balances), entries


def test_a_loan_30_days_past_due_records_non_accrual_started_once_at_the_end_of_that_day() -> None:
    loan = unpaid_loan(date(2026, 4, 30), 30)
    events: list[Any] = list(loan.collect_events())
    started = [e for e in events if isinstance(e, Loan.NonAccrualStarted)]
    assert [(e.on, e.days_past_due, e.after_days) for e in started] == [(date(2026, 3, 17), 30, 30)]
    at = events.index(started[0])
    assert isinstance(events[at - 1], (Loan.InterestAccrued, Loan.Overdue))
    assert events[at - 1].on == date(2026, 3, 17)  # after the day's accrual and overdue marks
    assert loan.figures().non_accrual_since == date(2026, 3, 17)
    assert not any(isinstance(e, Loan.NonAccrualEnded) for e in events)


def test_the_contract_figures_are_those_of_the_same_loan_without_the_setting() -> None:
    with_it = unpaid_loan(date(2026, 5, 20), 30).figures()
    without = unpaid_loan(date(2026, 5, 20), None).figures()
    assert without.non_accrual_since is None
    assert with_it == type(with_it)(**{**vars(without), "non_accrual_since": date(2026, 3, 17)})


def test_the_journal_suspends_the_charges_accrued_after_that_day_and_still_balances() -> None:
    with_it, entries = journal(list(unpaid_loan(date(2026, 5, 20), 30).collect_events()))
    without, _ = journal(list(unpaid_loan(date(2026, 5, 20), None).collect_events()))
    assert sum(with_it.values(), D(0)) == 0  # debits equal credits
    for key in (*RECEIVABLES, "cash"):  # what the borrower owes is the same on the book
        assert with_it.get(key) == without.get(key), key
    suspense = -with_it["suspense"]
    assert suspense > 0
    income = sum((v for k, v in with_it.items() if k.startswith("income_")), D(0))
    income_without = sum((v for k, v in without.items() if k.startswith("income_")), D(0))
    assert income - income_without == suspense  # credits are negative: income is less
    for event, lines in entries:  # nothing accrued after 03-17 is income
        if isinstance(event, Loan.InterestAccrued) and event.on > date(2026, 3, 17):
            assert not any(k.startswith("income_") for k in lines), event.on
            assert lines.get("suspense", D(0)) <= 0
    loan = unpaid_loan(date(2026, 5, 20), 30)
    suspended = loan.interest_suspended + loan.penalty_suspended + loan.compound_suspended
    assert suspended == suspense


def test_a_payment_takes_the_recognised_part_first_and_a_cure_releases_the_rest() -> None:
    loan = unpaid_loan(date(2026, 4, 30), 30)
    suspended = loan.suspended()
    assert suspended["interest"] > 0 and suspended["penalty"] > 0
    was = positions_of(loan)
    advance_to(loan, date(2026, 5, 1), NoMoney(), 30)
    loan.repay(date(2026, 5, 1), D("10.00"))  # pays penalty recognised before 03-17 first
    assert loan.suspended() == suspended
    loan.collect_events()
    was = positions_of(loan)
    loan.repay(date(2026, 5, 1), loan.amount_due)  # everything due: cured
    after = positions_of(loan)
    lines = {p.account: p.amount for p in postings(was, after)}
    released = sum((was.interest_suspended, was.penalty_suspended), D(0))
    assert lines["suspense"] == released - after.interest_suspended
    run_through(loan, date(2026, 5, 1), NoMoney(), 30)
    ended = [e for e in loan.collect_events() if isinstance(e, Loan.NonAccrualEnded)]
    assert [(e.on, e.started_on) for e in ended] == [(date(2026, 5, 1), date(2026, 3, 17))]
    assert loan.suspended() == {"interest": 0, "penalty": 0, "compound": 0}
    assert loan.figures().non_accrual_since is None


def test_a_loan_in_non_accrual_replays_clean_whatever_the_verifier_s_setting() -> None:
    loan = unpaid_loan(date(2026, 4, 30), 30)
    advance_to(loan, date(2026, 5, 1), NoMoney(), 30)
    loan.repay(date(2026, 5, 1), loan.amount_due)
    run_through(loan, date(2026, 6, 10), NoMoney(), 30)
    events = list(loan.collect_events())
    assert replay(events).discrepancies == []
    rerun = run_facts(events[0], facts_of(events))  # what a correction recomputes
    assert rerun.loan.derived_state() == loan.derived_state()


def test_a_non_accrual_started_before_its_threshold_is_a_discrepancy() -> None:
    loan = unpaid_loan(date(2026, 3, 10), None)
    loan.review_non_accrual(date(2026, 3, 10), after_days=5)  # 23 days: fine
    events = list(loan.collect_events())
    assert replay(events).discrepancies == []
    tampered = unpaid_loan(date(2026, 3, 10), None)
    tampered.review_non_accrual(date(2026, 3, 10), after_days=5)
    recorded = list(tampered.collect_events())
    recorded[-1].__dict__["after_days"] = 30  # as if 30 had been the threshold
    found = replay(recorded).discrepancies
    assert found and found[0].event == "NonAccrualStarted"


def test_non_accrual_is_reviewed_only_at_the_end_of_the_day_just_closed() -> None:
    loan = unpaid_loan(date(2026, 3, 20), None)
    with pytest.raises(CommandRefused, match="end of the day just closed"):
        loan.review_non_accrual(date(2026, 3, 19), after_days=1)


def test_a_correction_curing_the_loan_before_that_day_undoes_non_accrual_and_verifies() -> None:
    loan = unpaid_loan(date(2026, 4, 30), 30)
    recorded: list[Any] = list(loan.collect_events())
    correction = SimpleNamespace(
        kind="backdated_repayment",
        effective_on=date(2026, 3, 1),
        amount=D("1200.00"),
        originator_version=len(recorded) + 1,
    )
    run = run_facts(recorded[0], corrected_facts(facts_of(recorded), correction))
    assert run.loan.non_accrual_since is None  # 2 days past due on 03-17, not 30
    assert run.loan.suspended() == {"interest": 0, "penalty": 0, "compound": 0}
    loan.correct(
        date(2026, 4, 30),
        kind="backdated_repayment",
        effective_on=date(2026, 3, 1),
        amount=D("1200.00"),
        reverses=None,
        supersedes=[],
        refund_due=run.refund_due,
        corrected=run.loan,
        actor="ops",
        reason="the bank's statement",
    )
    assert loan.figures().non_accrual_since is None
    run_through(loan, date(2026, 5, 10), NoMoney(), 30)  # 30 days past due again: starts
    events = [*recorded, *loan.collect_events()]
    started = [e for e in events if isinstance(e, Loan.NonAccrualStarted)]
    assert [e.on for e in started] == [date(2026, 3, 17), date(2026, 5, 1)]
    assert replay(events).discrepancies == []
