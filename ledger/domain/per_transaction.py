"""Loan-rules section 10: the per-transaction interest method, as pure functions.

A period's normal interest is computed on ``B``, the principal not yet due at the start of
the piece (the period's start, or the day of a partial prepayment, which starts a new piece):
``B x (months x monthly_rate + odd_days x day_rate)``. The ledger closes its days one at a
time, so each day first accrues as an odd day (``B x day_rate``, in ``InterestAccrued``); the
day that completes a whole month of the piece replaces that month's odd days by the month:
``B x monthly_rate - days x B x day_rate`` (the event's ``month`` entry). The interest accrued
at the end of any day is therefore what the piece would charge if it ended then: whole months
at the monthly rate, the days of a month not completed as odd days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ledger.domain.money import Exact, readable
from ledger.domain.rules import DayRate
from ledger.domain.terms import DayCount, Terms, add_months


def transaction_day_rate(terms: Terms) -> DayRate:
    """Section 10: ``day_rate = daily_rate``, or ``annual_rate / 360`` (ACT/360, 30/360) or
    ``/ 365`` (ACT/365, ACT/ACT), one day at a time (no 30/360 day count, no leap years)."""
    if terms.daily_rate is not None:
        return DayRate(terms.daily_rate, 1, 1, terms.arithmetic)
    if terms.annual_rate is None or terms.day_count is None:
        raise ValueError("either daily_rate or annual_rate with day_count is required")
    divisor = 360 if terms.day_count in (DayCount.ACT_360, DayCount.THIRTY_360) else 365
    return DayRate(terms.annual_rate, divisor, 1, terms.arithmetic)


@dataclass(frozen=True)
class MonthRate:
    """Section 5's monthly rate kept exact: ``rate x times / divisor`` (``daily_rate x 30``
    or ``annual_rate / 12``)."""

    rate: Decimal
    times: int
    divisor: int

    @property
    def factor(self) -> Exact:
        return Exact(self.rate) * self.times / self.divisor


def month_rate(terms: Terms) -> MonthRate:
    """Section 5: ``r = daily_rate x 30`` or ``annual_rate / 12``."""
    if terms.daily_rate is not None:
        return MonthRate(terms.daily_rate, 30, 1)
    if terms.annual_rate is None:
        raise ValueError("either daily_rate or annual_rate is required")
    return MonthRate(terms.annual_rate, 1, 12)


def completed_month(origin: date, offset: int, on: date) -> tuple[int, date] | None:
    """Section 10: ``(m, first day of month m)`` when day ``on`` is the last day of the
    ``m``-th whole month of the piece that starts on ``origin + offset months``; ``None``
    otherwise. Months are counted as section 2 counts due dates, from their origin, each
    clamped to the month's end: month ``m`` ends the day before ``origin + (offset + m)
    months``. A period's origin is the loan's (its due dates' origin), so a period that starts
    on a clamped due date (Feb 28, from Jan 31) is a whole month to the next (Mar 31); a piece
    started by a prepayment on ``d`` counts from ``d`` (offset 0)."""
    following = on + timedelta(days=1)
    months = (following.year - origin.year) * 12 + following.month - origin.month
    m = months - offset
    if m >= 1 and add_months(origin, months) == following:
        return m, add_months(origin, months - 1)
    return None


def month_entry(
    *,
    origin: date,
    offset: int,
    on: date,
    base: Decimal,
    day_rate: DayRate,
    monthly: MonthRate,
) -> dict[str, Any] | None:
    """Section 10: the ``month`` entry of day ``on``'s ``InterestAccrued`` when ``on``
    completes a whole month of the piece that started on ``origin + offset months`` (see
    :func:`completed_month`) with principal ``base`` not yet due: ``month_interest = base x
    monthly_rate``, ``odd_interest = odd_days x base x day_rate`` (the month's days, each
    accrued as an odd day), ``amount = month_interest - odd_interest``. ``None`` on any other
    day, or when ``base`` is 0."""
    month = completed_month(origin, offset, on)
    if month is None or base <= 0:
        return None
    m, first_day = month
    odd_days = (on - first_day).days + 1
    entry: dict[str, Any] = {
        "piece_start": add_months(origin, offset),
        "month": m,
        "first_day": first_day,
        "last_day": on,
        "base": base,
        "monthly_rate": monthly.rate,
        "monthly_times": monthly.times,
        "monthly_divisor": monthly.divisor,
        "odd_days": odd_days,
        "day_rate": day_rate.rate,
        "day_divisor": day_rate.divisor,
    }
    month_interest, odd_interest = month_parts(entry)
    entry["month_interest"] = readable(month_interest)
    entry["odd_interest"] = readable(odd_interest)
    entry["amount"] = readable(month_interest - odd_interest)
    return entry


def month_parts(entry: dict[str, Any]) -> tuple[Exact, Exact]:
    """Section 10: a ``month`` entry's (month interest, odd-day interest it replaces), exact
    from its inputs: ``base x monthly_rate x monthly_times / monthly_divisor`` and
    ``odd_days x base x day_rate / day_divisor``."""
    base = Exact(entry["base"])
    monthly = MonthRate(entry["monthly_rate"], entry["monthly_times"], entry["monthly_divisor"])
    odd = Exact(entry["odd_days"]) * base * Exact(entry["day_rate"]) / entry["day_divisor"]
    return base * monthly.factor, odd


def month_text(entry: dict[str, Any]) -> str:
    """Section 10: a ``month`` entry as arithmetic an auditor can redo."""
    per_month = (
        f" x {entry['monthly_times']}"
        if entry["monthly_divisor"] == 1
        else f" / {entry['monthly_divisor']}"
    )
    per_day = f" / {entry['day_divisor']}" if entry["day_divisor"] != 1 else ""
    return (
        f"month {entry['month']} from {entry['piece_start']} completed on {entry['last_day']}: "
        f"{entry['base']} x {entry['monthly_rate']}{per_month} = {entry['month_interest']} "
        f"in place of its {entry['odd_days']} odd days {entry['base']} x {entry['day_rate']}"
        f"{per_day} each = {entry['odd_interest']}: {entry['amount']}"
    )


def month_adjustment(entry: dict[str, Any]) -> Exact:
    """Section 10: what a ``month`` entry adds to the day's normal interest, exact."""
    month_interest, odd_interest = month_parts(entry)
    return month_interest - odd_interest


def piece_origin(
    disbursed_on: date, first_due_date: date | None, fixed: int, prepaid_on: date | None
) -> tuple[date, int]:
    """Section 10: where the current piece's months are counted from, ``(origin, offset)``:
    the piece starts on ``origin + offset months``. After ``fixed`` installments the period
    starts on the due date of installment ``fixed`` (sections 2 and 9: ``D0 + fixed months``,
    or ``F + (fixed - 1) months``; the disbursement before the first); a partial prepayment
    on a later day ``prepaid_on`` starts a piece of its own."""
    if fixed == 0 or first_due_date is None:
        origin, offset = disbursed_on, fixed
    else:
        origin, offset = first_due_date, fixed - 1
    if prepaid_on is not None and prepaid_on > add_months(origin, offset):
        return prepaid_on, 0
    return origin, offset
