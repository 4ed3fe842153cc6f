"""Dispute cases on both stores (issue 14, point 1): a case opened, with findings from the
ledger, decided and closed; findings kept as they were; every refused command writes no
event; the list's filters; the dispute report's section."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ledger.adapters.config import RateCaps
from ledger.domain.errors import CommandRefused, LedgerError, NotFound, OutOfBusinessDay
from ledger.read import report, report_render
from ledger.services import audit, disputes, integrity
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input

ACTOR = "li.wei"


def events(app: LedgerApp) -> int:
    return len(app.recorder.select_notifications(start=None, limit=10**9))


def a_loan(app: LedgerApp, reference: str = "DANA-7") -> None:
    terms = terms_from_input(
        product="repay_on_schedule",
        principal="6000.00",
        term=3,
        disbursed_on="2026-01-10",
        daily_rate="0.0005",
    )
    app.open_loan(terms, reference)
    app.set_balance(reference, Decimal(0))


def a_case(app: LedgerApp, loan: str = "DANA-7", charge: str = "penalty") -> str:
    case = app.execute(
        lambda: disputes.open_dispute(
            app,
            loan,
            charge=charge,
            amount=Decimal("5.00"),
            period=(date(2026, 2, 11), date(2026, 2, 20)),
            claim="I paid at the branch on Feb 10",
            received_by="branch 12",
            channel="branch",
            channel_ref="R-88213",
            actor=ACTOR,
        )
    )
    return str(case.reference)


@pytest.fixture
def dana(app: LedgerApp) -> LedgerApp:
    a_loan(app)
    app.close_days(date(2026, 2, 20))
    return app


def test_a_case_is_opened_given_findings_decided_and_closed(dana: LedgerApp) -> None:
    app = dana
    ref = a_case(app)
    assert ref == "DSP-000001"
    app.execute(lambda: disputes.attach(app, ref, "verify", note="clean", actor=ACTOR))
    app.execute(
        lambda: disputes.attach(
            app, ref, "what_if", settings={"penalty_multiplier": "1.0"}, actor=ACTOR
        )
    )
    app.execute(lambda: disputes.attach(app, ref, "explain", figure="penalty_accrued", actor="b"))
    app.execute(
        lambda: disputes.decide(
            app,
            ref,
            "upheld",
            reasons="receipt 88213",
            remedy="waive the penalty",
            remedy_amount=Decimal("5.00"),
            actor="officer",
        )
    )
    app.execute(lambda: disputes.close(app, ref, note="penalty waived", actor="officer"))
    case = disputes.show(app, ref)
    assert (case["status"], case["loan_id"], case["version"]) == ("closed", "DANA-7", 6)
    claim = case["claim"]
    assert (claim["charge"], claim["amount"], claim["from"], claim["to"]) == (
        "penalty", "5.00", "2026-02-11", "2026-02-20",
    )  # fmt: skip
    assert (claim["channel"], claim["channel_ref"], claim["actor"]) == ("branch", "R-88213", ACTOR)
    verify, what_if, explained = case["findings"]
    assert verify["result"]["clean"] is True and verify["note"] == "clean"
    assert what_if["subject"] == {"set": {"penalty_multiplier": "1.0"}}
    assert what_if["result"]["total"]["difference"].startswith("-")
    assert explained["result"]["figure"] == explained["result"]["sum_of_parts"]
    assert explained["actor"] == "b" and explained["loan_version"] == verify["loan_version"]
    assert case["decision"]["outcome"] == "upheld"
    assert case["decision"]["remedy_amount"] == "5.00"
    assert case["closure"]["note"] == "penalty waived"
    for step in (claim, *case["findings"], case["decision"], case["closure"]):
        assert step["on"] == "2030-12-31" and step["recorded_at"]  # the business date, the time


def test_a_finding_keeps_what_the_ledger_said_when_it_was_attached(dana: LedgerApp) -> None:
    app = dana
    ref = a_case(app)
    setting = {"penalty_multiplier": "1.0"}
    app.execute(lambda: disputes.attach(app, ref, "what_if", settings=setting, actor=ACTOR))
    app.execute(lambda: disputes.attach(app, ref, "explain", figure="penalty_accrued", actor="a"))
    before = disputes.show(app, ref)["findings"]
    app.close_days(date(2026, 3, 20))  # the loan moves on: more penalty, another installment
    app.execute(lambda: app.repay("DANA-7", Decimal("100.00"), date(2026, 3, 21)))
    assert disputes.show(app, ref)["findings"] == before
    now = audit.what_if(app, "DANA-7", setting)
    assert now["total"] != before[0]["result"]["total"]
    assert before[0]["loan_version"] < app.get_loan("DANA-7").version


def refusals(app: LedgerApp, ref: str) -> list[Callable[[], Any]]:
    """Commands the rules or the input refuse, on a case that is open."""

    def opening(**changes: Any) -> Callable[[], Any]:
        fields: dict[str, Any] = {
            "charge": "fee", "amount": Decimal("1.00"),
            "period": (date(2026, 2, 1), date(2026, 2, 2)), "claim": "c", "received_by": "r",
            "channel": "phone", "channel_ref": "", "actor": ACTOR,
        }  # fmt: skip
        return lambda: disputes.open_dispute(app, "DANA-7", **{**fields, **changes})

    return [
        opening(charge="insurance"),
        opening(amount=Decimal("0.00")),
        opening(period=(date(2026, 1, 1), date(2026, 1, 2))),  # before the disbursement
        opening(period=(date(2026, 2, 1), date(2031, 1, 1))),  # after the business date
        opening(claim=" "),
        lambda: disputes.open_dispute(
            app,
            "NOBODY",
            charge="fee",
            amount=Decimal("1.00"),
            period=(date(2026, 2, 1), date(2026, 2, 2)),
            claim="c",
            received_by="r",
            channel="phone",
            channel_ref="",
            actor=ACTOR,
        ),
        lambda: disputes.attach(app, ref, "what_if", settings={}, actor=ACTOR),
        lambda: disputes.attach(app, ref, "what_if", settings={"colour": "red"}, actor=ACTOR),
        lambda: disputes.attach(app, ref, "explain", figure="happiness", actor=ACTOR),
        lambda: disputes.attach(app, ref, "hunch", actor=ACTOR),
        lambda: disputes.attach(app, "DSP-999999", "verify", actor=ACTOR),
        lambda: disputes.decide(app, ref, "upheld", reasons="r", remedy="", actor=ACTOR),
        lambda: disputes.decide(app, ref, "maybe", reasons="r", remedy="x", actor=ACTOR),
        lambda: disputes.close(app, ref, note="too early", actor=ACTOR),
    ]


def test_each_refused_command_writes_no_event(dana: LedgerApp) -> None:
    app = dana
    ref = a_case(app)
    for command in refusals(app, ref):
        before = events(app)
        with pytest.raises(LedgerError):
            app.execute(command)
        assert events(app) == before
    app.execute(lambda: disputes.decide(app, ref, "rejected", reasons="in the contract",
                                        actor=ACTOR))  # fmt: skip
    for command, error in (
        (lambda: disputes.decide(app, ref, "upheld", reasons="r", remedy="x", actor=ACTOR),
         "already decided"),
        (lambda: disputes.attach(app, ref, "verify", actor=ACTOR), "already decided"),
        (lambda: disputes.close(app, ref, note="", actor=ACTOR), "note"),
    ):  # fmt: skip
        before = events(app)
        with pytest.raises(CommandRefused, match=error):
            app.execute(command)
        assert events(app) == before
    app.execute(lambda: disputes.close(app, ref, note="told the borrower", actor=ACTOR))
    for command in (
        lambda: disputes.attach(app, ref, "verify", actor=ACTOR),
        lambda: disputes.close(app, ref, note="again", actor=ACTOR),
    ):
        before = events(app)
        with pytest.raises(CommandRefused, match="closed"):
            app.execute(command)
        assert events(app) == before


def test_unknown_cases_and_bad_ids_are_refused(dana: LedgerApp) -> None:
    with pytest.raises(NotFound, match="unknown dispute DSP-000001"):
        disputes.show(dana, "DSP-000001")
    with pytest.raises(NotFound):
        disputes.show(dana, "DANA-7")  # a loan's reference is not a case's
    with pytest.raises(NotFound):
        disputes.show(dana, str(dana.get_loan("DANA-7").id))  # nor is its UUID
    with pytest.raises(CommandRefused, match="dispute id"):
        disputes.show(dana, "<b>")
    with pytest.raises(OutOfBusinessDay):
        dana.execute(
            lambda: disputes.open_dispute(
                dana,
                "DANA-7",
                charge="fee",
                amount=Decimal("1.00"),
                period=(date(2026, 2, 1), date(2031, 2, 2)),
                claim="c",
                received_by="r",
                channel="phone",
                channel_ref="",
                actor=ACTOR,
            )
        )


def test_cases_are_listed_by_loan_and_by_status(app: LedgerApp) -> None:
    a_loan(app)
    a_loan(app, "ERIN-2")
    first, second, third = a_case(app), a_case(app, "ERIN-2", "fee"), a_case(app)
    assert [first, second, third] == ["DSP-000001", "DSP-000002", "DSP-000003"]
    app.execute(lambda: disputes.decide(app, first, "rejected", reasons="r", actor=ACTOR))
    app.execute(lambda: disputes.decide(app, second, "upheld", reasons="r", remedy="x", actor="a"))
    app.execute(lambda: disputes.close(app, second, note="done", actor=ACTOR))

    def listed(**filters: Any) -> list[str]:
        found = disputes.list_disputes(app, **filters)
        assert found["total"] == len(found["disputes"])
        return [row["dispute_id"] for row in found["disputes"]]

    assert listed() == [first, second, third]
    assert listed(loan="DANA-7") == [first, third]
    assert listed(loan="ERIN-2") == [second]
    assert listed(status="open") == [third]
    assert listed(status="decided") == [first]
    assert listed(status="closed") == [second]
    assert listed(loan="ERIN-2", status="open") == []
    row = disputes.list_disputes(app, status="closed")["disputes"][0]
    assert row == {
        "dispute_id": second, "loan_id": "ERIN-2", "status": "closed", "charge": "fee",
        "amount": "5.00", "opened_on": "2030-12-31", "findings": 0, "outcome": "upheld",
    }  # fmt: skip
    with pytest.raises(NotFound):
        disputes.list_disputes(app, loan="NOBODY")
    with pytest.raises(CommandRefused, match="status"):
        disputes.list_disputes(app, status="pending")


def test_the_dispute_report_includes_the_loans_cases(dana: LedgerApp) -> None:
    app = dana
    assert report.build(app, "DANA-7", RateCaps())["disputes"] == []
    assert "Dispute cases" not in report_render.markdown(report.build(app, "DANA-7", RateCaps()))
    ref = a_case(app)
    app.execute(lambda: disputes.attach(app, ref, "verify", note="<b>clean</b>", actor=ACTOR))
    app.execute(lambda: disputes.decide(app, ref, "partly_upheld", reasons="late keying",
                                        remedy="waive 5.00", remedy_amount=Decimal("5.00"),
                                        actor="officer"))  # fmt: skip
    data = report.build(app, "DANA-7", RateCaps())
    (case,) = data["disputes"]
    assert case["dispute_id"] == ref and case["decision"]["outcome"] == "partly_upheld"
    text = report_render.markdown(data)
    assert "## Dispute cases" in text
    for shown in (ref, "I paid at the branch on Feb 10", "partly_upheld", "late keying",
                  "waive 5.00", "officer", ACTOR, "&lt;b&gt;clean&lt;/b&gt;"):  # fmt: skip
        assert shown in text, shown
    page = report_render.html_page(data)
    assert "<b>clean" not in page and "Dispute cases" in page


def test_two_cases_opened_at_the_same_moment_get_numbers_of_their_own(
    dana: LedgerApp, db_url: str
) -> None:
    """Another process opens a case while this one is opening its own with the same number:
    this one's save fails the version check and is rerun, with the next number."""
    other = LedgerApp.from_url(db_url)
    first_try: list[str] = []

    def opening() -> Any:
        case = disputes.open_dispute(
            dana, "DANA-7", charge="fee", amount=Decimal("1.00"),
            period=(date(2026, 2, 1), date(2026, 2, 2)), claim="c", received_by="r",
            channel="phone", channel_ref="", actor=ACTOR,
        )  # fmt: skip
        if not first_try:
            first_try.append(case.reference)
            first_try.append(a_case(other))
        return case

    try:
        mine = dana.execute(opening)
    finally:
        other.close()
    assert first_try == ["DSP-000001", "DSP-000001"] and mine.reference == "DSP-000002"
    listed = disputes.list_disputes(dana)["disputes"]
    assert [r["dispute_id"] for r in listed] == ["DSP-000001", "DSP-000002"]


def test_a_book_with_cases_still_closes_verifies_projects_and_checkpoints(dana: LedgerApp) -> None:
    """Cases are aggregates of their own: close-of-business, verify, the read models and the
    checkpoints go on as if they were not there (their events are not loan events)."""
    from projections import Projections

    ref = a_case(dana)
    dana.execute(lambda: disputes.attach(dana, ref, "verify", actor=ACTOR))
    dana.close_days(date(2026, 3, 5))
    assert [v.clean for v in audit.verify_all(dana)] == [True]
    projections = Projections(dana)
    projections.catch_up()
    assert all(s.lag == 0 and not s.quarantined for s in projections.status())
    assert projections.balances.read(dana.get_loan("DANA-7").id) is not None
    assert integrity.checkpoint_problems(dana) == []
    assert dana.directory.all_loan_ids() == [dana.get_loan("DANA-7").id]


def test_the_fee_of_a_payoff_disputed_after_the_loan_closed(app: LedgerApp) -> None:
    """Issue 14's walk-through, the case's part: the borrower disputes the 3 % fee of a
    payoff; the what-if without the fee and the explain lines of the fees paid are attached."""
    a_loan(app)
    app.set_balance("DANA-7", None)
    app.close_days(date(2026, 2, 20))
    loan, quote = app.execute(lambda: app.prepay("DANA-7", date(2026, 2, 21)))
    assert loan.is_closed and quote.fee > 0
    case = app.execute(
        lambda: disputes.open_dispute(
            app, "DANA-7", charge="fee", amount=quote.fee,
            period=(date(2026, 2, 21), date(2026, 2, 21)), claim="no fee in my contract",
            received_by="li.wei", channel="phone", channel_ref="CALL-5531", actor=ACTOR,
        )
    )  # fmt: skip
    ref = case.reference
    no_fee = {"prepayment_fee_rate": "0"}
    app.execute(lambda: disputes.attach(app, ref, "what_if", settings=no_fee, actor=ACTOR))
    app.execute(lambda: disputes.attach(app, ref, "explain", figure="fees_paid", actor=ACTOR))
    what_if, fees = disputes.show(app, ref)["findings"]
    assert what_if["result"]["total"]["difference"] == f"-{quote.fee}"
    assert fees["result"]["figure"] == str(quote.fee) and len(fees["result"]["lines"]) == 1
    assert str(quote.fee) in fees["summary"]
