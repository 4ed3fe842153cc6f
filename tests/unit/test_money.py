"""Money (loan-rules preamble): Decimal only, two places, rounding only through ``round_to``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.domain.money import FEN, FloatRefused, Rounding, fmt, money, round_to, to_decimal

WHOLE_YUAN = Decimal("1")


# --------------------------------------------------------------------------- floats


@pytest.mark.parametrize("value", [0.1, 12.34, 1.0, 0.0, -3.5, float("nan"), float("inf")])
def test_money_refuses_any_float(value: float) -> None:
    with pytest.raises(FloatRefused):
        money(value)


@pytest.mark.parametrize("value", [0.1, 2.675, 1.0])
def test_to_decimal_refuses_any_float(value: float) -> None:
    with pytest.raises(FloatRefused):
        to_decimal(value, "rate")


def test_float_refusal_is_a_type_error_that_names_what_was_offered() -> None:
    with pytest.raises(TypeError, match="principal"):
        money(12.34, "principal")


# --------------------------------------------------------------------------- garbage


@pytest.mark.parametrize("value", ["abc", "", "   ", "12.3.4", "1O0", "¥100", "12 34"])
def test_money_refuses_text_that_is_not_a_number(value: str) -> None:
    with pytest.raises(ValueError):
        money(value)


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-Infinity", "inf"])
def test_money_refuses_non_finite_numbers(value: str) -> None:
    with pytest.raises(ValueError):
        money(value)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity")])
def test_money_refuses_non_finite_decimals(value: Decimal) -> None:
    with pytest.raises(ValueError):
        money(value)


@pytest.mark.parametrize("value", [None, True, False, [1], {"amount": 1}, b"12.34", 1 + 2j])
def test_money_refuses_values_that_are_not_numbers_at_all(value: object) -> None:
    with pytest.raises(TypeError):
        money(value)


# --------------------------------------------------------------------------- accepted input


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.34", "12.34"),
        (5, "5.00"),
        (Decimal("7.1"), "7.10"),
        ("12.340", "12.34"),
        ("-0.01", "-0.01"),
    ],
)
def test_money_accepts_int_str_and_decimal_and_expresses_them_in_fen(
    value: object, expected: str
) -> None:
    amount = money(value)
    assert isinstance(amount, Decimal)
    assert amount == Decimal(expected)
    assert str(amount) == expected
    assert amount.as_tuple().exponent == -2


def test_to_decimal_keeps_every_digit_of_a_rate() -> None:
    assert to_decimal("0.000123456789") == Decimal("0.000123456789")


# --------------------------------------------------------------------------- two decimals


@pytest.mark.parametrize("value", ["0.001", "12.345", "1.005", "-1.005", "0.125"])
def test_money_refuses_more_than_two_decimal_places(value: str) -> None:
    with pytest.raises(ValueError, match="two decimal places"):
        money(value)


def test_money_refuses_a_decimal_with_more_than_two_places() -> None:
    with pytest.raises(ValueError):
        money(Decimal("100.999"))


# --------------------------------------------------------------------------- rounding modes


@pytest.mark.parametrize(
    ("amount", "half_up", "half_even"),
    [
        ("0.125", "0.13", "0.12"),
        ("0.135", "0.14", "0.14"),
        ("2.675", "2.68", "2.68"),
        ("2.665", "2.67", "2.66"),
        ("0.124999", "0.12", "0.12"),
        ("0.125001", "0.13", "0.13"),
        ("-0.125", "-0.13", "-0.12"),
        ("1.5", "1.50", "1.50"),
    ],
)
def test_half_up_and_half_even_differ_only_on_exact_halves(
    amount: str, half_up: str, half_even: str
) -> None:
    assert round_to(Decimal(amount), FEN, Rounding.HALF_UP) == Decimal(half_up)
    assert round_to(Decimal(amount), FEN, Rounding.HALF_EVEN) == Decimal(half_even)


def test_round_to_defaults_to_fen_and_half_up() -> None:
    assert round_to(Decimal("0.125")) == Decimal("0.13")


def test_decimal_2_675_rounds_to_2_68_where_the_float_would_give_2_67() -> None:
    # The float 2.675 is 2.67499999..., which is why floats are refused.
    assert round(2.675, 2) == 2.67
    assert round_to(Decimal("2.675"), FEN, Rounding.HALF_UP) == Decimal("2.68")


def test_rounding_mode_maps_to_the_decimal_module_constant() -> None:
    assert Rounding("half_up") is Rounding.HALF_UP
    assert Rounding("half_even") is Rounding.HALF_EVEN
    assert Rounding.HALF_UP.decimal_mode == "ROUND_HALF_UP"
    assert Rounding.HALF_EVEN.decimal_mode == "ROUND_HALF_EVEN"


# --------------------------------------------------------------------------- whole yuan


@pytest.mark.parametrize(
    ("amount", "half_up", "half_even"),
    [
        ("1100.157", "1100.00", "1100.00"),
        ("1100.50", "1101.00", "1100.00"),
        ("1101.50", "1102.00", "1102.00"),
        ("1100.51", "1101.00", "1101.00"),
        ("0.49", "0.00", "0.00"),
        ("2.5", "3.00", "2.00"),
    ],
)
def test_installment_multiple_one_rounds_to_whole_yuan_expressed_in_fen(
    amount: str, half_up: str, half_even: str
) -> None:
    up = round_to(Decimal(amount), WHOLE_YUAN, Rounding.HALF_UP)
    even = round_to(Decimal(amount), WHOLE_YUAN, Rounding.HALF_EVEN)
    assert (str(up), str(even)) == (half_up, half_even)


def test_round_to_a_ten_fen_increment() -> None:
    assert round_to(Decimal("12.35"), Decimal("0.1"), Rounding.HALF_UP) == Decimal("12.40")
    assert round_to(Decimal("12.25"), Decimal("0.1"), Rounding.HALF_EVEN) == Decimal("12.20")


def test_round_to_always_returns_two_places() -> None:
    assert str(round_to(Decimal("3"))) == "3.00"
    assert str(round_to(Decimal("3.1"), WHOLE_YUAN)) == "3.00"


def test_fmt_prints_two_decimals() -> None:
    assert fmt(Decimal("1100.16")) == "1100.16"
    assert fmt(Decimal("5")) == "5.00"
    assert fmt(Decimal("0.5")) == "0.50"


def test_an_amount_too_large_for_fen_precision_is_refused_with_a_value_error() -> None:
    with pytest.raises(ValueError, match="too large"):
        money(Decimal("1e30"))


@pytest.mark.parametrize(
    "value",
    # separators, exponents, other digit sets, spaces, signs: each once read as a number
    ["1,50", "1,000.00", "1_000", "1e3", "1E+2", " 12.34 ", "\uff11\uff10", "+5", ".5", "5."],
)
def test_text_that_is_not_plain_ascii_digits_with_a_point_is_refused_not_guessed(
    value: str,
) -> None:
    with pytest.raises(ValueError, match="not a decimal number"):
        money(value)
