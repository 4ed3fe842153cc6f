"""The amounts of an ``InterestAccrued`` event as the loan's state adds them (loan-rules
sections 4, 10 and 11), and its arithmetic in words: one home for both, used by the state,
explain, the report and the pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ledger.domain import per_transaction, rules
from ledger.domain.money import Exact, accumulate
from ledger.domain.terms import Arithmetic


class AccruedAmounts:
    """What ``Loan.InterestAccrued`` computes from its own fields (its base class).

    End of day ``on`` (section 4): normal = base x rate x days / divisor; per overdue
    installment penalty = (overdue principal + interest) x rate x days / divisor x
    multiplier. Unrounded: ``normal`` and the penalties' amounts are written to 28 digits;
    a loan with exact arithmetic adds the exact values the inputs define (version 4 added
    ``divisor``; older events had the rate already divided, ``divisor`` 1).

    Each entry of ``penalties`` is ``{k, base, amount}``: base = overdue principal +
    interest of installment ``k``. On a loan that names ``compound_multiplier`` (section
    11) an entry also splits the charge: ``principal_base`` bears ``penalty`` = principal
    x rate x days / divisor x ``penalty_multiplier``, ``interest_base`` bears ``compound``
    = interest x rate x days / divisor x ``compound_multiplier`` (the multiplier is in
    the entry), and ``amount = penalty + compound``; ``penalty`` (the field) is the sum
    of the amounts either way. Other loans' entries (and every event recorded before
    section 11) have no such keys: their meaning is unchanged.

    On a ``per_transaction`` loan (section 10) ``rate``/``divisor``/``days`` are section
    10's day rate (a penalty entry carries its own section-4 ``rate``, ``divisor`` and
    ``days`` where they differ), and the day that completes a whole month of the piece
    has ``month`` (:func:`ledger.domain.per_transaction.month_entry`): normal = base x
    rate x days / divisor + month ``amount``. ``month`` is absent from every other event
    (stored and hashed without it), so it reads as ``None``."""

    base: Decimal
    rate: Decimal
    divisor: int
    days: int
    normal: Decimal
    penalty_multiplier: Decimal
    penalties: list[dict[str, Any]]
    month: dict[str, Any] | None

    def accrued(self, arithmetic: Arithmetic) -> tuple[Exact | Decimal, list[Exact | Decimal]]:
        """The day's normal interest and each entry's amount (penalty, plus compound
        interest on a loan that splits them, section 11), as the loan's state adds them:
        exact from the inputs (``exact``), or as recorded (``decimal28``)."""
        if arithmetic is Arithmetic.DECIMAL28:
            return self.normal, [p["amount"] for p in self.penalties]
        return self.normal_accrued(arithmetic), [
            penalty if compound is None else accumulate(penalty, compound)
            for penalty, compound in self.charges(arithmetic)
        ]

    def normal_accrued(self, arithmetic: Arithmetic) -> Exact | Decimal:
        """The day's normal interest, exact from the inputs or as recorded."""
        if arithmetic is Arithmetic.DECIMAL28:
            return self.normal
        day = rules.normal_interest(self.base, rules.DayRate(self.rate, self.divisor, self.days))
        if self.month is None:
            return day
        return accumulate(day, per_transaction.month_adjustment(self.month))  # section 10

    def arithmetic_text(self) -> str:
        """The day's normal interest as arithmetic an auditor can redo: ``base x rate x
        days / divisor`` (and section 10's month, where one completes) ``= normal``."""
        text = f"{self.base} x {self.rate_text()}"
        if self.month is not None:
            text += f" + ({per_transaction.month_text(self.month)})"
        return f"{text} = {self.normal}"

    def rate_text(self, entry: dict[str, Any] | None = None) -> str:
        """``rate x days / divisor`` of the day, or of a penalty entry that has its own
        (section 10)."""
        rate, days, divisor = self.rate, self.days, self.divisor
        if entry is not None and "rate" in entry:
            rate, days, divisor = entry["rate"], entry["days"], entry["divisor"]
        return f"{rate} x {days}" + (f" / {divisor}" if divisor != 1 else "")

    def charges(
        self, arithmetic: Arithmetic
    ) -> list[tuple[Exact | Decimal, Exact | Decimal | None]]:
        """Each entry's penalty and compound interest (section 11) as the state adds them,
        exact from the inputs or as recorded; compound ``None`` (the penalty being the
        whole amount) for an entry that does not split."""
        rate = rules.DayRate(self.rate, self.divisor, self.days)
        return [
            rules.entry_charges(p, rate, self.penalty_multiplier, arithmetic)
            for p in self.penalties
        ]
