"""Batch saves split below the size that hangs the PostgreSQL recorder (issue 18, item 1;
:mod:`ledger.services.save_parts`): a save of many more events than the limit completes, in
parts of whole loans; a part that fails after another was committed is redone by
close-of-business without running any loan's day twice."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

from ledger.domain.account import LinkedAccount
from ledger.services.application import LedgerApp, loan_id_for
from ledger.services.save_parts import MAX_EVENTS_PER_SAVE
from tests.store.test_close_of_business import accruals_per_loan_day, event_count, open_loans

# 40,000 events of about 260 bytes (a linked account opened): about the size of one save that
# hung the library's recorder on PostgreSQL (45,000 events did; see save_parts).
EVENTS = 40_000
HANG = 120  # seconds: a save that hangs fails the test instead of blocking the run


def in_time(work: Any, seconds: float) -> Any:
    """``work()`` in a daemon thread; fails if it has not returned within ``seconds``."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = work()
        except BaseException as error:  # handed to the test's thread
            result["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the save did not return within {seconds} s (hung)"
    if "error" in result:
        raise result["error"]
    return result["value"]


def test_a_save_far_over_the_limit_completes_in_parts_of_at_most_the_limit(app: LedgerApp) -> None:
    assert EVENTS > 3 * MAX_EVENTS_PER_SAVE
    accounts = [LinkedAccount.open(uuid4(), Decimal(1)) for _ in range(EVENTS)]
    parts: list[int] = []
    real = app._record

    def record(processing_event: Any) -> Any:
        parts.append(len(processing_event.events))
        return real(processing_event)

    app._record = record  # type: ignore[method-assign]
    recordings = in_time(lambda: app.save_batch(accounts), HANG)
    assert len(recordings) == EVENTS == event_count(app)
    assert parts == [MAX_EVENTS_PER_SAVE] * (EVENTS // MAX_EVENTS_PER_SAVE)


def test_a_part_that_fails_after_one_was_committed_is_redone_without_running_a_day_twice(
    db_url: str,
) -> None:
    worker = LedgerApp.from_url(db_url)
    clerk = LedgerApp.from_url(db_url)
    refs = open_loans(worker, 4)
    worker.close_days(date(2026, 1, 31))
    worker.max_events_per_save = 1  # every loan a part (a transaction) of its own
    last = max(refs, key=lambda r: str(loan_id_for(r)))  # the last of the batch's order
    real = worker.reader.load_many
    state = {"interfered": False, "clerk_events": 0}

    def load_then_interfere(ids: Any) -> Any:
        loaded = real(ids)
        if not state["interfered"] and len(ids) == len(refs):
            state["interfered"] = True  # the last part now fails the version check
            events = event_count(clerk)
            clerk.prepay(last, date(2026, 2, 1), amount=Decimal("100.00"))
            state["clerk_events"] = event_count(clerk) - events
        return loaded

    worker.reader.load_many = load_then_interfere  # type: ignore[method-assign]
    before = event_count(worker)
    report = worker.close_days(date(2026, 2, 1))
    assert state["interfered"] and report.failures == []
    assert set(accruals_per_loan_day(worker).values()) == {1}  # no loan ran a day twice
    assert {worker.get_loan(r).closed_through for r in refs} == {date(2026, 2, 1)}
    assert report.loan_days == len(refs)  # the parts saved before the retry are counted
    calendar = 1  # the day recorded closed
    assert report.events == event_count(worker) - before - state["clerk_events"] - calendar
    worker.close()
    clerk.close()
