"""What the HTTP API's audits answer (explain, verify, checkpoints, projection checks,
what-if, the dispute report), as pydantic models; the shared types are in :mod:`api.models`.

Closed like those, except: a discrepancy's or a difference's ``recorded``/``stored`` and
``recomputed`` values (any JSON: the value of whatever field differs) and a what-if's
``changed`` (the terms asked for, by name)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from api.models import (
    Day,
    DecimalText,
    LoanFigures,
    LoanStatus,
    Money,
    Reference,
    ScheduleRow,
    Shape,
    Timestamp,
)
from api.models_approvals import ApprovalView
from api.models_disputes import DisputeCase
from api.models_status import ProjectionStatus

# --------------------------------------------------------------------------- explain


class Line(Shape):
    """One event's part in a figure: its amount (unrounded where the event's is), the
    arithmetic and the rule section. ``exact`` when no decimal holds the amount
    (``"1/120"``). ``version`` and ``recorded_at`` are null on a history recomputed from
    corrected facts."""

    version: int | None
    date: Day
    recorded_at: Timestamp | None
    event: str
    amount: DecimalText
    arithmetic: str
    rule: str
    exact: str | None = None


class Figure(Shape):
    """A figure of the balance, its lines added up apart, and whether they agree."""

    figure: Money
    sum_of_parts: DecimalText
    sum_of_parts_exact: str | None = None
    rounded: str | None = None
    adds_up: bool
    lines: list[Line]


class UnsettledInstallment(Shape):
    k: int
    due_date: Day
    overdue_from: Day | None
    penalty: str = Field(description="The penalty owed, with its arithmetic")
    compound: str | None = Field(
        default=None,
        description="Section 11, a loan that splits it: the compound interest owed, with its "
        "arithmetic (absent on other loans)",
    )
    fee_owed: Money | None = Field(
        default=None,
        description="Section 13, a bank installment: the handling fee owed (absent on other loans)",
    )
    interest_owed: Money
    principal_owed: Money
    lines: dict[str, list[Line]] = Field(
        description="Lines by part: interest, penalty, principal (compound, fee where they apply)"
    )


class Explanation(Shape):
    """``GET /loans/{loan_id}/explain``: every figure broken into the events that built it;
    ``adds_up`` when every figure's lines add up to it."""

    loan_id: Reference
    as_of: Day
    known_at: Timestamp | None
    recomputed_from_corrected_facts: bool
    version: int
    status: LoanStatus
    figures: dict[str, Figure]
    unsettled_installments: list[UnsettledInstallment]
    adds_up: bool


# --------------------------------------------------------------------------- verify


class BrokenLink(Shape):
    first_broken_version: int
    why: str


class Discrepancy(Shape):
    """A recorded figure the rules, replayed, do not give."""

    version: int
    event: str
    field: str
    recorded: Any
    recomputed: Any


class Verification(Shape):
    """``GET /loans/{loan_id}/verify``: the hash chain, the integrity checks (anchors,
    snapshots) and the events replayed through the rules."""

    loan_id: Reference
    uuid: str
    events: int
    clean: bool
    unchained_events: int
    unkeyed_events: int
    hash_chain: str | BrokenLink = Field(
        description="'intact' (or how much of it is), or where it breaks"
    )
    integrity: list[str]
    discrepancies: list[Discrepancy]


class Checkpoint(Shape):
    """A daily checkpoint as ``ledger audit checkpoint export`` writes it (keys sorted)."""

    day: Day
    heads_digest: str
    loans: int
    position: int
    previous: str
    seal: str
    seq: int
    taken_at: Timestamp


class Checkpoints(Shape):
    """``GET /audit/checkpoints``: the sealed daily checkpoints and what is wrong with them."""

    checkpoints: list[Checkpoint]
    clean: bool
    problems: list[str]


# --------------------------------------------------------------------------- projections check


class Difference(Shape):
    projection: str
    loan_id: str
    uuid: str
    table: str
    row: str
    column: str
    stored: Any
    recomputed: Any


class LoanNote(Shape):
    projection: str
    loan_id: str
    uuid: str
    folded_version: int
    latest_version: int


class PortfolioTotals(Shape):
    loans_compared: int
    stored: dict[str, int]
    recomputed_from_balances: dict[str, int]


class ProjectionsCheck(Shape):
    """``GET /audit/projections``: the stored read models against the same recomputed from
    the events; amounts in whole fen, as stored."""

    clean: bool
    loans: int
    sample: dict[str, int] | None
    projections: list[ProjectionStatus]
    differences: list[Difference]
    behind: list[LoanNote]
    quarantined: list[LoanNote]
    rebuilding: list[str]
    portfolio_totals: PortfolioTotals
    amounts: str
    repaired: list[dict[str, str]] | None = None
    clean_after_repair: bool | None = None
    differences_after_repair: list[Difference] | None = None


# --------------------------------------------------------------------------- what-if


class Charged(Shape):
    interest: Money
    penalty: Money
    fee: Money
    total: Money


class WhatIfRow(Shape):
    k: int = Field(description="The installment; 0: charged outside the installments")
    charged: Charged
    would_have_been: Charged
    difference: Money


class WhatIfTotal(Shape):
    charged: Charged
    would_have_been: Charged
    difference: Money


class WhatIfAnswer(Shape):
    """``POST /loans/{loan_id}/what-if``: the loan's facts replayed under other terms."""

    loan_id: Reference
    changed: dict[str, str]
    installments: list[WhatIfRow]
    total: WhatIfTotal
    notes: list[str]
    refund_due: Money


# --------------------------------------------------------------------------- the dispute report


class ReportTerms(Shape):
    product: str
    principal: Money
    term: int
    disbursed_on: Day
    first_due_date: Day = Field(description="Installment 1's due date (loan-rules 2 and 9)")
    rate: str = Field(examples=["0.0005 a day"])
    method: str
    interest_method: str = Field(
        description="daily_balance (sections 4-5) or per_transaction (section 10)"
    )
    monthly_rate: DecimalText
    emi: Money
    prepayment_fee_rate: DecimalText
    penalty_multiplier: DecimalText
    compound_multiplier: DecimalText | None = Field(
        description="Section 11: overdue interest bears compound interest at this multiple "
        "(null: one penalty on principal and interest, section 4)"
    )
    fee_rate_per_period: DecimalText | None = Field(
        default=None,
        description="Section 13, a bank_installment loan only: each installment's handling fee "
        "is round(principal x this)",
    )
    remaining_fees: Literal["charge", "waive"] | None = Field(
        default=None,
        description="Section 13, a bank_installment loan only: the fees of the installments "
        "not yet due at a full prepayment",
    )
    grace_days: int
    rounding: str


class PenaltyLine(Shape):
    from_: Day = Field(alias="from")
    to: Day
    arithmetic: str
    amount: DecimalText


class Charge(Shape):
    k: int = Field(description="The installment; 0: interest charged outside the installments")
    due_date: str = Field(description="ISO date; empty on the row k = 0")
    interest: Money
    interest_arithmetic: str
    penalty: Money
    penalty_arithmetic: str
    penalty_lines: list[PenaltyLine]
    penalty_waived: Money
    interest_waived: Money


class Fee(Shape):
    on: Day
    fee: Money
    arithmetic: str


class ReportTotals(Shape):
    interest: Money
    penalty: Money
    fees: Money
    waived: Money
    received: Money


class Payment(Shape):
    version: int
    on: Day
    how: str
    amount: Money
    allocated: str


class CorrectionLine(Shape):
    version: int
    recorded_at: Timestamp
    what: str
    actor: str
    reason: str


class CashFlow(Shape):
    on: Day
    amount: Money
    what: str


class Cap(Shape):
    cap: str
    annual: str | None
    within: bool | None
    verdict: str


class Cost(Shape):
    cash_flows: list[CashFlow]
    annual_irr: str | None = Field(examples=["23.45 %"])
    daily_irr: str | None
    to_date: bool
    caps: list[Cap]
    method: str


class Report(Shape):
    """``GET /loans/{loan_id}/report`` (``format=json``): the dispute report."""

    title: str
    generated_at: Timestamp
    loan_id: Reference
    uuid: str
    terms: ReportTerms
    balance: LoanFigures
    day_closed: bool
    schedule: list[ScheduleRow]
    charges: list[Charge]
    fees: list[Fee]
    totals: ReportTotals
    payments: list[Payment]
    corrections: list[CorrectionLine]
    verification: Verification
    cost: Cost
    disputes: list[DisputeCase] = Field(description="The loan's dispute cases, oldest first")
    approvals: list[ApprovalView] = Field(
        description="The loan's four-eyes requests, oldest first, each with the rule applied"
    )
