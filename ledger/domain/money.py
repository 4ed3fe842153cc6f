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

# Arithmetic uses Python's default decimal context (28 significant digits, half-even for
# inexact results). The only inexact operations the rules make are annual_rate / 365 (or 366)
# and the EMI's power: an auditor redoing an event's arithmetic with a default context gets the
# same digits.

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
    amount: Decimal, increment: Decimal = FEN, mode: Rounding = Rounding.HALF_UP
) -> Decimal:
    """``round()`` of the spec: to ``increment`` (0.01 by default) with ``mode``.

    The result is always expressed in fen (two places), e.g. ``round_to(1100.157, 1)``
    is ``Decimal("1100.00")``.
    """
    steps = (amount / increment).quantize(ONE, rounding=mode.decimal_mode)
    return (steps * increment).quantize(FEN)


def fmt(amount: Decimal) -> str:
    """Two decimals, as the CLI contract prints amounts (``"1100.16"``)."""
    return str(amount.quantize(FEN))
