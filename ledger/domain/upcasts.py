"""What class-version upcasts give loan events read from older versions of their classes
(``Loan.Event``, ``Disbursed``, ``InterestAccrued``, ``Corrected``): each fills a field
added later with the value that held before it existed. :mod:`ledger.domain.chain` knows the
same values, to check links sealed before the fields existed."""

from __future__ import annotations

from typing import Any

from ledger.domain.actor import UNKNOWN
from ledger.domain.chain import GENESIS
from ledger.domain.terms import Arithmetic


def unchained(state: dict[str, Any]) -> None:
    """Loan events v1 -> v2: recorded before the hash chain existed."""
    state["chain"] = GENESIS


def asker_unknown(state: dict[str, Any]) -> None:
    """Loan events v2 -> v3: who asked was not recorded before version 3."""
    state["recorded_by"] = UNKNOWN


def accrued_in_28_digits(state: dict[str, Any]) -> None:
    """``Disbursed`` v3 -> v4: a loan opened before exact accruals keeps the 28-digit
    arithmetic it was opened under (:class:`~ledger.domain.terms.Arithmetic`)."""
    state["terms"].setdefault("arithmetic", Arithmetic.DECIMAL28.value)


def before_credit(state: dict[str, Any]) -> None:
    """``Corrected`` v3 -> v4: a correction recorded before credit existed (loan-rules §12)
    recomputed its history without holding unused money as credit (``credit_rules`` false:
    :func:`ledger.domain.replay.run_facts`)."""
    state.setdefault("credit_rules", False)


def waivers_as_recorded(state: dict[str, Any]) -> None:
    """``Corrected`` v4 -> v5: before version 5 a correction did not list recorded waivers
    its recomputed history could not reproduce (none were recomputed differently)."""
    state.setdefault("waivers_not_reproduced", [])


def rate_already_divided(state: dict[str, Any]) -> None:
    """``InterestAccrued`` v3 -> v4: before exact accruals ``rate`` was the day's rate,
    already divided (to 28 digits): the divisor was 1."""
    state.setdefault("divisor", 1)
