"""Money: one constructor, named constants, rounding only where the spec says.

Money is :class:`decimal.Decimal`, never float (loan-rules, preamble). Currency CNY, two
places (fen). ``round()`` in the spec means: to the product's rounding increment with the
product's rounding mode; :func:`round_to` is that function and the only place that rounds.
"""

from __future__ import annotations

import decimal
import re
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction

# Arithmetic uses Python's default decimal context (28 significant digits, half-even for
# inexact results). Accruals are kept exact instead (section 4): a day's interest under an
# annual rate is base x rate x days / divisor (360, 365 or 366), which no decimal can hold, so
# the unrounded sums are fractions (:data:`Exact`) and are rounded once, by :func:`round_to`.
# The only other inexact operation is the EMI's power: an auditor redoing it with a default
# context gets the same digits.

Exact = Fraction  # an unrounded accrual, held exactly (section 4)

ZERO = Decimal("0")
ONE = Decimal("1")
FEN = Decimal("0.01")
CURRENCY = "CNY"


class Rounding(StrEnum):
    """Rounding modes a product may use (loan-rules section 1, `rounding`)."""

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"

    @property
    def decimal_mode(self) -> str:
        return ROUND_HALF_UP if self is Rounding.HALF_UP else ROUND_HALF_EVEN


class FloatRefused(TypeError):
    """A float was offered where money or a rate is expected."""


# The only text a number may be written as: ASCII digits, an optional sign and point. No
# separators ("1,50" is not 150), exponents ("1e3"), other digit sets (full-width digits) or spaces.
DECIMAL_TEXT = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,20})?")


def to_decimal(value: object, what: str = "amount") -> Decimal:
    """Build a Decimal from an ``int``, ``str`` or ``Decimal``; refuse floats and garbage.

    Floats are refused because ``0.1`` is not one tenth: money must never pass through
    binary floating point. Text must match :data:`DECIMAL_TEXT` exactly.
    """
    if isinstance(value, bool):
        raise TypeError(f"{what}: a boolean is not a number")
    if isinstance(value, float):
        raise FloatRefused(f"{what}: floats are refused, pass a string such as '12.34'")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        if DECIMAL_TEXT.fullmatch(value) is None:
            shown = repr(value) if len(value) <= 40 else repr(value[:37]) + "..."
            raise ValueError(
                f"{what}: {shown} is not a decimal number (ASCII digits with an optional "
                "point, e.g. 0.0005; no separators, exponents or spaces)"
            )
        result = Decimal(value)
    else:
        raise TypeError(f"{what}: {type(value).__name__} is not a decimal number")
    if not result.is_finite():
        raise ValueError(f"{what}: {value!r} is not a finite number")
    return result


def money(value: object, what: str = "amount") -> Decimal:
    """An amount of money: a finite Decimal with at most two decimal places (fen)."""
    amount = to_decimal(value, what)
    try:
        in_fen = amount.quantize(FEN)
        exact = amount == amount.quantize(FEN, rounding=ROUND_CEILING)
    except decimal.InvalidOperation:
        raise ValueError(f"{what}: {value} is too large") from None
    if not exact:
        raise ValueError(f"{what}: {value} has more than two decimal places (fen)")
    return in_fen


def round_to(
    amount: Decimal | Fraction, increment: Decimal = FEN, mode: Rounding = Rounding.HALF_UP
) -> Decimal:
    """``round()`` of the spec: to ``increment`` (0.01 by default) with ``mode``.

    The result is always expressed in fen (two places), e.g. ``round_to(1100.157, 1)``
    is ``Decimal("1100.00")``. An exact fraction is rounded exactly: 0.075 accrued as
    27/360 rounds half up to 0.08, where its 28-digit decimal 0.07499... would give 0.07.
    """
    if isinstance(amount, Fraction):
        return (Decimal(_round_fraction(amount / Fraction(increment), mode)) * increment).quantize(
            FEN
        )
    steps = (amount / increment).quantize(ONE, rounding=mode.decimal_mode)
    return (steps * increment).quantize(FEN)


def _round_fraction(value: Fraction, mode: Rounding) -> int:
    """``value`` to a whole number, ties away from zero (half up) or to even (half even)."""
    whole, rest = divmod(abs(value.numerator), value.denominator)
    twice = 2 * rest
    if twice > value.denominator or (
        twice == value.denominator and (mode is Rounding.HALF_UP or whole % 2 == 1)
    ):
        whole += 1
    return whole if value >= 0 else -whole


def exact(amount: Decimal | Fraction) -> Fraction:
    """An amount as an exact fraction (a decimal converts without loss)."""
    return amount if isinstance(amount, Fraction) else Fraction(amount)


def accumulate(total: Decimal | Fraction, amount: Decimal | Fraction) -> Decimal | Fraction:
    """``total + amount``: exact if either is a fraction, else in 28-digit decimals (the
    accruals of a ``decimal28`` loan, summed as they always were)."""
    if isinstance(total, Fraction) or isinstance(amount, Fraction):
        return exact(total) + exact(amount)
    return total + amount


def fraction_text(amount: Fraction) -> str:
    """An exact accrual as stored: ``"27/360"``-style, always with its denominator, so it
    never reads back as a decimal."""
    return f"{amount.numerator}/{amount.denominator}"


def readable(amount: Decimal | Fraction) -> Decimal:
    """An exact amount as a decimal to read: exact when it has a finite decimal expansion
    (27/360 = 0.075), else to 28 significant digits (1/360 = 0.002777...778)."""
    if isinstance(amount, Decimal):
        return amount
    return Decimal(amount.numerator) / Decimal(amount.denominator)


def fmt(amount: Decimal) -> str:
    """Two decimals, as the CLI contract prints amounts (``"1100.16"``)."""
    return str(amount.quantize(FEN))


def shown(amount: Decimal | Fraction) -> str:
    """An unrounded amount as text: its decimal, with the exact fraction when no decimal
    holds it (``0.008333333333333333333333333333 (exactly 1/120)``)."""
    decimal = readable(amount)
    if isinstance(amount, Decimal) or Fraction(decimal) == amount:
        return str(decimal)
    return f"{decimal} (exactly {fraction_text(amount)})"
