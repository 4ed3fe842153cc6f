"""The loan rules of ``docs/loan-rules.md`` as pure functions.

Each function names the section it implements. Nothing here reads a clock, a database or a
float; amounts are :class:`~decimal.Decimal` and are rounded only where the spec says, with
:func:`ledger.domain.money.round_to` and the product's rounding mode.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from ledger.domain.money import FEN, ONE, ZERO, Exact, Rounding, round_to
from ledger.domain.terms import Arithmetic, DayCount, Method
from ledger.domain.terms import due_date as due_date  # sections 2 and 9, kept with the terms

# --------------------------------------------------------------------------- section 2


# --------------------------------------------------------------------------- section 4


def days_30_360(start: date, end: date) -> int:
    """Section 4: the 30/360 day count from ``start`` to ``end``.

    ``360*(Y2-Y1) + 30*(M2-M1) + (D2-D1)`` with ``D1 = min(D1, 30)``, and ``D2 = 30`` when
    ``D2 = 31`` and ``D1 = 30``.
    """
    d1 = min(start.day, 30)
    d2 = end.day
    if d2 == 31 and d1 == 30:
        d2 = 30
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


@dataclass(frozen=True)
class DayRate:
    """Section 4: the rate of one business day: interest = base x ``rate`` x ``days`` /
    ``divisor``, exactly.

    ``rate`` is the product's rate as written (the daily rate, or the annual rate) and
    ``divisor`` the day count's year (1 for a daily rate; 360, 365 or 366 for an annual
    one), kept apart so nothing is cut to 28 digits. ``days`` is 1 except under 30/360,
    where day ``d`` counts ``days_30_360(d, d+1)`` (0 on the 30th of a 31-day month, 3 on
    Feb 28 of a common year, ...).
    """

    rate: Decimal
    divisor: int
    days: int
    arithmetic: Arithmetic = Arithmetic.EXACT

    @property
    def factor(self) -> Exact:
        """``rate x days / divisor``, exact."""
        return _factor(self.rate, self.days, self.divisor)


@functools.lru_cache(maxsize=256)
def _factor(rate: Decimal, days: int, divisor: int) -> Exact:
    """:attr:`DayRate.factor`, remembered: a book has a handful of rates and every loan-day
    asks for one (twice: when it accrues, and when the state adds what it accrued). Equal
    decimals (``0.0005`` and ``0.00050``) give the same exact fraction."""
    return Exact(rate) * days / divisor


def day_rate(
    on: date,
    *,
    daily_rate: Decimal | None,
    annual_rate: Decimal | None,
    day_count: DayCount | None,
    arithmetic: Arithmetic = Arithmetic.EXACT,
) -> DayRate:
    """Section 4: the rate of day ``on``.

    ``daily_rate``; or ``annual_rate/360`` (ACT/360 and 30/360), ``/365`` (ACT/365),
    ``/365`` or ``/366`` by the day's year (ACT/ACT); 30/360 counts the days of
    ``days_30_360(on, on + 1 day)``. Under ``decimal28`` (loans opened before exact
    accruals) the division is done here, to 28 digits, and the divisor is 1.
    """
    if daily_rate is not None:
        return DayRate(daily_rate, 1, 1, arithmetic)
    if annual_rate is None or day_count is None:
        raise ValueError("either daily_rate or annual_rate with day_count is required")
    days = 1
    if day_count is DayCount.ACT_365:
        divisor = 365
    elif day_count is DayCount.ACT_ACT:
        divisor = 366 if calendar.isleap(on.year) else 365
    else:
        divisor = 360
        if day_count is DayCount.THIRTY_360:
            days = days_30_360(on, on + timedelta(days=1))
    if arithmetic is Arithmetic.DECIMAL28:
        return DayRate(annual_rate / divisor, 1, days, arithmetic)
    return DayRate(annual_rate, divisor, days, arithmetic)


def normal_interest(base: Decimal, rate: DayRate) -> Exact | Decimal:
    """Section 4: normal interest of one day = ``base x rate x days / divisor``, exact
    (``decimal28``: ``base x rate x days`` in 28-digit decimals)."""
    if rate.arithmetic is Arithmetic.DECIMAL28:
        return base * rate.rate * rate.days
    return Exact(base) * rate.factor


def penalty_interest(overdue_base: Decimal, rate: DayRate, multiplier: Decimal) -> Exact | Decimal:
    """Section 4: penalty of one day = ``(overdue principal + overdue interest) x rate x
    days / divisor x penalty_multiplier``, exact (``decimal28``: in 28-digit decimals).
    Penalty does not bear penalty."""
    if rate.arithmetic is Arithmetic.DECIMAL28:
        return overdue_base * rate.rate * rate.days * multiplier
    return Exact(overdue_base) * rate.factor * Exact(multiplier)


def compound_interest(
    overdue_interest: Decimal, rate: DayRate, multiplier: Decimal
) -> Exact | Decimal:
    """Section 11: compound interest of one day on a loan that names ``compound_multiplier``
    = ``overdue interest x rate x days / divisor x compound_multiplier``, exact (its overdue
    principal bears :func:`penalty_interest` at ``penalty_multiplier`` apart). Neither bears
    penalty or compound interest."""
    return penalty_interest(overdue_interest, rate, multiplier)


def entry_charges(
    entry: Mapping[str, Any], rate: DayRate, penalty_multiplier: Decimal, arithmetic: Arithmetic
) -> tuple[Exact | Decimal, Exact | Decimal | None]:
    """Sections 4 and 11: one entry of ``InterestAccrued.penalties`` as the state adds it,
    (penalty, compound interest): exact from its inputs, or as recorded (``decimal28``). An
    entry that does not split (``{k, base, amount}``) is all penalty, compound ``None``; a
    split one has penalty = ``principal_base x rate x days / divisor x penalty_multiplier``
    and compound = ``interest_base x rate x days / divisor x compound_multiplier``; the
    entry's own ``rate``, ``divisor`` and ``days`` where it has them (section 10)."""
    if "rate" in entry:  # section 10: a per_transaction loan's penalty keeps section 4's rate
        rate = DayRate(entry["rate"], entry["divisor"], entry["days"], rate.arithmetic)
    if "compound" not in entry:
        if arithmetic is Arithmetic.DECIMAL28:
            return entry["amount"], None
        return penalty_interest(entry["base"], rate, penalty_multiplier), None
    if arithmetic is Arithmetic.DECIMAL28:
        return entry["penalty"], entry["compound"]
    return (
        penalty_interest(entry["principal_base"], rate, penalty_multiplier),
        compound_interest(entry["interest_base"], rate, entry["compound_multiplier"]),
    )


# --------------------------------------------------------------------------- section 5


def monthly_rate(daily_rate: Decimal | None, annual_rate: Decimal | None) -> Decimal:
    """Section 5: ``r = daily_rate * 30`` or ``annual_rate / 12``."""
    if daily_rate is not None:
        return daily_rate * 30
    if annual_rate is None:
        raise ValueError("either daily_rate or annual_rate is required")
    return annual_rate / 12


def emi(
    principal: Decimal,
    rate: Decimal,
    periods: int,
    multiple: Decimal = FEN,
    rounding: Rounding = Rounding.HALF_UP,
) -> Decimal:
    """Section 5: ``EMI = round_to(installment_multiple, P*r / (1 - (1+r)^-n))``."""
    if periods < 1:
        raise ValueError("an EMI needs at least one period")
    if rate == ZERO:
        return round_to(principal / periods, multiple, rounding)
    return round_to(principal * rate / (ONE - (ONE + rate) ** -periods), multiple, rounding)


def principal_per_installment(
    principal: Decimal, periods: int, rounding: Rounding = Rounding.HALF_UP
) -> Decimal:
    """Section 5: the principal part of ``equal_principal`` and ``flat``: ``round(P/n)``."""
    return round_to(principal / periods, FEN, rounding)


@dataclass(frozen=True)
class InstallmentParts:
    """Section 5: the principal and interest parts an installment is fixed with."""

    principal: Decimal
    interest: Decimal


def installment_parts(
    *,
    method: Method,
    is_last: bool,
    emi_amount: Decimal,
    principal_step: Decimal,
    remaining_principal: Decimal,
    interest_accrued: Decimal | Exact,
    rounding: Rounding,
) -> InstallmentParts:
    """Section 5: fix installment ``k`` on its due date from what actually accrued.

    - interest part = ``round(normal interest accrued since the previous due date)``;
    - principal part: ``equal_installment``: ``EMI - interest`` (at least 0, at most the
      remaining principal); ``equal_principal`` and ``flat``: ``round(P/n)`` (here
      ``principal_step``, at most the remaining principal); ``interest_first``: 0;
    - the last installment always takes all the remaining principal.
    """
    interest = round_to(interest_accrued, FEN, rounding)
    if is_last:
        principal = remaining_principal
    elif method is Method.EQUAL_INSTALLMENT:
        principal = min(max(emi_amount - interest, ZERO), remaining_principal)
    elif method in (Method.EQUAL_PRINCIPAL, Method.FLAT):
        principal = min(principal_step, remaining_principal)
    else:
        principal = ZERO
    return InstallmentParts(principal=principal, interest=interest)


# --------------------------------------------------------------------------- section 6


@dataclass(frozen=True)
class Owed:
    """What is still owed on one installment (section 6: penalty, interest, principal;
    section 11: ``compound`` interest, ``None`` on a loan that does not name
    ``compound_multiplier``, whose one penalty covers principal and interest; section 13:
    the handling ``fee``, ``None`` on a loan that charges none)."""

    k: int
    penalty: Decimal
    interest: Decimal
    principal: Decimal
    compound: Decimal | None = None
    fee: Decimal | None = None  # section 13: the handling fee, on a bank_installment loan only

    @property
    def total(self) -> Decimal:
        charges = self.penalty + (self.compound or ZERO) + (self.fee or ZERO)
        return charges + self.interest + self.principal


@dataclass(frozen=True)
class Allocation:
    """Section 6: the part of a payment that went to one installment (``compound``, section
    11: only on a loan that splits penalty; its record has no ``compound`` key otherwise;
    ``fee``, section 13: only on a loan that charges a handling fee, likewise)."""

    k: int
    penalty: Decimal
    interest: Decimal
    principal: Decimal
    compound: Decimal | None = None
    fee: Decimal | None = None  # section 13: the handling fee, on a bank_installment loan only

    @property
    def total(self) -> Decimal:
        charges = self.penalty + (self.compound or ZERO) + (self.fee or ZERO)
        return charges + self.interest + self.principal

    def as_dict(self) -> dict[str, object]:
        record: dict[str, object] = {"k": self.k, "penalty": self.penalty}
        if self.compound is not None:
            record["compound"] = self.compound
        if self.fee is not None:
            record["fee"] = self.fee
        record.update(interest=self.interest, principal=self.principal)
        return record


def unpaid_penalty(
    accrued: Decimal | Exact, paid: Decimal, rounding: Rounding = Rounding.HALF_UP
) -> Decimal:
    """Section 6: penalty of an installment = ``round(penalty accrued on it) - paid``."""
    return max(round_to(accrued, FEN, rounding) - paid, ZERO)


def allocate(amount: Decimal, owed: Sequence[Owed]) -> tuple[list[Allocation], Decimal]:
    """Section 6: money received pays installments oldest first, and inside one installment
    penalty, then (section 11, a loan that splits it) compound interest, then (section 13, a
    loan that charges one) the handling fee, then interest, then principal.

    Returns the allocations (installments that received nothing are left out) and what
    is left of ``amount``.
    """
    if amount < ZERO:
        raise ValueError("cannot allocate a negative amount")
    left = amount
    allocations: list[Allocation] = []
    for item in sorted(owed, key=lambda o: o.k):
        if left <= ZERO:
            break
        penalty = min(left, item.penalty)
        left -= penalty
        compound = None if item.compound is None else min(left, item.compound)
        left -= compound or ZERO
        fee = None if item.fee is None else min(left, item.fee)
        left -= fee or ZERO
        interest = min(left, item.interest)
        left -= interest
        principal = min(left, item.principal)
        left -= principal
        if penalty or compound or fee or interest or principal:
            allocations.append(Allocation(item.k, penalty, interest, principal, compound, fee))
    return allocations, left


# --------------------------------------------------------------------------- section 7


def prepayment_fee(
    principal: Decimal, fee_rate: Decimal, rounding: Rounding = Rounding.HALF_UP
) -> Decimal:
    """Section 7 (payoff): ``round(prepayment_fee_rate x remaining principal)``."""
    return round_to(fee_rate * principal, FEN, rounding)


def split_partial_prepayment(
    left: Decimal, fee_rate: Decimal, rounding: Rounding = Rounding.HALF_UP
) -> tuple[Decimal, Decimal]:
    """Section 7 (partial): with ``X`` left after what is due and the accrued interest,
    principal part ``= round(X / (1 + fee_rate))`` and fee ``= X - principal part``."""
    principal = round_to(left / (ONE + fee_rate), FEN, rounding)
    return principal, left - principal


def periods_to_repay(
    principal: Decimal,
    *,
    method: Method,
    rate: Decimal,
    emi_amount: Decimal,
    principal_step: Decimal,
) -> int:
    """Section 7, ``reduce_term``: how many periods the same installment needs to repay
    ``principal``.

    ``equal_installment``: the fewest ``m`` with ``EMI * (1 - (1+r)^-m) / r >= P``, that is
    ``m = ceil(-ln(1 - P*r/EMI) / ln(1+r))``; ``equal_principal`` and ``flat``:
    ``ceil(P / principal step)``.
    """
    if principal <= ZERO:
        return 0
    if method is Method.EQUAL_INSTALLMENT:
        if rate == ZERO:
            return int((principal / emi_amount).to_integral_value(rounding=ROUND_CEILING))
        ratio = principal * rate / emi_amount
        if ratio >= ONE:
            raise ValueError("the installment does not even cover the interest")
        periods = -(ONE - ratio).ln() / (ONE + rate).ln()
        # Guard against the last digit of ln(): accept an integer within 1e-20 of the bound.
        return max(1, int((periods - Decimal("1e-20")).to_integral_value(rounding=ROUND_CEILING)))
    if method in (Method.EQUAL_PRINCIPAL, Method.FLAT):
        return int((principal / principal_step).to_integral_value(rounding=ROUND_CEILING))
    raise ValueError(f"reduce_term does not apply to {method.value}")


# --------------------------------------------------------------------------- section 13


def handling_fee(principal: Decimal, fee_rate: Decimal, rounding: Rounding) -> Decimal:
    """Section 13: the handling fee of each installment of a ``bank_installment`` loan,
    ``round(P x fee_rate_per_period)`` on the original principal ``P``."""
    return round_to(principal * fee_rate, FEN, rounding)
