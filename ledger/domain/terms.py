"""Terms of a loan (loan-rules section 1) as plain, immutable domain values.

Validation of user input lives in :mod:`ledger.services.products` (pydantic); this module only names
the vocabulary and the five product presets, so that the aggregate and the rules can use them
without importing anything beyond the standard library.
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from ledger.domain.money import Rounding


class DayCount(StrEnum):
    """Day-count conventions of loan-rules section 4."""

    ACT_360 = "ACT/360"
    ACT_365 = "ACT/365"
    ACT_ACT = "ACT/ACT"
    THIRTY_360 = "30/360"


class Arithmetic(StrEnum):
    """How a loan's daily accruals are computed (loan-rules section 4).

    ``exact``: base x rate x days / divisor kept as an exact fraction and rounded once.
    ``decimal28``: the day's rate ``annual_rate / divisor`` cut to 28 significant digits,
    as loans opened before exact accruals were computed; such loans keep it for life, so
    their recorded history still verifies and no figure already shown changes."""

    EXACT = "exact"
    DECIMAL28 = "decimal28"


class Method(StrEnum):
    """Repayment methods of loan-rules section 1."""

    EQUAL_INSTALLMENT = "equal_installment"
    EQUAL_PRINCIPAL = "equal_principal"
    INTEREST_FIRST = "interest_first"
    FLAT = "flat"


class InterestMethod(StrEnum):
    """How a period's normal interest is computed (loan-rules section 10): ``daily_balance``,
    the daily balance x the day's rate (sections 4-5); ``per_transaction``, the principal not
    yet due x (whole months x the monthly rate + odd days x the day rate)."""

    DAILY_BALANCE = "daily_balance"
    PER_TRANSACTION = "per_transaction"


class RemainingFees(StrEnum):
    """What a full prepayment of a ``bank_installment`` loan does with the handling fees of the
    installments not yet due (loan-rules section 13)."""

    CHARGE = "charge"
    WAIVE = "waive"


class Replan(StrEnum):
    """How a partial prepayment re-plans the remaining installments (loan-rules section 7)."""

    REDUCE_INSTALLMENT = "reduce_installment"
    REDUCE_TERM = "reduce_term"


@dataclass(frozen=True)
class Preset:
    """A product preset from the seed material (loan-rules section 1)."""

    name: str
    method: Method
    prepayment_fee_rate: Decimal
    notes: str


BANK_INSTALLMENT = "bank_installment"  # section 13

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "borrow_and_return",
            Method.EQUAL_INSTALLMENT,
            Decimal("0"),
            "repay any time, pay interest only for days used",
        ),
        Preset(
            "repay_on_schedule",
            Method.EQUAL_INSTALLMENT,
            Decimal("0.03"),
            "3 % of prepaid principal on prepayment",
        ),
        Preset(
            "interest_first",
            Method.INTEREST_FIRST,
            Decimal("0"),
            "interest monthly, principal with the last installment",
        ),
        Preset("equal_principal", Method.EQUAL_PRINCIPAL, Decimal("0"), ""),
        Preset(
            "mall_installment",
            Method.FLAT,
            Decimal("0"),
            "installment purchase: the charge is on the original principal",
        ),
        Preset(
            BANK_INSTALLMENT,
            Method.FLAT,
            Decimal("0"),
            "no interest: a handling fee of fee_rate_per_period x principal with each "
            "installment (section 13)",
        ),
    )
}

MAX_TERM = 360  # installments: 30 years of months (a new loan, a restructuring, a holiday)
DEFAULT_PENALTY_MULTIPLIER = Decimal("1.5")
DEFAULT_GRACE_DAYS = 0
DEFAULT_INSTALLMENT_MULTIPLE = Decimal("0.01")


@dataclass(frozen=True)
class Terms:
    """Every term of loan-rules section 1, already validated.

    Exactly one of ``daily_rate`` and ``annual_rate`` is set; ``day_count`` goes with
    ``annual_rate``.
    """

    product: str
    principal: Decimal
    term: int
    disbursed_on: date
    daily_rate: Decimal | None
    annual_rate: Decimal | None
    day_count: DayCount | None
    method: Method
    prepayment_fee_rate: Decimal
    penalty_multiplier: Decimal
    grace_days: int
    installment_multiple: Decimal
    rounding: Rounding
    arithmetic: Arithmetic = Arithmetic.EXACT
    first_due_date: date | None = None  # section 9: None, installment k due D0 + k months
    # section 11: None, one penalty on overdue principal and interest (section 4); set, overdue
    # interest bears compound interest at this multiplier apart from the principal's penalty
    compound_multiplier: Decimal | None = None
    interest_method: InterestMethod = InterestMethod.DAILY_BALANCE  # section 10
    # section 13 (bank_installment only): a handling fee round(P x f) with each installment,
    # and what a full prepayment does with the fees of the installments not yet due
    fee_rate_per_period: Decimal | None = None
    remaining_fees: RemainingFees | None = None

    @property
    def per_transaction(self) -> bool:
        """Section 10: the loan's normal interest is computed per transaction."""
        return self.interest_method is InterestMethod.PER_TRANSACTION

    @property
    def charges_handling_fee(self) -> bool:
        """Section 13: each installment carries a handling fee (a ``bank_installment`` loan)."""
        return self.fee_rate_per_period is not None

    @property
    def splits_penalty(self) -> bool:
        """Section 11: the loan named ``compound_multiplier``, so overdue principal bears
        penalty and overdue interest compound interest, each rounded on its own."""
        return self.compound_multiplier is not None

    def as_event_fields(self) -> dict[str, object]:
        """The terms as plain values (str, int, Decimal, date) for an event. A term added
        after loans were recorded is written only when set, so the terms of those loans (and
        the hash chain over them) read exactly as they were written."""
        added: dict[str, object] = {}
        if self.first_due_date is not None:
            added["first_due_date"] = self.first_due_date
        if self.compound_multiplier is not None:
            added["compound_multiplier"] = self.compound_multiplier
        if self.per_transaction:
            added["interest_method"] = self.interest_method.value
        if self.fee_rate_per_period is not None:
            added["fee_rate_per_period"] = self.fee_rate_per_period
        if self.remaining_fees is not None:
            added["remaining_fees"] = self.remaining_fees.value
        return {
            "product": self.product,
            "principal": self.principal,
            "term": self.term,
            "disbursed_on": self.disbursed_on,
            "daily_rate": self.daily_rate,
            "annual_rate": self.annual_rate,
            "day_count": self.day_count.value if self.day_count else None,
            "method": self.method.value,
            "prepayment_fee_rate": self.prepayment_fee_rate,
            "penalty_multiplier": self.penalty_multiplier,
            "grace_days": self.grace_days,
            "installment_multiple": self.installment_multiple,
            "rounding": self.rounding.value,
            "arithmetic": self.arithmetic.value,
            **added,
        }

    @classmethod
    def from_event_fields(cls, fields: dict[str, object]) -> Terms:
        day_count = fields["day_count"]
        return cls(
            product=str(fields["product"]),
            principal=_dec(fields["principal"]),
            term=int(str(fields["term"])),
            disbursed_on=_date(fields["disbursed_on"]),
            daily_rate=_dec(fields["daily_rate"]) if fields["daily_rate"] is not None else None,
            annual_rate=(
                _dec(fields["annual_rate"]) if fields["annual_rate"] is not None else None
            ),
            day_count=DayCount(str(day_count)) if day_count is not None else None,
            method=Method(str(fields["method"])),
            prepayment_fee_rate=_dec(fields["prepayment_fee_rate"]),
            penalty_multiplier=_dec(fields["penalty_multiplier"]),
            grace_days=int(str(fields["grace_days"])),
            installment_multiple=_dec(fields["installment_multiple"]),
            rounding=Rounding(str(fields["rounding"])),
            # terms recorded before exact accruals have no "arithmetic": they used decimal28
            arithmetic=Arithmetic(str(fields.get("arithmetic", Arithmetic.DECIMAL28.value))),
            first_due_date=_optional_date(fields.get("first_due_date")),
            compound_multiplier=_optional_dec(fields.get("compound_multiplier")),
            interest_method=InterestMethod(
                str(fields.get("interest_method", InterestMethod.DAILY_BALANCE.value))
            ),
            fee_rate_per_period=_optional_dec(fields.get("fee_rate_per_period")),
            remaining_fees=(
                RemainingFees(str(fields["remaining_fees"]))
                if fields.get("remaining_fees") is not None
                else None
            ),
        )

    def due_date(self, k: int) -> date:
        """Sections 2 and 9: when installment ``k`` is due under these terms."""
        return due_date(self.disbursed_on, k, self.first_due_date)


def _dec(value: object) -> Decimal:
    assert isinstance(value, Decimal), value
    return value


def _optional_dec(value: object) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))  # a projection's fold keeps it as text


def _optional_date(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))  # a projection's fold keeps it as text


def due_date(disbursed_on: date, k: int, first_due_date: date | None = None) -> date:
    """Sections 2 and 9: installment ``k`` is due on ``D0 + k months``; with a first due date
    ``F``, on ``F + (k - 1) months``; each counted from its origin (never from the previous
    due date), the day clamped to the month's end. Installment 0 is the disbursement."""
    if k < 0:
        raise ValueError("installment number must be >= 0")
    if first_due_date is None:
        return add_months(disbursed_on, k)
    return disbursed_on if k == 0 else add_months(first_due_date, k - 1)


@functools.lru_cache(maxsize=65536)
def add_months(origin: date, months: int) -> date:
    """``origin`` plus ``months`` calendar months, the day clamped to the month's end (Jan 31
    + 1 month is Feb 28 or 29)."""
    index = origin.month - 1 + months
    year, month = origin.year + index // 12, index % 12 + 1
    return date(year, month, min(origin.day, calendar.monthrange(year, month)[1]))


def _date(value: object) -> date:
    assert isinstance(value, date), value
    return value
