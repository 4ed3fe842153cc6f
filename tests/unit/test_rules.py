"""The pure rule functions of ``ledger.domain.rules``, section by section of loan-rules.md."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from ledger.domain import rules
from ledger.domain.money import FEN, ONE, ZERO, Rounding, round_to
from ledger.domain.rules import Allocation, DayRate, Owed
from ledger.domain.terms import PRESETS, Arithmetic, DayCount, Method

D = Decimal
WHOLE_YUAN = D("1")


def days_in_year(year: int) -> list[date]:
    start = date(year, 1, 1)
    return [start + timedelta(days=i) for i in range(366 if calendar.isleap(year) else 365)]


# --------------------------------------------------------------------------- section 1


@pytest.mark.parametrize(
    ("name", "method", "fee"),
    [
        ("borrow_and_return", Method.EQUAL_INSTALLMENT, "0"),
        ("repay_on_schedule", Method.EQUAL_INSTALLMENT, "0.03"),
        ("interest_first", Method.INTEREST_FIRST, "0"),
        ("equal_principal", Method.EQUAL_PRINCIPAL, "0"),
        ("mall_installment", Method.FLAT, "0"),
    ],
)
def test_each_product_preset_has_the_method_and_fee_of_the_spec_table(
    name: str, method: Method, fee: str
) -> None:
    preset = PRESETS[name]
    assert preset.method is method
    assert preset.prepayment_fee_rate == D(fee)


def test_there_are_exactly_six_presets() -> None:
    """The five of section 1's table and section 13's bank_installment."""
    assert set(PRESETS) == {
        "borrow_and_return",
        "repay_on_schedule",
        "interest_first",
        "equal_principal",
        "mall_installment",
        "bank_installment",
    }


# --------------------------------------------------------------------------- section 2


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (0, date(2026, 1, 31)),
        (1, date(2026, 2, 28)),
        (2, date(2026, 3, 31)),
        (3, date(2026, 4, 30)),
        (4, date(2026, 5, 31)),
        (5, date(2026, 6, 30)),
        (11, date(2026, 12, 31)),
        (12, date(2027, 1, 31)),
        (13, date(2027, 2, 28)),
        (25, date(2028, 2, 29)),
    ],
)
def test_due_dates_of_a_loan_disbursed_on_jan_31_clamp_to_month_end(k: int, expected: date) -> None:
    assert rules.due_date(date(2026, 1, 31), k) == expected


def test_a_loan_disbursed_on_jan_31_of_a_leap_year_is_first_due_on_feb_29() -> None:
    assert rules.due_date(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert rules.due_date(date(2024, 1, 31), 2) == date(2024, 3, 31)


def test_due_dates_are_computed_from_the_disbursement_date_not_chained() -> None:
    d0 = date(2026, 1, 31)
    second = rules.due_date(d0, 2)
    # Chaining from the first due date (Feb 28) would give Mar 28.
    assert second == date(2026, 3, 31)
    assert second != rules.due_date(rules.due_date(d0, 1), 1)


def test_due_dates_cross_the_year_end() -> None:
    assert rules.due_date(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert rules.due_date(date(2026, 11, 30), 14) == date(2028, 1, 30)
    assert rules.due_date(date(2026, 12, 15), 1) == date(2027, 1, 15)


def test_a_loan_disbursed_on_a_leap_day_is_due_on_feb_28_in_common_years() -> None:
    d0 = date(2024, 2, 29)
    assert rules.due_date(d0, 1) == date(2024, 3, 29)
    assert rules.due_date(d0, 12) == date(2025, 2, 28)
    assert rules.due_date(d0, 48) == date(2028, 2, 29)


def test_a_mid_month_loan_keeps_its_day_every_month() -> None:
    d0 = date(2026, 1, 15)
    assert [rules.due_date(d0, k) for k in range(1, 13)] == [
        date(2026 + (m // 12), m % 12 + 1, 15) for m in range(1, 13)
    ]


def test_a_negative_installment_number_is_refused() -> None:
    with pytest.raises(ValueError):
        rules.due_date(date(2026, 1, 1), -1)


# --------------------------------------------------------------------------- section 4: 30/360


@pytest.mark.parametrize(
    ("day", "counts"),
    [
        (date(2026, 1, 15), 1),
        (date(2026, 1, 29), 1),
        (date(2026, 1, 30), 0),  # 30th of a 31-day month
        (date(2026, 1, 31), 1),  # 31st
        (date(2026, 4, 29), 1),
        (date(2026, 4, 30), 1),  # 30th of a 30-day month
        (date(2026, 2, 27), 1),
        (date(2026, 2, 28), 3),  # Feb 28 of a common year
        (date(2024, 2, 28), 1),  # leap year Feb 28
        (date(2024, 2, 29), 2),  # leap year Feb 29
        (date(2026, 12, 30), 0),
        (date(2026, 12, 31), 1),  # across the year end
    ],
)
def test_each_day_counts_its_30_360_days_to_the_next_day(day: date, counts: int) -> None:
    assert rules.days_30_360(day, day + timedelta(days=1)) == counts


@pytest.mark.parametrize("year", [2024, 2025, 2026, 2028])
def test_every_full_month_counts_30_days_under_30_360(year: int) -> None:
    for month in range(1, 13):
        last = calendar.monthrange(year, month)[1]
        days = [date(year, month, d) for d in range(1, last + 1)]
        assert sum(rules.days_30_360(d, d + timedelta(days=1)) for d in days) == 30, month


@pytest.mark.parametrize("year", [2024, 2026])
def test_a_full_year_counts_360_days_under_30_360(year: int) -> None:
    assert sum(rules.days_30_360(d, d + timedelta(days=1)) for d in days_in_year(year)) == 360


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (date(2026, 1, 15), date(2026, 2, 15), 30),
        (date(2026, 1, 31), date(2026, 3, 31), 60),
        (date(2026, 1, 30), date(2026, 1, 31), 0),
        (date(2026, 1, 31), date(2026, 2, 1), 1),
        (date(2026, 1, 1), date(2027, 1, 1), 360),
        (date(2026, 2, 28), date(2026, 3, 1), 3),
    ],
)
def test_30_360_day_count_between_two_dates(start: date, end: date, days: int) -> None:
    assert rules.days_30_360(start, end) == days


# --------------------------------------------------------------------------- section 4: rates


def test_a_daily_rate_is_used_as_is_for_one_day() -> None:
    rate = rules.day_rate(
        date(2026, 1, 30), daily_rate=D("0.0005"), annual_rate=None, day_count=None
    )
    assert rate == DayRate(D("0.0005"), 1, 1)
    assert rate.factor == Fraction(5, 10000)


def test_act_360_divides_the_annual_rate_by_360() -> None:
    rate = rules.day_rate(
        date(2026, 5, 1), daily_rate=None, annual_rate=D("0.072"), day_count=DayCount.ACT_360
    )
    assert rate == DayRate(D("0.072"), 360, 1)
    assert rate.factor == Fraction(2, 10000)


@pytest.mark.parametrize("year", [2024, 2026])
def test_act_365_divides_the_annual_rate_by_365_even_in_a_leap_year(year: int) -> None:
    rate = rules.day_rate(
        date(year, 2, 28), daily_rate=None, annual_rate=D("0.0365"), day_count=DayCount.ACT_365
    )
    assert rate == DayRate(D("0.0365"), 365, 1)


@pytest.mark.parametrize(
    ("day", "divisor"),
    [
        (date(2024, 1, 1), 366),
        (date(2024, 2, 29), 366),
        (date(2024, 12, 31), 366),
        (date(2025, 1, 1), 365),
        (date(2026, 6, 15), 365),
        (date(2026, 12, 31), 365),
        (date(2028, 3, 1), 366),
    ],
)
def test_act_act_divides_by_the_days_of_the_day_s_own_year(day: date, divisor: int) -> None:
    annual = D("0.0732")
    rate = rules.day_rate(day, daily_rate=None, annual_rate=annual, day_count=DayCount.ACT_ACT)
    assert rate == DayRate(annual, divisor, 1)


def test_act_act_over_a_whole_year_sums_to_the_annual_rate() -> None:
    for year in (2024, 2026):
        total = sum(
            (
                rules.day_rate(
                    d, daily_rate=None, annual_rate=D("0.0732"), day_count=DayCount.ACT_ACT
                ).factor
                for d in days_in_year(year)
            ),
            Fraction(0),
        )
        assert total == Fraction(D("0.0732"))  # exactly: nothing is cut to 28 digits


@pytest.mark.parametrize(
    ("day", "days"),
    [
        (date(2026, 1, 30), 0),
        (date(2026, 1, 31), 1),
        (date(2026, 2, 28), 3),
        (date(2024, 2, 28), 1),
        (date(2024, 2, 29), 2),
        (date(2026, 6, 10), 1),
    ],
)
def test_30_360_uses_annual_over_360_times_the_day_s_30_360_days(day: date, days: int) -> None:
    rate = rules.day_rate(
        day, daily_rate=None, annual_rate=D("0.036"), day_count=DayCount.THIRTY_360
    )
    assert rate == DayRate(D("0.036"), 360, days)
    assert rate.factor == Fraction(1, 10000) * days


def test_an_annual_rate_over_a_30_360_year_accrues_exactly_the_annual_rate() -> None:
    total = sum(
        (
            rules.normal_interest(
                D("10000.00"),
                rules.day_rate(
                    d, daily_rate=None, annual_rate=D("0.036"), day_count=DayCount.THIRTY_360
                ),
            )
            for d in days_in_year(2026)
        ),
        Fraction(0),
    )
    assert total == 360


def test_a_day_rate_needs_a_daily_rate_or_an_annual_rate_with_a_day_count() -> None:
    with pytest.raises(ValueError):
        rules.day_rate(date(2026, 1, 1), daily_rate=None, annual_rate=None, day_count=None)
    with pytest.raises(ValueError):
        rules.day_rate(date(2026, 1, 1), daily_rate=None, annual_rate=D("0.1"), day_count=None)


# --------------------------------------------------------------------------- section 4: accrual


def test_normal_interest_of_one_day_is_exact_and_unrounded() -> None:
    assert rules.normal_interest(D("10000.00"), DayRate(D("0.0005"), 1, 1)) == 5
    assert rules.normal_interest(D("333.33"), DayRate(D("0.0005"), 1, 1)) == Fraction(D("0.166665"))


def test_an_annual_rate_s_day_is_kept_exact_not_cut_to_28_digits() -> None:
    """Section 4: 20.00 x 0.15 / 360 is 1/120, which no decimal holds; nine such days are
    exactly 0.075, which rounds half up to 0.08 (28-digit day rates summed give 0.0749...)."""
    day = DayRate(D("0.15"), 360, 1)
    nine_days = sum((rules.normal_interest(D("20.00"), day) for _ in range(9)), Fraction(0))
    assert nine_days == Fraction(3, 40)
    assert round_to(nine_days) == D("0.08")
    cut = DayRate(D("0.15") / 360, 1, 1, Arithmetic.DECIMAL28)
    cut_sum = sum((rules.normal_interest(D("20.00"), cut) for _ in range(9)), ZERO)
    assert isinstance(cut_sum, Decimal) and round_to(cut_sum) == D("0.07")


def test_normal_interest_of_a_30_360_day_that_counts_zero_is_zero() -> None:
    assert rules.normal_interest(D("10000.00"), DayRate(D("0.036"), 360, 0)) == 0


def test_normal_interest_of_a_30_360_day_that_counts_three_is_three_days() -> None:
    assert rules.normal_interest(D("10000.00"), DayRate(D("0.036"), 360, 3)) == 3


def test_penalty_interest_is_the_overdue_base_times_rate_times_multiplier_unrounded() -> None:
    # Worked example 5: 515.50 x 0.0005 x 1.5.
    assert rules.penalty_interest(D("515.50"), DayRate(D("0.0005"), 1, 1), D("1.5")) == Fraction(
        D("0.386625")
    )


# --------------------------------------------------------------------------- section 5: EMI


def test_monthly_rate_is_thirty_daily_rates_or_a_twelfth_of_the_annual_rate() -> None:
    assert rules.monthly_rate(D("0.0005"), None) == D("0.015")
    assert rules.monthly_rate(None, D("0.18")) == D("0.015")
    with pytest.raises(ValueError):
        rules.monthly_rate(None, None)


def test_emi_of_worked_example_3_is_1100_16() -> None:
    assert rules.emi(D("12000.00"), D("0.015"), 12) == D("1100.16")


def test_emi_with_installment_multiple_one_is_whole_yuan() -> None:
    assert rules.emi(D("12000.00"), D("0.015"), 12, WHOLE_YUAN) == D("1100.00")
    assert str(rules.emi(D("12000.00"), D("0.015"), 12, WHOLE_YUAN)) == "1100.00"


def test_emi_with_installment_multiple_one_rounds_up_from_half_a_yuan() -> None:
    # 10,000 over 12 months at 1.5 %: 916.7999... -> 917.00
    assert rules.emi(D("10000.00"), D("0.015"), 12) == D("916.80")
    assert rules.emi(D("10000.00"), D("0.015"), 12, WHOLE_YUAN) == D("917.00")


def test_emi_of_a_single_period_is_principal_plus_one_month_of_interest() -> None:
    assert rules.emi(D("1000.00"), D("0.015"), 1) == D("1015.00")


def test_emi_at_zero_rate_is_the_principal_split_evenly() -> None:
    assert rules.emi(D("1000.00"), ZERO, 3) == D("333.33")


def test_emi_needs_at_least_one_period() -> None:
    with pytest.raises(ValueError):
        rules.emi(D("1000.00"), D("0.015"), 0)


def test_emi_is_computed_with_the_product_rounding_mode() -> None:
    # 2.25 over 2 periods at zero rate is 1.125, exactly half a fen
    assert rules.emi(D("2.25"), ZERO, 2, FEN, Rounding.HALF_UP) == D("1.13")
    assert rules.emi(D("2.25"), ZERO, 2, FEN, Rounding.HALF_EVEN) == D("1.12")


def test_principal_per_installment_is_principal_over_n_rounded() -> None:
    assert rules.principal_per_installment(D("1000.00"), 2) == D("500.00")
    assert rules.principal_per_installment(D("1000.00"), 3) == D("333.33")
    assert rules.principal_per_installment(D("2.25"), 2, Rounding.HALF_UP) == D("1.13")
    assert rules.principal_per_installment(D("2.25"), 2, Rounding.HALF_EVEN) == D("1.12")


# --------------------------------------------------------------------------- section 5: parts


def parts(
    method: Method,
    *,
    is_last: bool = False,
    emi_amount: str = "1100.16",
    principal_step: str = "1000.00",
    remaining: str = "12000.00",
    accrued: str = "186.000000",
    rounding: Rounding = Rounding.HALF_UP,
) -> rules.InstallmentParts:
    return rules.installment_parts(
        method=method,
        is_last=is_last,
        emi_amount=D(emi_amount),
        principal_step=D(principal_step),
        remaining_principal=D(remaining),
        interest_accrued=D(accrued),
        rounding=rounding,
    )


def test_equal_installment_principal_is_emi_minus_interest() -> None:
    p = parts(Method.EQUAL_INSTALLMENT)
    assert (p.interest, p.principal) == (D("186.00"), D("914.16"))


def test_interest_part_is_the_accrued_interest_rounded_once() -> None:
    assert parts(Method.EQUAL_INSTALLMENT, accrued="15.505").interest == D("15.51")
    assert parts(
        Method.EQUAL_INSTALLMENT, accrued="15.505", rounding=Rounding.HALF_EVEN
    ).interest == D("15.50")
    assert parts(Method.EQUAL_INSTALLMENT, accrued="15.504999").interest == D("15.50")


def test_interest_bigger_than_the_emi_gives_principal_zero_never_negative() -> None:
    p = parts(Method.EQUAL_INSTALLMENT, emi_amount="100.00", accrued="150.00")
    assert p.principal == ZERO
    assert p.interest == D("150.00")


def test_interest_equal_to_the_emi_gives_principal_zero() -> None:
    assert parts(Method.EQUAL_INSTALLMENT, emi_amount="100.00", accrued="100.00").principal == 0


def test_equal_installment_principal_is_at_most_the_remaining_principal() -> None:
    p = parts(Method.EQUAL_INSTALLMENT, remaining="500.00", accrued="10.00")
    assert p.principal == D("500.00")


@pytest.mark.parametrize("method", list(Method))
def test_the_last_installment_takes_all_the_remaining_principal(method: Method) -> None:
    p = parts(method, is_last=True, remaining="1096.12", accrued="16.99")
    assert p.principal == D("1096.12")
    assert p.interest == D("16.99")


def test_the_last_installment_takes_the_remaining_principal_even_above_the_emi() -> None:
    p = parts(Method.EQUAL_INSTALLMENT, is_last=True, remaining="5000.00", accrued="75.00")
    assert p.principal == D("5000.00")


@pytest.mark.parametrize("method", [Method.EQUAL_PRINCIPAL, Method.FLAT])
def test_equal_principal_and_flat_principal_is_the_principal_step(method: Method) -> None:
    p = parts(method, principal_step="1000.00", accrued="186.00")
    assert (p.principal, p.interest) == (D("1000.00"), D("186.00"))


@pytest.mark.parametrize("method", [Method.EQUAL_PRINCIPAL, Method.FLAT])
def test_the_principal_step_is_at_most_the_remaining_principal(method: Method) -> None:
    assert parts(method, principal_step="1000.00", remaining="400.00").principal == D("400.00")


def test_interest_first_installment_has_no_principal_before_the_last() -> None:
    p = parts(Method.INTEREST_FIRST, accrued="186.00")
    assert (p.principal, p.interest) == (ZERO, D("186.00"))


def test_interest_first_last_installment_is_all_the_principal_plus_interest() -> None:
    p = parts(Method.INTEREST_FIRST, is_last=True, accrued="186.00")
    assert (p.principal, p.interest) == (D("12000.00"), D("186.00"))


# --------------------------------------------------------------------------- section 6


def owed(k: int, penalty: str, interest: str, principal: str) -> Owed:
    return Owed(k=k, penalty=D(penalty), interest=D(interest), principal=D(principal))


def test_allocate_pays_penalty_then_interest_then_principal_inside_an_installment() -> None:
    allocations, left = rules.allocate(D("10.00"), [owed(1, "3.00", "5.00", "100.00")])
    assert allocations == [Allocation(1, D("3.00"), D("5.00"), D("2.00"))]
    assert left == ZERO


def test_allocate_pays_the_penalty_before_any_interest() -> None:
    allocations, _ = rules.allocate(D("2.00"), [owed(1, "3.00", "5.00", "100.00")])
    assert allocations == [Allocation(1, D("2.00"), ZERO, ZERO)]


def test_allocate_pays_the_oldest_installment_first_whatever_the_input_order() -> None:
    items = [owed(2, "0", "10.00", "100.00"), owed(1, "1.00", "10.00", "100.00")]
    allocations, left = rules.allocate(D("120.00"), items)
    assert [a.k for a in allocations] == [1, 2]
    assert allocations[0] == Allocation(1, D("1.00"), D("10.00"), D("100.00"))
    # The older installment's principal comes before the newer one's penalty and interest.
    assert allocations[1] == Allocation(2, ZERO, D("9.00"), ZERO)
    assert left == ZERO


def test_allocate_returns_what_is_left_when_everything_is_paid() -> None:
    allocations, left = rules.allocate(
        D("300.00"), [owed(1, "0", "10.00", "100.00"), owed(2, "0", "10.00", "100.00")]
    )
    assert sum((a.total for a in allocations), ZERO) == D("220.00")
    assert left == D("80.00")


def test_allocate_leaves_out_installments_that_receive_nothing() -> None:
    allocations, left = rules.allocate(
        D("50.00"), [owed(1, "0", "10.00", "100.00"), owed(2, "0", "10.00", "100.00")]
    )
    assert [a.k for a in allocations] == [1]
    assert left == ZERO


def test_allocate_of_zero_allocates_nothing() -> None:
    assert rules.allocate(ZERO, [owed(1, "1.00", "1.00", "1.00")]) == ([], ZERO)


def test_allocate_refuses_a_negative_amount() -> None:
    with pytest.raises(ValueError):
        rules.allocate(D("-0.01"), [owed(1, "1.00", "1.00", "1.00")])


def test_owed_and_allocation_totals_add_the_three_parts() -> None:
    assert owed(1, "1.00", "2.00", "3.00").total == D("6.00")
    a = Allocation(3, D("1.00"), D("2.00"), D("3.00"))
    assert a.total == D("6.00")
    assert a.as_dict() == {
        "k": 3,
        "penalty": D("1.00"),
        "interest": D("2.00"),
        "principal": D("3.00"),
    }


def test_unpaid_penalty_is_the_rounded_accrued_penalty_minus_what_was_paid() -> None:
    assert rules.unpaid_penalty(D("1.546500"), ZERO) == D("1.55")
    assert rules.unpaid_penalty(D("1.546500"), D("1.00")) == D("0.55")
    assert rules.unpaid_penalty(D("1.546500"), D("1.55")) == ZERO


def test_unpaid_penalty_uses_the_rounding_mode() -> None:
    assert rules.unpaid_penalty(D("0.125"), ZERO, Rounding.HALF_UP) == D("0.13")
    assert rules.unpaid_penalty(D("0.125"), ZERO, Rounding.HALF_EVEN) == D("0.12")


def test_unpaid_penalty_is_never_negative() -> None:
    assert rules.unpaid_penalty(D("0.004"), D("0.01")) == ZERO


# --------------------------------------------------------------------------- section 7


def test_prepayment_fee_is_the_rounded_fee_rate_times_the_remaining_principal() -> None:
    assert rules.prepayment_fee(D("10000.00"), D("0.03")) == D("300.00")
    assert rules.prepayment_fee(D("10000.00"), ZERO) == D("0.00")
    assert rules.prepayment_fee(D("333.33"), D("0.03")) == D("10.00")  # 9.9999
    assert rules.prepayment_fee(D("0.50"), D("0.03"), Rounding.HALF_UP) == D("0.02")  # 0.015
    assert rules.prepayment_fee(D("0.50"), D("0.03"), Rounding.HALF_EVEN) == D("0.02")
    assert rules.prepayment_fee(D("2.50"), D("0.03"), Rounding.HALF_EVEN) == D("0.08")  # .075


def test_split_partial_prepayment_without_a_fee_is_all_principal() -> None:
    assert rules.split_partial_prepayment(D("5000.00"), ZERO) == (D("5000.00"), D("0.00"))


def test_split_partial_prepayment_charges_the_fee_on_the_principal_part() -> None:
    assert rules.split_partial_prepayment(D("1030.00"), D("0.03")) == (D("1000.00"), D("30.00"))


def test_split_partial_prepayment_rounds_the_principal_and_gives_the_rest_to_the_fee() -> None:
    principal, fee = rules.split_partial_prepayment(D("100.00"), D("0.03"))
    assert principal == D("97.09")  # 97.0873...
    assert fee == D("2.91")
    assert principal + fee == D("100.00")


def test_split_partial_prepayment_uses_the_rounding_mode() -> None:
    # 1.40625 / (1 + 0.25) = 1.125, exactly half a fen
    assert rules.split_partial_prepayment(D("1.40625"), D("0.25"), Rounding.HALF_UP)[0] == D("1.13")
    assert rules.split_partial_prepayment(D("1.40625"), D("0.25"), Rounding.HALF_EVEN)[0] == D(
        "1.12"
    )


@pytest.mark.parametrize(
    "left", ["0.01", "0.02", "1.00", "99.99", "100.00", "12345.67", "999999.99"]
)
@pytest.mark.parametrize("fee_rate", ["0", "0.01", "0.03", "0.05"])
def test_split_partial_prepayment_parts_add_up_to_what_was_left(left: str, fee_rate: str) -> None:
    principal, fee = rules.split_partial_prepayment(D(left), D(fee_rate))
    assert principal + fee == D(left)
    assert principal >= ZERO
    assert fee >= ZERO


def annuity_value(emi_amount: Decimal, rate: Decimal, periods: int) -> Decimal:
    return emi_amount * (ONE - (ONE + rate) ** -periods) / rate


def test_periods_to_repay_the_whole_loan_with_its_own_emi_is_its_term() -> None:
    assert (
        rules.periods_to_repay(
            D("12000.00"),
            method=Method.EQUAL_INSTALLMENT,
            rate=D("0.015"),
            emi_amount=D("1100.16"),
            principal_step=D("1000.00"),
        )
        == 12
    )


@pytest.mark.parametrize("remaining", ["100.00", "1100.16", "5000.00", "5166.23", "11999.99"])
def test_periods_to_repay_is_the_fewest_periods_whose_installments_cover_the_principal(
    remaining: str,
) -> None:
    rate, emi_amount = D("0.015"), D("1100.16")
    m = rules.periods_to_repay(
        D(remaining),
        method=Method.EQUAL_INSTALLMENT,
        rate=rate,
        emi_amount=emi_amount,
        principal_step=D("1000.00"),
    )
    assert annuity_value(emi_amount, rate, m) >= D(remaining)
    if m > 1:
        assert annuity_value(emi_amount, rate, m - 1) < D(remaining)


def test_periods_to_repay_with_the_same_emi_after_halving_the_principal() -> None:
    m = rules.periods_to_repay(
        D("5166.23"),
        method=Method.EQUAL_INSTALLMENT,
        rate=D("0.015"),
        emi_amount=D("1100.16"),
        principal_step=D("1000.00"),
    )
    assert m == 5


def test_periods_to_repay_at_zero_rate_is_principal_over_emi_rounded_up() -> None:
    m = rules.periods_to_repay(
        D("1000.00"),
        method=Method.EQUAL_INSTALLMENT,
        rate=ZERO,
        emi_amount=D("300.00"),
        principal_step=D("300.00"),
    )
    assert m == 4


@pytest.mark.parametrize(("method"), [Method.EQUAL_PRINCIPAL, Method.FLAT])
def test_periods_to_repay_by_principal_step_rounds_up(method: Method) -> None:
    def periods(principal: str) -> int:
        return rules.periods_to_repay(
            D(principal),
            method=method,
            rate=D("0.015"),
            emi_amount=ZERO,
            principal_step=D("500.00"),
        )

    assert periods("1000.00") == 2
    assert periods("1000.01") == 3
    assert periods("0.01") == 1


def test_periods_to_repay_nothing_is_zero() -> None:
    assert (
        rules.periods_to_repay(
            ZERO,
            method=Method.EQUAL_INSTALLMENT,
            rate=D("0.015"),
            emi_amount=D("1100.16"),
            principal_step=D("1000.00"),
        )
        == 0
    )


def test_periods_to_repay_refuses_an_installment_that_does_not_cover_the_interest() -> None:
    with pytest.raises(ValueError):
        rules.periods_to_repay(
            D("100000.00"),
            method=Method.EQUAL_INSTALLMENT,
            rate=D("0.015"),
            emi_amount=D("1500.00"),
            principal_step=D("1000.00"),
        )


def test_periods_to_repay_does_not_apply_to_interest_first() -> None:
    with pytest.raises(ValueError):
        rules.periods_to_repay(
            D("1000.00"),
            method=Method.INTEREST_FIRST,
            rate=D("0.015"),
            emi_amount=D("1100.16"),
            principal_step=D("1000.00"),
        )
