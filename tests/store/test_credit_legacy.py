"""Loans corrected before credit existed (loan-rules §12) keep verifying and keep their figures.

``tests/fixtures/legacy_late_corrected.json`` is a loan as the code before the credit work
stored it (made by ``tests/fixtures/make_legacy_late_corrected.py`` with ``git archive
44ca42a^``): every event, and the figures that code showed. Its ``Corrected`` (class version
3) recomputed the history without credit: the 2,126.84 the corrected history did not need is
its ``refund_due``, never held as credit. Read today it is upcast with ``credit_rules`` false
and recomputed by that rule, so ``verify`` stays clean and no figure moves.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from ledger.domain.chain import link
from ledger.domain.errors import CommandRefused
from ledger.domain.loan import Loan
from ledger.services import audit
from ledger.services.application import LedgerApp
from ledger.services.explain import explain
from tests.store.test_audit import as_before_checkpoints, overwrite_state, stored_state
from tests.store.test_codec import typed
from tests.store.test_credit_refund import open_loan

D = Decimal
FIXTURE = Path(__file__).parent.parent / "fixtures" / "legacy_late_corrected.json"
FIGURES = (
    "amount_due",
    "principal_outstanding",
    "interest_paid",
    "principal_repaid",
    "penalty_paid",
    "refunds_due",
    "balance",
)


def shown(loan: Loan) -> dict[str, Any]:
    """The figures the fixture recorded, as that code showed them."""
    values = {name: str(getattr(loan, name)) for name in FIGURES}
    return {**values, "status": loan.loan_status, "version": loan.version}


def without_seal(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in ("timestamp", "chain")}


def read_as_event(
    app: LedgerApp, loan_id: UUID, old: dict[str, Any], state: dict[str, Any]
) -> dict[str, Any]:
    """A stored state read as the event it is (fields and their types), without its seal."""
    row = StoredEvent(loan_id, old["version"], old["topic"], json.dumps(state).encode())
    return without_seal(typed(vars(app.mapper.to_domain_event(row))))


def legacy_store(app: LedgerApp) -> dict[str, Any]:
    """LATE as the code before credit left it: the days and the deductions run by today's
    code (the same events, checked one by one against the fixture), then the correction
    exactly as that code stored it, sealed with this store's key over the form it had."""
    legacy: dict[str, Any] = json.loads(FIXTURE.read_text())
    open_loan(app, "LATE", principal="12000.00", term=6, on=date(2026, 1, 15))
    app.set_balance("LATE", D("0"))
    app.close_days(date(2026, 2, 19))
    assert str(app.get_loan("LATE").amount_due) == legacy["backdated_amount"]
    app.close_days(date(2026, 2, 28))
    app.set_balance("LATE", None)
    app.close_days(date(2026, 3, 20))
    loan = app.get_loan("LATE")
    *before, old_correction = legacy["events"]
    assert loan.version == len(before)
    for old in before:  # the same event, whichever form it is stored in
        today = stored_state(app, loan.id, old["version"])
        assert read_as_event(app, loan.id, old, today) == read_as_event(
            app, loan.id, old, old["state"]
        )
    amount = D(legacy["backdated_amount"])
    app.repay_backdated("LATE", amount, date(2026, 2, 20), actor="a", reason="at the counter")
    version = old_correction["version"]
    timestamp = stored_state(app, loan.id, version)["timestamp"]
    fields = app.mapper.transcoder.decode(json.dumps(old_correction["state"]).encode())
    del fields["class_version"]  # the fields as the old class sealed them
    previous = app.loan_events("LATE")[-2].chain
    chain = link(previous, "Corrected", loan.id, version, fields)
    tagged_time = {"_type_": "datetime_iso", "_data_": timestamp}  # the old form throughout
    state = {**old_correction["state"], "timestamp": tagged_time, "chain": chain}
    overwrite_state(app, loan.id, version, state)
    as_before_checkpoints(app, loan.id)
    return legacy


def test_a_loan_corrected_before_credit_existed_verifies_and_keeps_its_figures(
    app: LedgerApp,
) -> None:
    legacy = legacy_store(app)
    assert legacy["verify_clean_at_correction"] and legacy["refund_due"] == "2126.84"
    corrected = app.loan_events("LATE")[-1]
    assert isinstance(corrected, Loan.Corrected) and corrected.credit_rules is False
    assert "credit" not in corrected.state and corrected.refund_due == D("2126.84")
    verified = audit.verify_loan(app, "LATE")
    assert verified.discrepancies == [] and verified.clean
    loan = app.get_loan("LATE")
    assert shown(loan) == legacy["figures_at_correction"] and loan.credit == 0
    with pytest.raises(CommandRefused, match=r"the credit owed to the borrower is 0\.00"):
        app.refund("LATE", D("1.00"), on=None, actor="cs", reason="the legacy refund_due")

    app.close_days(date(2026, 4, 16))  # today's code runs its days: nothing moves
    loan = app.get_loan("LATE")
    assert shown(loan) == legacy["figures_after_days"] and legacy["verify_clean_after_days"]
    assert not any(isinstance(e, Loan.CreditApplied) for e in app.loan_events("LATE"))
    verified = audit.verify_loan(app, "LATE")
    assert verified.discrepancies == [] and verified.clean
    as_of = app.loan_as_of("LATE", date(2026, 4, 16))  # replayed from its facts, as recorded
    bookkeeping = {"refunds_due": "-", "version": 0}  # counted by the correction; event count
    assert shown(as_of) | bookkeeping == shown(loan) | bookkeeping
    assert as_of.credit == loan.credit == 0
    explained = explain(app, "LATE")
    assert explained["adds_up"] and explained["figures"]["credit"]["figure"] == "0.00"


def test_a_changed_amount_in_a_legacy_correction_still_breaks_its_seal(app: LedgerApp) -> None:
    legacy_store(app)
    loan = app.get_loan("LATE")
    state = stored_state(app, loan.id, loan.version)
    state["refund_due"] = {"_data_": "0", "_type_": "decimal_str"}
    overwrite_state(app, loan.id, loan.version, state)
    assert not audit.verify_loan(app, "LATE").clean


def test_a_new_correction_of_a_legacy_loan_follows_section_12(app: LedgerApp) -> None:
    """A correction recorded today recomputes the whole history under section 12: the money
    the history did not need is held as credit (and the as-of view follows it)."""
    legacy_store(app)
    deduction = next(
        e
        for e in reversed(app.loan_events("LATE"))
        if isinstance(e, Loan.InstallmentDeducted) and e.collected > 0
    )
    app.reverse("LATE", deduction.originator_version, actor="ops", reason="bounced")
    corrected = app.loan_events("LATE")[-1]
    assert isinstance(corrected, Loan.Corrected) and corrected.credit_rules is True
    loan = app.get_loan("LATE")
    assert loan.credit == corrected.state["credit"] and "credit" in corrected.state
    verified = audit.verify_loan(app, "LATE")
    assert verified.discrepancies == [] and verified.clean
    as_of = app.loan_as_of("LATE", loan.closed_through)
    assert (as_of.credit, as_of.amount_due) == (loan.credit, loan.amount_due)
