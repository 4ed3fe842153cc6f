"""The four-eyes request (issue 14, point 3; loan-rules §12.5): which rule applies, who may
decide it, and that it is decided once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from ledger.domain.approval import (
    BELOW_THRESHOLD,
    FOUR_EYES,
    ApprovalRequest,
    person_key,
    rule_for,
    same_person,
)
from ledger.domain.errors import CommandRefused, NotPermitted

DAY = date(2026, 3, 1)


def asked(amount: str = "300.00", threshold: str | None = None) -> ApprovalRequest:
    return ApprovalRequest.request(
        "APR-000001",
        loan_id=uuid4(),
        loan_reference="FEE",
        action="waiver",
        details={"part": "fee", "amount": amount, "on": ""},
        amount=Decimal(amount),
        reason="fee disputed",
        requested_by="complaints-desk",
        threshold=None if threshold is None else Decimal(threshold),
        on=DAY,
    )


@pytest.mark.parametrize(
    ("amount", "threshold", "rule"),
    [
        ("99.99", "100.00", BELOW_THRESHOLD),
        ("100.00", "100.00", FOUR_EYES),  # "under" the threshold: equal is not under
        ("0.01", None, FOUR_EYES),  # no threshold set: every amount
        ("100000.00", "100.00", FOUR_EYES),
    ],
)
def test_the_threshold_lifts_four_eyes_only_for_amounts_under_it(
    amount: str, threshold: str | None, rule: str
) -> None:
    assert rule_for(Decimal(amount), None if threshold is None else Decimal(threshold)) == rule
    assert asked(amount, threshold).rule == rule


@pytest.mark.parametrize("who", ["complaints-desk", "Complaints-Desk", " complaints-desk "])
def test_the_requester_can_neither_approve_nor_reject_their_own_request(who: str) -> None:
    request = asked()
    with pytest.raises(NotPermitted, match="cannot approve their own request"):
        request.approve(who, loan_version=7, on=DAY)
    with pytest.raises(NotPermitted, match="cannot reject their own request"):
        request.reject(who, reason="no", on=DAY)
    assert request.status == "pending" and len(request.pending_events) == 1


def test_a_second_person_approves_once_and_the_request_says_so() -> None:
    request = asked()
    request.approve("carol", loan_version=7, on=DAY)
    assert request.status == "approved"
    approved = request.pending_events[-1]
    assert isinstance(approved, ApprovalRequest.Approved)
    assert (approved.approved_by, approved.loan_version) == ("carol", 7)
    with pytest.raises(CommandRefused, match="already approved"):
        request.approve("dave", loan_version=8, on=DAY)
    with pytest.raises(CommandRefused, match="already approved"):
        request.reject("dave", reason="late", on=DAY)


def test_only_a_below_threshold_request_is_approved_by_nobody() -> None:
    with pytest.raises(CommandRefused, match="approver must not be blank"):
        asked().approve("", loan_version=7, on=DAY)
    lifted = asked("50.00", "100.00")
    lifted.approve("", loan_version=7, on=DAY)
    assert lifted.status == "approved"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"action": "forgive_all"}, "action: 'forgive_all' is not one of"),
        ({"amount": Decimal("-1.00")}, "must not be negative"),
        ({"reason": "  "}, "reason must not be blank"),
        ({"requested_by": ""}, "requester must not be blank"),
    ],
)
def test_a_malformed_request_is_refused_before_any_event(
    change: dict[str, object], needle: str
) -> None:
    fields: dict[str, object] = {
        "loan_id": uuid4(),
        "loan_reference": "FEE",
        "action": "waiver",
        "details": {},
        "amount": Decimal("1.00"),
        "reason": "r",
        "requested_by": "desk",
        "threshold": None,
        "on": DAY,
    }
    with pytest.raises(CommandRefused, match=needle):
        ApprovalRequest.request("APR-000001", **{**fields, **change})  # type: ignore[arg-type]


def test_amounts_already_carried_out_under_the_threshold_that_day_count_toward_it() -> None:
    assert rule_for(Decimal("40.00"), Decimal("100.00"), Decimal("59.99")) == BELOW_THRESHOLD
    assert rule_for(Decimal("40.00"), Decimal("100.00"), Decimal("60.00")) == FOUR_EYES


@pytest.mark.parametrize(
    "written", ["carol", "Carol", "api:carol", " CAROL ", "caro\u200bl", "\uff43arol"]
)
def test_a_name_is_the_same_person_however_it_is_written(written: str) -> None:
    assert person_key(written) == "carol"
    assert same_person(written, "api:Carol")
    assert not same_person(written, "carole")
