"""The dispute case's rules (issue 14, point 1), on the aggregate alone: what each step
records, and every refusal raised before any event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from ledger.domain.account import account_id_for
from ledger.domain.actor import acting_as
from ledger.domain.dispute import Dispute, dispute_id_for, reference_for
from ledger.domain.errors import CommandRefused
from ledger.services.store import loan_id_for

ON = date(2026, 3, 6)


def opened(**changes: Any) -> Dispute:
    fields: dict[str, Any] = {
        "loan_id": uuid4(),
        "loan_reference": "DANA-7",
        "charge": "fee",
        "amount": Decimal("332.58"),
        "period": (date(2026, 2, 21), date(2026, 2, 21)),
        "claim": "the payoff fee was not in my contract",
        "received_by": "li.wei",
        "channel": "phone",
        "channel_ref": "CALL-5531",
        "actor": "li.wei",
        "on": ON,
    }
    return Dispute.open(reference_for(1), **{**fields, **changes})


def decided(outcome: str = "upheld") -> Dispute:
    case = opened()
    case.decide(outcome, reasons="r", remedy="waive", remedy_amount=None, actor="a", on=ON)
    return case


def attach(case: Dispute, kind: str = "verify") -> None:
    case.attach(kind, subject={}, loan_version=7, result={"clean": True}, note="", actor="a", on=ON)


def test_opening_records_the_claim_with_who_and_when() -> None:
    with acting_as("api:desk"):
        case = opened()
    (event,) = case.collect_events()
    assert isinstance(event, Dispute.Opened)
    assert (event.reference, event.charge, event.amount) == ("DSP-000001", "fee", Decimal("332.58"))
    assert (event.channel, event.channel_ref, event.received_by) == ("phone", "CALL-5531", "li.wei")
    assert (event.actor, event.recorded_by, event.on) == ("li.wei", "api:desk", ON)
    assert event.timestamp is not None
    assert case.status == "open" and case.id == dispute_id_for("DSP-000001")


def test_case_ids_live_in_a_namespace_of_their_own() -> None:
    assert dispute_id_for("DSP-000001") != loan_id_for("DSP-000001")
    assert dispute_id_for("DSP-000001") != account_id_for(loan_id_for("DSP-000001"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"charge": "insurance"}, "charge"),
        ({"channel": "pigeon"}, "channel"),
        ({"amount": Decimal("0.00")}, "positive"),
        ({"amount": Decimal("-1.00")}, "positive"),
        ({"period": (date(2026, 3, 2), date(2026, 3, 1))}, "after"),
        ({"claim": "  "}, "claim"),
        ({"received_by": ""}, "received by"),
    ],
)
def test_a_bad_claim_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(CommandRefused, match=message):
        opened(**changes)


def test_findings_decision_and_closing_are_recorded_in_order() -> None:
    case = opened()
    attach(case, "verify")
    attach(case, "what_if")
    case.decide(
        "partly_upheld",
        reasons="fee charged at 3 %, contract says 2 %",
        remedy="refund the difference",
        remedy_amount=Decimal("110.86"),
        actor="officer",
        on=ON,
    )
    case.close(note="refund paid", actor="officer", on=ON)
    kinds = [type(e).__name__ for e in case.collect_events()]
    assert kinds == ["Opened", "FindingAttached", "FindingAttached", "Decided", "Closed"]
    assert (case.status, case.outcome, case.findings) == ("closed", "partly_upheld", 2)


def test_replaying_the_events_gives_the_same_case() -> None:
    case = decided("rejected")
    rebuilt: Any = None
    for event in case.collect_events():
        rebuilt = event.mutate(rebuilt)
    assert (rebuilt.status, rebuilt.outcome, rebuilt.reference) == (
        "decided",
        "rejected",
        "DSP-000001",
    )


def test_a_second_decision_is_refused_there_is_no_reopening() -> None:
    case = decided()
    before = len(case.pending_events)
    with pytest.raises(CommandRefused, match="already decided"):
        case.decide("rejected", reasons="x", remedy="", remedy_amount=None, actor="a", on=ON)
    assert len(case.pending_events) == before


def test_nothing_is_attached_once_decided_or_closed() -> None:
    case = decided()
    with pytest.raises(CommandRefused, match="already decided"):
        attach(case)
    case.close(note="done", actor="a", on=ON)
    before = len(case.pending_events)
    steps: list[Callable[[], None]] = [
        lambda: attach(case),
        lambda: case.decide(
            "upheld", reasons="x", remedy="y", remedy_amount=None, actor="a", on=ON
        ),
        lambda: case.close(note="again", actor="a", on=ON),
    ]
    for step in steps:
        with pytest.raises(CommandRefused, match="closed"):
            step()
    assert len(case.pending_events) == before


def test_closing_needs_a_decision_and_a_note() -> None:
    case = opened()
    with pytest.raises(CommandRefused, match="not decided yet"):
        case.close(note="done", actor="a", on=ON)
    case = decided()
    with pytest.raises(CommandRefused, match="note"):
        case.close(note=" ", actor="a", on=ON)


@pytest.mark.parametrize(
    ("outcome", "reasons", "remedy", "amount", "message"),
    [
        ("granted", "r", "x", None, "outcome"),
        ("upheld", "", "x", None, "reasons"),
        ("upheld", "r", "", None, "remedy"),
        ("partly_upheld", "r", " ", None, "remedy"),
        ("rejected", "r", "", Decimal("1.00"), "remedy"),
        ("upheld", "r", "refund", Decimal("0.00"), "positive"),
    ],
)
def test_a_decision_needs_an_outcome_reasons_and_for_a_remedy_its_words(
    outcome: str, reasons: str, remedy: str, amount: Decimal | None, message: str
) -> None:
    case = opened()
    with pytest.raises(CommandRefused, match=message):
        case.decide(outcome, reasons=reasons, remedy=remedy, remedy_amount=amount, actor="a", on=ON)
    assert case.status == "open" and len(case.pending_events) == 1


def test_a_rejection_needs_no_remedy() -> None:
    case = opened()
    case.decide("rejected", reasons="the fee is in the contract", remedy="", remedy_amount=None,
                actor="a", on=ON)  # fmt: skip
    assert case.outcome == "rejected"


def test_an_unknown_kind_of_finding_is_refused() -> None:
    case = opened()
    with pytest.raises(CommandRefused, match="finding"):
        attach(case, "hunch")
    assert case.findings == 0
