"""The benchmarks open loans of every preset the way ``ledger loan open`` validates them: a
preset added to the product list (section 13's bank installment) must not break them."""

from __future__ import annotations

from random import Random

from ledger.domain.terms import PRESETS
from ops.bench.close_day import make_terms


def test_the_benchmark_books_open_a_loan_of_every_preset() -> None:
    rng = Random(7)
    products = {make_terms(rng).product for _ in range(200)}
    assert products == set(PRESETS)
