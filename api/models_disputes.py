"""Dispute cases over HTTP (issue 14, point 1): what the routes of :mod:`api.routes_disputes`
accept (request bodies, read by the same strict readers as the command line) and answer
(the case as ``ledger dispute show --json`` prints it, the list as ``ledger dispute list``).

A finding's ``result`` is an open object: it is what verify, what-if or explain answered
when it was attached (their own models are in :mod:`api.models_audit`), stored as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Path as PathParam
from fastapi import Query
from pydantic import AfterValidator, Field, StrictBool, StrictStr

from api.inputs import LOAN_PATH_PATTERN, Amount, Body, IsoDate, Reason
from api.models import Day, Money, Reference, Shape, Timestamp
from ledger.domain.dispute import CHANNELS, CHARGES, OUTCOMES
from ledger.domain.errors import InvalidInput
from ledger.services import parsing

Charge = Literal["fee", "penalty", "interest", "principal", "other"]
Channel = Literal["phone", "branch", "letter", "email", "app", "web", "other"]
Outcome = Literal["upheld", "partly_upheld", "rejected"]
Status = Literal["open", "decided", "closed"]
assert set(Charge.__args__) == set(CHARGES)  # type: ignore[attr-defined]
assert set(Channel.__args__) == set(CHANNELS)  # type: ignore[attr-defined]
assert set(Outcome.__args__) == set(OUTCOMES)  # type: ignore[attr-defined]


def _read(read: Callable[[str], object]) -> AfterValidator:
    """A strict reader of :mod:`ledger.services.parsing` as a field check (422 naming it)."""

    def check(value: str) -> str:
        try:
            read(value)
        except InvalidInput as error:
            raise ValueError(str(error).split(": ", 1)[-1]) from None
        return value

    return AfterValidator(check)


Text = Annotated[
    StrictStr,
    Field(
        description="One line, at most 500 characters", min_length=1, max_length=parsing.MAX_TEXT
    ),
    _read(lambda v: parsing.text(v, "text")),
]
OptionalText = Annotated[
    StrictStr,
    Field(description="One line, at most 500 characters", max_length=parsing.MAX_TEXT),
    _read(lambda v: parsing.text(v, "text", required=False)),
]
LoanRef = Annotated[
    StrictStr,
    Field(description="The loan's reference or UUID", pattern=LOAN_PATH_PATTERN, max_length=64),
    _read(lambda v: parsing.loan_reference(v, "loan_id")),
]
DisputeId = Annotated[
    str,
    PathParam(
        description="The case's reference (DSP-000001) or its UUID",
        pattern=LOAN_PATH_PATTERN,
        max_length=64,
    ),
]
LoanFilter = Annotated[
    str | None,
    Query(description="Only the cases of this loan", pattern=LOAN_PATH_PATTERN, max_length=64),
]
StatusFilter = Annotated[
    Literal["open", "decided", "closed"] | None, Query(description="Only cases in this status")
]
DisputeRef = Annotated[str, Field(description="The case's reference", examples=["DSP-000001"])]


# --------------------------------------------------------------------------- requests


class OpenDispute(Body):
    loan_id: LoanRef
    charge: Charge
    amount: Amount
    from_: IsoDate = Field(alias="from")
    to: IsoDate
    claim: Text
    received_by: Text
    channel: Channel
    channel_ref: OptionalText = ""


class AttachFinding(Body):
    """Exactly one of ``verify: true``, ``what_if`` (terms and values) or ``explain`` (a
    figure of the loan)."""

    verify: StrictBool = False
    what_if: dict[StrictStr, StrictStr] | None = Field(default=None, max_length=9)
    explain: StrictStr | None = Field(default=None, max_length=40)
    note: OptionalText = ""


class Decision(Body):
    outcome: Outcome
    reasons: Reason
    remedy: OptionalText = ""
    remedy_amount: Amount | None = None


class Closure(Body):
    note: Reason


# --------------------------------------------------------------------------- answers


class Step(Shape):
    """Who and when: the business date, the time it was recorded, who did it."""

    on: Day
    recorded_at: Timestamp
    actor: str


class Claim(Step):
    charge: Charge
    amount: Money
    from_: Day = Field(alias="from")
    to: Day
    text: str
    received_by: str
    channel: Channel
    channel_ref: str


class Finding(Step):
    n: int = Field(description="1 for the first finding attached")
    kind: Literal["verify", "what_if", "explain"]
    note: str
    subject: dict[str, Any] = Field(
        description="What was asked: {} (verify), {'set': {term: value}} (what-if), "
        "{'figure': name} (explain)"
    )
    loan_version: int = Field(description="The loan's version the finding was computed at")
    result: dict[str, Any] = Field(description="The finding as the ledger gave it then")
    summary: str


class DecisionTaken(Step):
    outcome: Outcome
    reasons: str
    remedy: str
    remedy_amount: Money | None


class Closing(Step):
    note: str


class DisputeCase(Shape):
    """A dispute case (``ledger dispute show --json``)."""

    dispute_id: DisputeRef
    uuid: str
    loan_id: Reference
    loan_uuid: str
    status: Status
    version: int
    claim: Claim
    findings: list[Finding]
    decision: DecisionTaken | None
    closure: Closing | None


class DisputeRow(Shape):
    dispute_id: DisputeRef
    loan_id: Reference
    status: Status
    charge: Charge
    amount: Money
    opened_on: Day
    findings: int
    outcome: Outcome | None


class DisputeList(Shape):
    """``GET /disputes`` (``ledger dispute list --json``), oldest first."""

    disputes: list[DisputeRow]
    total: int
