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
    """What ``Loan.InterestAccrued`` computes from its own fields (its base class)."""

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
