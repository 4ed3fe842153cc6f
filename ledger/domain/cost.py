"""The annualised cost of a loan from its actual cash flows (IRR on dates, "XIRR").

Find the annual rate ``r`` with ``sum(cf_i / (1 + r) ** (days_i / 365)) = 0``, where ``cf_i``
is what moved on day ``i``, seen from the lender (the disbursement ``-P``, every payment
received ``+``, money owed back to the borrower ``-``), and ``days_i`` the days since the first
flow. ``r`` is the effective annual rate; the daily rate is
``(1 + r) ** (1 / 365) - 1``. Solved by bisection in ``Decimal`` (28 digits), to 1e-12: no
floats, and the same result everywhere. Worked check (loan-rules example 1): 10,000.00 out on
2026-01-01, 10,015.00 back on 2026-01-04: daily ``1.0015 ** (1/3) - 1 = 0.000499750...``,
annual ``1.0015 ** (365/3) - 1 = 0.200050...``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger.domain.money import ONE, ZERO

YEAR = Decimal(365)
TOLERANCE = Decimal("1e-12")


@dataclass(frozen=True)
class CashFlow:
    on: date
    amount: Decimal  # + received by the lender, - paid out by the lender
    what: str


def _npv(rate: Decimal, flows: Sequence[CashFlow], start: date) -> Decimal:
    base = ONE + rate
    return sum((f.amount / base ** (Decimal((f.on - start).days) / YEAR) for f in flows), ZERO)


def annual_irr(flows: Sequence[CashFlow]) -> Decimal | None:
    """The effective annual rate that makes the flows' present value zero; ``None`` when
    there is none to find (no money out, or none back)."""
    if not any(f.amount < 0 for f in flows) or not any(f.amount > 0 for f in flows):
        return None
    start = min(f.on for f in flows)
    low, high = Decimal("-0.999999"), Decimal("1000")
    f_low, f_high = _npv(low, flows, start), _npv(high, flows, start)
    if f_low * f_high > 0:
        return None
    for _ in range(200):
        mid = (low + high) / 2
        f_mid = _npv(mid, flows, start)
        if f_mid == 0 or (high - low) / 2 < TOLERANCE:
            return mid
        if (f_mid > 0) == (f_low > 0):
            low, f_low = mid, f_mid
        else:
            high = mid
    return (low + high) / 2


def daily_rate(annual: Decimal) -> Decimal:
    result: Decimal = (ONE + annual) ** (ONE / YEAR) - ONE
    return result
