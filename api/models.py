"""What the HTTP API answers, as pydantic models: the OpenAPI document's response schemas.

Each model is the JSON an endpoint returns today (the same the CLI prints with ``--json``):
amounts are strings with exactly two decimals (:data:`Money`), unrounded figures and rates
are decimal strings (:data:`DecimalText`), dates ISO ``YYYY-MM-DD`` (:data:`Day`).

Models are closed (``extra="forbid"``: a field the code adds without listing it here fails
the tests loudly instead of being dropped silently), except where the shape is open, each
saying so: :class:`LoanFigures` and :class:`Statement` (they grow with the ledger's figures
and flows: a loan's ``credit`` is new), an event's ``data`` (its fields depend on the event's
type) and a correction's ``differences``. ``GET /status``'s parts may each be
``{"error": ...}`` instead (:class:`PartError`). The audits are in :mod:`api.models_audit`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Money = Annotated[
    str,
    Field(
        pattern=r"^-?[0-9]+\.[0-9]{2}$",
        description="An amount: a string with exactly two decimals",
        examples=["1100.16"],
    ),
]
DecimalText = Annotated[
    str,
    Field(
        pattern=r"^-?[0-9]+(\.[0-9]+)?(E[-+]?[0-9]+)?$",
        description="A rate or an unrounded figure, as a decimal string (a very small one "
        "with an exponent, as Python writes it: '1E-8')",
        examples=["0.0005"],
    ),
]
Unrounded = Annotated[
    str,
    Field(
        description="An unrounded sum: its decimal, and the exact fraction when no decimal "
        "holds it",
        examples=["155.20176", "0.008333333333333333333333333333 (exactly 1/120)"],
    ),
]
Day = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        json_schema_extra={"format": "date"},
        examples=["2026-02-15"],
    ),
]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
LoanStatus = Literal["active", "overdue", "closed", "written_off"]
Reference = Annotated[str, Field(description="The loan's reference, or its UUID if it has none")]


class Shape(BaseModel):
    """A closed JSON object: every field it can hold is listed."""

    model_config = ConfigDict(extra="forbid")


class Problem(Shape):
    """An RFC 9457 problem (``application/problem+json``): every error answer."""

    type: str = Field(description="A URI naming the kind of problem")
    title: str = Field(description="The kind of problem, in words")
    status: int = Field(description="The HTTP status", ge=400, le=599)
    detail: str = Field(description="What went wrong, one line")
    instance: str = Field(default="", description="The path asked for (absent if none)")


# --------------------------------------------------------------------------- a loan's figures


class LoanFigures(BaseModel):
    """A loan's balance (``ledger loan show``), as of one business day.

    Open (``extra="allow"``): a loan's figures grow (``credit``, owed to the borrower, is
    new), and a figure added later must not break its readers. Read from the
    balances projection (``GET /loans/{loan_id}``, ``GET /loans``) it also has
    ``overdue_since``, ``next_due_amount`` and ``version``; computed from the events (``as_of``,
    ``known_at``, a command's answer) it has not. A loan that names ``compound_multiplier``
    (loan-rules section 11) also has ``compound_accrued``, the compound interest owed; a
    written-off loan (section 14) ``written_off`` and ``written_off_outstanding`` (written off
    and not yet recovered); an open loan in non-accrual (section 15) ``non_accrual`` (true)
    and ``non_accrual_since`` (its charges are not income from the next day on; its figures
    are the contract's as ever)."""

    model_config = ConfigDict(extra="allow")

    loan_id: Reference
    uuid: str
    product: str
    status: LoanStatus
    as_of: Day = Field(description="The business day the figures belong to")
    day_closed: bool = Field(description="Whether that day's end of day has run")
    principal_outstanding: Money
    interest_accrued: Money
    penalty_accrued: Money
    overdue_amount: Money
    amount_due: Money
    days_past_due: int | None
    overdue_since: Day | None = None
    next_due_date: Day | None
    next_due_amount: Money | None = None
    principal_repaid: Money
    interest_paid: Money
    penalty_paid: Money
    fees_paid: Money
    credit: Money | None = Field(
        default=None, description="Owed to the borrower (an overpayment, a refund due)"
    )
    closed_on: Day | None
    version: int | None = Field(default=None, description="The last event folded in")


class LoanPage(Shape):
    """``GET /loans``: a page of loans, how many match in all, and the key of the next."""

    loans: list[LoanFigures]
    total: int = Field(description="How many loans match the filters (on every page)")
    next_after: str | None = Field(
        description="Pass as `after` for the next page; null on the last page"
    )


# --------------------------------------------------------------------------- commands


class Allocation(Shape):
    """What a payment paid of one installment ``k``."""

    k: int
    penalty: Money
    compound: Money | None = Field(
        default=None,
        description="Compound interest paid (loan-rules section 11); only on a loan that "
        "names compound_multiplier",
    )
    fee: Money | None = Field(
        default=None,
        description="Handling fee paid (loan-rules section 13); only on a bank_installment loan",
    )
    interest: Money
    principal: Money
    total: Money


class RepaymentDone(Shape):
    """``POST /loans/{loan_id}/repayments``: the repayment and how it was allocated."""

    loan_id: Reference
    on: Day
    amount: Money
    allocations: list[Allocation]
    penalty: Money
    interest: Money
    principal: Money
    status: LoanStatus
    amount_due: Money


class PrepaymentAnswer(Shape):
    """A prepayment made (``executed: true``) or quoted. A partial one also says how the
    plan was redone (``replan``, ``emi``, ``principal_step``, ``last_installment``). A
    ``bank_installment`` loan's (loan-rules section 13, full only) also shows the handling fees
    due and unpaid and those of the installments not yet due."""

    loan_id: Reference
    on: Day
    kind: Literal["full", "partial"]
    executed: bool
    principal: Money
    interest: Money
    overdue: Money
    penalty: Money
    fee: Money
    total: Money
    fee_rate: DecimalText
    remaining_principal: Money
    allocations: list[Allocation]
    status: LoanStatus
    replan: Literal["reduce_installment", "reduce_term"] | None = None
    emi: Money | None = None
    principal_step: Money | None = None
    last_installment: int | None = None
    handling_fees_due: Money | None = Field(
        default=None,
        description="Handling fees of the installments due and unpaid, paid through the "
        "allocations (section 13; bank_installment only; not in overdue)",
    )
    remaining_fees_rule: Literal["charge", "waive"] | None = Field(
        default=None, description="The loan's remaining_fees term (section 13)"
    )
    remaining_fee_installments: int | None = Field(
        default=None, description="How many installments are not yet due (section 13)"
    )
    handling_fee: Money | None = Field(
        default=None, description="The handling fee of each installment, round(P x f)"
    )
    remaining_fees: Money | None = Field(
        default=None,
        description="The fees of the installments not yet due as charged: handling_fee x "
        "remaining_fee_installments under charge, 0.00 under waive (in total)",
    )


# A gated command carried out at once (under the four-eyes threshold, loan-rules §12.5)
CarriedOut = Annotated[
    dict[str, Any] | None,
    Field(
        description="The approval request recorded as carried out by the threshold rule (as "
        "GET /approvals/{approval_id} answers it)"
    ),
]


class CorrectionDone(Shape):
    """A correction recorded (a back-dated repayment, a reversal): the ``Corrected`` event
    and the loan after it. ``differences`` is open: each derived figure that changed, and per
    installment what changed, as the event records it."""

    loan_id: Reference
    version: int
    kind: str
    effective_on: Day
    recorded_for: Day
    amount: Money | None
    reverses: int | None
    supersedes: int = Field(description="How many events the corrected history replaces")
    refund_due: Money
    actor: str
    reason: str
    differences: dict[str, Any]
    waivers_not_reproduced: list[dict[str, Any]] = Field(
        description="Recorded waivers the corrected history could not repeat in full (§12)"
    )
    status: LoanStatus
    principal_outstanding: Money
    amount_due: Money
    credit: Money
    approval: CarriedOut = None


class RefundDone(Shape):
    """``POST /loans/{loan_id}/refunds``: credit paid back to the borrower's linked account
    through the payment gateway (loan-rules section 12), as the ``Refunded`` event records it:
    ``credit_after = credit_before - amount``."""

    loan_id: Reference
    on: Day
    amount: Money
    credit_before: Money
    credit_after: Money = Field(description="Still owed to the borrower")
    actor: str
    reason: str
    version: int = Field(description="The Refunded event")
    status: LoanStatus
    approval: CarriedOut = None


class Released(Shape):
    """``POST /loans/{loan_id}/release``: the loan takes new events again."""

    loan_id: str
    released: bool
    reason: str


# --------------------------------------------------------------------------- reads


class ScheduleRow(Shape):
    """One installment: fixed amounts once it fell due, the plan before
    (``estimated: true``)."""

    k: int
    due_date: Day
    principal: Money | None
    interest: Money | None
    penalty: Money | None
    paid: Money | None
    status: Literal[
        "upcoming", "due", "partly_paid", "overdue", "paid", "prepaid", "written_off",
        "restructured", "holiday",
    ]  # fmt: skip
    estimated: bool
    planned_principal: Money | None
    planned_interest: Money | None
    paid_penalty: Money | None
    paid_interest: Money | None
    paid_principal: Money | None
    waived: Money | None
    last_paid_on: Day | None
    overdue_from: Day | None
    settled_on: Day | None


class Statement(BaseModel):
    """One statement cycle (the business days after due date ``cycle - 1`` through due date
    ``cycle``): ``closing = opening + disbursed + interest + penalty + fees - paid - waived
    + adjustments``; ``normal_accrued`` and ``penalty_accrued`` unrounded.

    Open (``extra="allow"``): its flows grow with the ledger's sources of money (credit
    applied and refunds, loan-rules section 12, are being added), each a column of its own."""

    model_config = ConfigDict(extra="allow")

    loan_id: Reference
    month: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$")
    cycle: int
    period_start: Day
    period_end: Day
    opening_balance: Money | None
    disbursed: Money | None
    interest: Money | None
    penalty: Money | None
    fees: Money | None
    deducted_penalty: Money | None
    deducted_interest: Money | None
    deducted_principal: Money | None
    deducted_fee: Money | None
    repaid_penalty: Money | None
    repaid_interest: Money | None
    repaid_principal: Money | None
    repaid_fee: Money | None
    prepaid_penalty: Money | None
    prepaid_interest: Money | None
    prepaid_principal: Money | None
    prepaid_fee: Money | None
    paid_total: Money | None
    waived: Money | None
    adjustments: Money | None
    closing_balance: Money | None
    closing_principal: Money | None
    closing_interest: Money | None
    closing_penalty: Money | None
    normal_accrued: Unrounded | None
    penalty_accrued: Unrounded | None
    events: int
    last_version: int


class Event(Shape):
    """One recorded event. ``data`` is open: the event's own fields, as recorded (an
    ``InterestAccrued`` has ``base``, ``rate``, ``days``, ``normal``, ``penalties``...)."""

    version: int
    type: str
    effective_date: Day
    recorded_at: Timestamp
    data: dict[str, Any]


class ProductTotals(Shape):
    product: str
    status: LoanStatus
    loans: int
    principal_outstanding: Money
    overdue_amount: Money


class Bucket(Shape):
    bucket: str = Field(examples=["current", "1-30", "31-60", "61-90", "90+"])
    loans: int
    principal_outstanding: Money
    overdue_amount: Money
    share_of_principal: DecimalText


class Portfolio(Shape):
    """The book at the end of a business day: totals by product and status, delinquency
    buckets of the open loans."""

    as_of: Day | None
    loans: int
    open_loans: int
    principal_outstanding: Money
    overdue_amount: Money
    by_product: list[ProductTotals]
    buckets: list[Bucket]
