"""Terms of a loan (loan-rules section 1) as plain, immutable domain values.

Validation of user input lives in :mod:`ledger.services.products` (pydantic); this module only names
the vocabulary and the five product presets, so that the aggregate and the rules can use them
without importing anything beyond the standard library.
"""

from __future__ import annotations

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
    )
}

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

    def as_event_fields(self) -> dict[str, object]:
        """The terms as plain values (str, int, Decimal, date) for an event."""
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
        )


def _dec(value: object) -> Decimal:
    assert isinstance(value, Decimal), value
    return value


def _date(value: object) -> date:
    assert isinstance(value, date), value
    return value
