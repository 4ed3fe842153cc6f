"""The PostgreSQL insert as binary scalar arrays (:mod:`ledger.adapters.pg_recorder`): the same
rows, notification ids and refusals as the library's own insert, which an operator may still
name instead."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresApplicationRecorder

from ledger.adapters.pg_recorder import BinaryArrayRecorder
from ledger.domain.loan import Loan
from ledger.domain.terms import Terms
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input
from tests.conftest import _drop_schema, _postgres_url

pytestmark = pytest.mark.postgres


def terms(principal: str) -> Terms:
    return terms_from_input(
        product="borrow_and_return", principal=principal, term=3, disbursed_on=date(2026, 1, 1),
        daily_rate="0.0005",
    )  # fmt: skip


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (this recorder is PostgreSQL's only)."""
    base, schema = _postgres_url(), f"t_{uuid4().hex[:12]}"
    yield f"{base}{'&' if '?' in base else '?'}schema={schema}"
    _drop_schema(base, schema)


def test_one_save_inserts_every_event_with_consecutive_notification_ids_in_order(
    pg_url: str,
) -> None:
    app = LedgerApp.from_url(pg_url)
    try:
        assert type(app.recorder) is BinaryArrayRecorder
        loans = [Loan.disburse(terms(f"{1000 + i}.00"), loan_id=uuid4()) for i in range(5)]
        recordings = app.save(*loans)
        ids = [r.notification.id for r in recordings]
        assert ids == list(range(ids[0], ids[0] + 5))
        stored = app.recorder.select_notifications(start=ids[0], limit=10)
        assert [(n.originator_id, n.originator_version) for n in stored] == [
            (r.domain_event.originator_id, 1) for r in recordings
        ]
        assert [app.get_loan(str(loan.id)).terms.principal for loan in loans] == [
            Decimal(f"{1000 + i}.00") for i in range(5)
        ]
    finally:
        app.close()


def test_a_save_that_repeats_a_version_is_refused_whole(pg_url: str) -> None:
    app = LedgerApp.from_url(pg_url)
    try:
        loan = Loan.disburse(terms("1000.00"), loan_id=uuid4())
        app.save(loan)
        again = Loan.disburse(terms("2000.00"), loan_id=loan.id)  # version 1 again
        other = Loan.disburse(terms("3000.00"), loan_id=uuid4())
        with pytest.raises(IntegrityError):
            app.save(other, again)
        assert len(app.recorder.select_notifications(start=None, limit=10)) == 1
    finally:
        app.close()


def test_the_librarys_own_insert_can_be_named_instead(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = "eventsourcing.postgres:PostgresApplicationRecorder"
    monkeypatch.setenv("APPLICATION_RECORDER_TOPIC", topic)
    app = LedgerApp.from_url(pg_url)
    try:
        assert type(app.recorder) is PostgresApplicationRecorder
        loan = Loan.disburse(terms("1000.00"), loan_id=uuid4())
        app.save(loan)
        assert app.get_loan(str(loan.id)).terms.principal == Decimal("1000.00")
    finally:
        app.close()
