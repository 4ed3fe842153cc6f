"""What the HTTP API accepts: request bodies and path/query values, read by the same strict
readers as the command line (:mod:`ledger.services.parsing`).

JSON gives types of its own, so strictness has two halves: the JSON type must be the right
one (``"term": true`` is not 1 month, ``"full": "true"`` is not a payoff: strict ints and
booleans), and text must be in the ledger's one form (money ``-?digits[.dd]``, dates
``YYYY-MM-DD``, identifiers). A value that is not is a 422 problem that names the field.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Header, Query
from fastapi import Path as PathParam
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
)

from ledger.domain.errors import InvalidInput
from ledger.domain.terms import PRESETS
from ledger.services import parsing
from projections.loan_list import DEFAULT_PAGE, MAX_PAGE
from projections.verify import MAX_SAMPLE, MAX_SEED


def _reader(read: Callable[[Any], Any]) -> AfterValidator:
    """A pydantic validator around a strict reader: its refusal becomes a field error."""

    def check(value: Any) -> Any:
        try:
            read(value)
            return value  # kept as the text sent; the endpoint reads it once more, exactly
        except InvalidInput as error:
            raise ValueError(str(error).split(": ", 1)[-1]) from None

    return AfterValidator(check)


Amount = Annotated[
    StrictStr,
    Field(
        description="Amount: digits with at most two decimals, as a string, e.g. '300.00'",
        max_length=20,
        examples=["300.00"],
    ),
    _reader(lambda v: parsing.money_text(v, "amount", positive=True)),
]
Rate = Annotated[
    StrictStr,
    Field(description="A rate or multiplier as a decimal string, e.g. '0.0005'", max_length=24),
    _reader(lambda v: parsing.decimal_text(v, "rate")),
]
IsoDate = Annotated[
    StrictStr,
    Field(description="An ISO date YYYY-MM-DD", pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
    _reader(lambda v: parsing.date_text(v, "date")),
]
NewLoanId = Annotated[
    StrictStr,
    Field(
        description="Your reference: 1 to 64 of A-Z a-z 0-9 . _ -, not a UUID",
        min_length=1,
        max_length=parsing.MAX_IDENTIFIER,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    ),
    _reader(lambda v: parsing.identifier(v, "loan_id")),
]
Reason = Annotated[
    StrictStr,
    Field(description="Why, one line", min_length=1, max_length=parsing.MAX_TEXT),
    _reader(lambda v: parsing.text(v, "reason")),
]
# A loan named in a path: its reference or its UUID (canonical form).
LOAN_PATH_PATTERN = (
    r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[A-Za-z0-9][A-Za-z0-9._-]{0,63})$"
)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenLoan(Body):
    loan_id: NewLoanId | None = None
    product: StrictStr = Field(max_length=40)
    principal: Amount
    term: StrictInt = Field(ge=1, le=360)
    disbursed_on: IsoDate
    daily_rate: Rate | None = None
    annual_rate: Rate | None = None
    day_count: StrictStr | None = Field(default=None, max_length=10)
    method: StrictStr | None = Field(default=None, max_length=40)
    prepayment_fee_rate: Rate | None = None
    penalty_multiplier: Rate | None = None
    compound_multiplier: Rate | None = Field(
        default=None,
        description="Overdue interest bears compound interest at this multiplier, apart from "
        "the overdue principal's penalty (loan-rules section 11); default: one penalty on both",
    )
    interest_method: StrictStr | None = Field(
        default=None,
        max_length=20,
        description="daily_balance (default) or per_transaction: the principal not yet due x "
        "(whole months x the monthly rate + odd days x the day rate) (loan-rules section 10)",
    )
    fee_rate_per_period: Rate | None = Field(
        default=None,
        description="bank_installment only (required there; no rate is given, it bears no "
        "interest): each installment carries a handling fee of this fraction of the principal, "
        "e.g. 0.006 (loan-rules section 13)",
    )
    remaining_fees: Literal["charge", "waive"] | None = Field(
        default=None,
        description="bank_installment only: on a full prepayment the fees of the installments "
        "not yet due are charged or waived (default charge; loan-rules section 13)",
    )
    grace_days: StrictInt | None = Field(default=None, ge=0, le=90)
    installment_multiple: Rate | None = None
    rounding: StrictStr | None = Field(default=None, max_length=20)
    first_due_date: IsoDate | None = Field(
        default=None,
        description="Installment 1's due date, after disbursed_on and at most two months "
        "later (loan-rules section 9); default: disbursed_on + 1 month",
    )


class Repayment(Body):
    amount: Amount
    on: IsoDate
    backdated: StrictBool = False
    reason: Reason | None = None


class Prepayment(Body):
    on: IsoDate
    full: StrictBool = False
    amount: Amount | None = None
    replan: Literal["reduce_installment", "reduce_term"] = "reduce_installment"


class Reversal(Body):
    event: StrictInt = Field(ge=1, le=2_000_000_000)
    reason: Reason


class Release(Body):
    reason: Reason


class Waiver(Body):
    part: Literal["fee", "penalty", "interest", "compound"] = Field(
        description="fee: the prepayment fee (always paid: waived, it becomes credit); "
        "penalty, interest: what is owed first, then what was paid, as credit; compound: "
        "compound interest still owed, on a loan that charges it apart (section 11)"
    )
    amount: Amount
    reason: Reason
    on: IsoDate | None = None


class Refund(Body):
    amount: Amount = Field(description="At most the credit the loan holds for its borrower")
    reason: Reason
    on: IsoDate | None = None


class WhatIf(Body):
    set: dict[
        Annotated[StrictStr, Field(max_length=40)], Annotated[StrictStr, Field(max_length=40)]
    ] = Field(default_factory=dict)


def amount_of(text: str) -> Decimal:
    """A body's amount (already checked by the model) as money."""
    return parsing.money_text(text, "amount", positive=True)


def day_of(text: str) -> date:
    """A body's date (already checked by the model) as a date."""
    return parsing.date_text(text, "date")


# path and query values
LoanId = Annotated[
    str, PathParam(pattern=LOAN_PATH_PATTERN, max_length=64, description="Reference or UUID")
]
Month = Annotated[str, PathParam(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
AsOf = Annotated[IsoDate | None, Query(description="End of this business day")]
KnownAt = Annotated[
    str | None,
    Query(
        max_length=40,
        description="Only what was recorded by this time: ISO 8601 with an offset; without "
        "one it is read in the business timezone",
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        description="Any 1 to 200 printable ASCII characters of yours: the command runs once; "
        "a retry with the same key and body gets the first answer (`Idempotent-Replayed: "
        "true`) and writes nothing; with another body, 409",
    ),
]


# GET /loans: the filters and the page
def _whole(what: str, low: int, high: int) -> BeforeValidator:
    """A whole number in a query, read by the strict reader (ASCII digits only: not
    ``+5``, `` 5``, ``5.0``); its refusal is a field error."""

    def check(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return parsing.integer_text(value, what, low=low, high=high)
        except InvalidInput as error:
            raise ValueError(str(error).split(": ", 1)[-1]) from None

    return BeforeValidator(check)


def _known_product(value: str | None) -> str | None:
    if value is not None and value not in PRESETS:
        raise ValueError(f"unknown product {value[:40]!r} (one of: {', '.join(sorted(PRESETS))})")
    return value


MAX_DAYS_PAST_DUE = 100_000
StatusFilter = Annotated[
    Literal["active", "overdue", "closed", "written_off"] | None,
    Query(description="Only loans in this status"),
]
ProductFilter = Annotated[
    str | None,
    Query(
        max_length=40,
        description="Only loans of this product (a preset)",
        json_schema_extra={"enum": sorted(PRESETS)},
    ),
    AfterValidator(_known_product),
]
DaysPastDueFilter = Annotated[
    int | None,
    Query(ge=0, le=MAX_DAYS_PAST_DUE, description="Only loans at least this many days past due"),
    _whole("min_days_past_due", 0, MAX_DAYS_PAST_DUE),
]
After = Annotated[
    str | None,
    Query(
        max_length=120,
        pattern=r"^[A-Za-z0-9._-]{0,64}\|[0-9a-f-]{1,36}$",
        description="The `next_after` of the previous page: the loans after it",
    ),
]
Limit = Annotated[
    int,
    Query(ge=1, le=MAX_PAGE, description=f"At most this many loans (1 to {MAX_PAGE})"),
    _whole("limit", 1, MAX_PAGE),
]
DEFAULT_LIMIT = DEFAULT_PAGE


# GET /audit/projections
def _whole_number(what: str, low: int, high: int) -> AfterValidator:
    """A query value read by the strict integer reader; a refusal is a field error."""

    def check(value: str) -> str:
        try:
            parsing.integer_text(value, what, low=low, high=high)
        except InvalidInput as error:
            raise ValueError(str(error).split(": ", 1)[-1]) from None
        return value

    return AfterValidator(check)


Sample = Annotated[
    Annotated[str, Field(max_length=12), _whole_number("sample", 1, MAX_SAMPLE)] | None,
    Query(description="Check N loans drawn at random (default: every loan)"),
]
Seed = Annotated[
    Annotated[str, Field(max_length=12), _whole_number("seed", 0, MAX_SEED)] | None,
    Query(description="With sample: the seed, to draw the same loans again"),
]
LoanQuery = Annotated[
    str | None,
    Query(
        pattern=LOAN_PATH_PATTERN, max_length=64, description="Only this loan (reference or UUID)"
    ),
]
