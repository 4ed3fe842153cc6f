"""Validated loan terms from user input (pydantic v2), resolved against a product preset.

A bad value is refused with an error that names the field. Floats are refused: amounts and
rates are given as strings (the CLI passes its arguments as strings) or Decimals.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from ledger.domain.errors import CommandRefused, InvalidInput
from ledger.domain.money import FEN, Rounding
from ledger.domain.terms import (
    BANK_INSTALLMENT,
    DEFAULT_GRACE_DAYS,
    DEFAULT_INSTALLMENT_MULTIPLE,
    DEFAULT_PENALTY_MULTIPLIER,
    MAX_TERM,
    PRESETS,
    DayCount,
    InterestMethod,
    Method,
    RemainingFees,
    Terms,
    due_date,
)
from ledger.services import parsing

MAX_DAILY_RATE = Decimal("0.01")  # 1 % a day is 365 % a year: anything above is a typo
MIN_DAILY_RATE = Decimal("0.000001")  # 0.0001 % a day; below it a rate is a typo (1e-30)
MAX_ANNUAL_RATE = Decimal("3.65")
MIN_ANNUAL_RATE = Decimal("0.0001")  # 0.01 % a year
MAX_PRINCIPAL = Decimal("100000000")
MIN_PRINCIPAL = Decimal("1.00")
MAX_FEE_RATE_PER_PERIOD = Decimal("0.1")  # 10 % of the principal a month: above is a typo
RATE_PLACES = 10  # decimals a rate or a multiplier may have
WIDE = 999_999_999  # whole numbers are read within this; each field has its own bounds


def _decimal(value: Any) -> Decimal | None:
    """A rate, multiplier or amount: text of ASCII digits (strict), an int or a Decimal,
    with at most :data:`RATE_PLACES` decimals."""
    if value is None:
        return None
    try:
        return parsing.decimal_text(value, "value", places=RATE_PLACES)
    except InvalidInput as error:
        raise ValueError(str(error).removeprefix("value: ")) from None


def _whole(value: Any) -> int:
    """A whole number: an int (not a boolean) or text of ASCII digits, nothing else."""
    try:  # the bounds are the field's
        if isinstance(value, str):
            return parsing.integer_text(value, "value", low=-WIDE, high=WIDE)
        return parsing.integer_in_range(value, "value", low=-WIDE, high=WIDE)
    except InvalidInput as error:
        raise ValueError(str(error).removeprefix("value: ")) from None


def _day(value: Any) -> date:
    """A date object, or ISO ``YYYY-MM-DD`` text, within the dates the ledger keeps."""
    try:
        if isinstance(value, str):
            return parsing.date_text(value, "date")
        if isinstance(value, date) and not isinstance(value, datetime):
            return parsing.date_in_range(value)
    except InvalidInput as error:
        raise ValueError(str(error).removeprefix("date: ")) from None
    raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD)")


Dec = Annotated[Decimal, BeforeValidator(_decimal)]
Whole = Annotated[int, BeforeValidator(_whole)]
Day = Annotated[date, BeforeValidator(_day)]


class LoanTermsInput(BaseModel):
    """``ledger loan open`` flags; anything not given comes from the preset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product: str
    principal: Dec = Field(ge=MIN_PRINCIPAL, le=MAX_PRINCIPAL)
    term: Whole = Field(ge=1, le=MAX_TERM)
    disbursed_on: Day
    daily_rate: Dec | None = Field(default=None, ge=MIN_DAILY_RATE, le=MAX_DAILY_RATE)
    annual_rate: Dec | None = Field(default=None, ge=MIN_ANNUAL_RATE, le=MAX_ANNUAL_RATE)
    day_count: DayCount | None = None
    method: Method | None = None
    prepayment_fee_rate: Dec | None = Field(default=None, ge=0, lt=1)
    penalty_multiplier: Dec = Field(default=DEFAULT_PENALTY_MULTIPLIER, ge=0, le=10)
    grace_days: Whole = Field(default=DEFAULT_GRACE_DAYS, ge=0, le=90)
    installment_multiple: Dec = Field(default=DEFAULT_INSTALLMENT_MULTIPLE, gt=0, le=100)
    rounding: Rounding = Rounding.HALF_UP
    first_due_date: Day | None = None
    compound_multiplier: Dec | None = Field(default=None, ge=0, le=10)  # section 11
    interest_method: InterestMethod = InterestMethod.DAILY_BALANCE  # section 10
    # section 13, bank_installment only
    fee_rate_per_period: Dec | None = Field(default=None, ge=0, le=MAX_FEE_RATE_PER_PERIOD)
    remaining_fees: RemainingFees | None = None

    @model_validator(mode="after")
    def _check(self) -> LoanTermsInput:
        if self.product not in PRESETS:
            raise ValueError(
                f"product: unknown preset {self.product!r} (known: {', '.join(PRESETS)})"
            )
        if self.product == BANK_INSTALLMENT:
            self._check_bank_installment()
            return self._check_common()
        for name in ("fee_rate_per_period", "remaining_fees"):
            if getattr(self, name) is not None:
                raise ValueError(
                    f"{name}: only a bank_installment loan takes it (loan-rules section 13)"
                )
        if (self.daily_rate is None) == (self.annual_rate is None):
            raise ValueError("rate: give exactly one of daily_rate and annual_rate")
        if self.annual_rate is not None and self.day_count is None:
            raise ValueError("day_count: required with annual_rate")
        if self.daily_rate is not None and self.day_count is not None:
            raise ValueError("day_count: only applies to annual_rate")
        return self._check_common()

    def _check_common(self) -> LoanTermsInput:
        if self.principal != self.principal.quantize(FEN):
            raise ValueError("principal: more than two decimal places")
        if (self.installment_multiple / FEN) % 1 != 0:
            raise ValueError("installment_multiple: must be a whole number of fen")
        latest = due_date(self.disbursed_on, 2)
        if self.first_due_date is not None and not (
            self.disbursed_on < self.first_due_date <= latest
        ):
            raise ValueError(
                f"first_due_date: must be after disbursed_on {self.disbursed_on} and at most "
                f"two months later ({latest}), got {self.first_due_date} (loan-rules section 9)"
            )
        method = self.method or PRESETS[self.product].method
        if self.interest_method is InterestMethod.PER_TRANSACTION and method is Method.FLAT:
            raise ValueError(
                "interest_method: per_transaction does not apply to a flat loan, whose charge "
                "is on the original principal (loan-rules section 10)"
            )
        return self

    def _check_bank_installment(self) -> None:
        """Section 13: a bank_installment loan bears no interest (no rate is given: it is 0)
        and is repaid flat, with a handling fee ``fee_rate_per_period`` x principal a period."""
        for name in ("daily_rate", "annual_rate", "day_count"):
            if getattr(self, name) is not None:
                raise ValueError(
                    f"{name}: a bank_installment loan bears no interest; it charges "
                    "fee_rate_per_period instead (loan-rules section 13)"
                )
        if self.method not in (None, Method.FLAT):
            raise ValueError("method: a bank_installment loan is flat (loan-rules section 13)")
        if self.fee_rate_per_period is None:
            raise ValueError(
                "fee_rate_per_period: required for a bank_installment loan, e.g. 0.006 "
                "(loan-rules section 13)"
            )

    def to_terms(self) -> Terms:
        preset = PRESETS[self.product]
        bank = self.product == BANK_INSTALLMENT
        return Terms(
            product=self.product,
            principal=self.principal.quantize(FEN),
            term=self.term,
            disbursed_on=self.disbursed_on,
            daily_rate=Decimal("0") if bank else self.daily_rate,  # section 13: no interest
            annual_rate=self.annual_rate,
            day_count=self.day_count,
            method=self.method or preset.method,
            prepayment_fee_rate=(
                self.prepayment_fee_rate
                if self.prepayment_fee_rate is not None
                else preset.prepayment_fee_rate
            ),
            penalty_multiplier=self.penalty_multiplier,
            grace_days=self.grace_days,
            installment_multiple=self.installment_multiple,
            rounding=self.rounding,
            first_due_date=self.first_due_date,
            compound_multiplier=self.compound_multiplier,
            interest_method=self.interest_method,
            fee_rate_per_period=self.fee_rate_per_period,
            remaining_fees=(self.remaining_fees or RemainingFees.CHARGE) if bank else None,
        )


def terms_from_input(**fields: Any) -> Terms:
    """Validate user input into :class:`Terms`; a bad field is a one-line CommandRefused."""
    clean = {k: v for k, v in fields.items() if v is not None}
    try:
        return LoanTermsInput(**clean).to_terms()
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "terms"
        message = str(first["msg"]).removeprefix("Value error, ")
        if message.startswith(f"{where}:") or not first["loc"]:
            raise CommandRefused(f"invalid loan terms: {message}") from None
        raise CommandRefused(f"invalid loan terms: {where}: {message}") from None
