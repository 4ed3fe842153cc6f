"""Non-accrual (loan-rules §15, the ledger's own rule): the part of a loan's state that says
whether its charges are income, and the end-of-day step that starts and ends it.

At the end of a business day, after the accrual and the overdue marking (section 3), a loan
whose days past due are at least ``$LEDGER_NON_ACCRUAL_AFTER_DAYS`` (unset: never) records
``NonAccrualStarted`` with that threshold; one in non-accrual whose days past due are back to
zero (cured) records ``NonAccrualEnded``. Nothing the contract owes changes: the loan accrues
interest, penalty and compound interest as ever and ``loan show`` counts them. What changes
is the journal (docs/accounting.md): the charges that accrue while the loan is in
non-accrual are **suspended** (owed, not income) until they are paid or the loan is cured.

The state keeps what is suspended per charge, in fen, moved after every event by one rule
(:func:`follow_suspense`): an accrual on a loan in non-accrual adds the change of each charge's
rounded receivable; nothing suspended may exceed what is receivable of that charge (the
suspended part is the newest: whatever lowers the receivable, a payment, a waiver or a
write-off, takes the part already recognised first); ``NonAccrualEnded`` releases it all.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ledger.domain.errors import CommandRefused
from ledger.domain.money import ZERO

SUSPENDED = ("interest", "penalty", "compound")  # the charges whose accruals are suspended


class NonAccrualState:
    """Part of :class:`~ledger.domain.state.LoanState`. Class defaults: a loan never in
    non-accrual (and one restored from a snapshot or a fold saved before it existed)."""

    non_accrual_since: date | None = None
    interest_suspended: Decimal = ZERO
    penalty_suspended: Decimal = ZERO
    compound_suspended: Decimal = ZERO

    def suspended(self) -> dict[str, Decimal]:
        return {c: getattr(self, f"{c}_suspended") for c in SUSPENDED}


def charge_receivables(state: Any) -> dict[str, Decimal]:
    """What is receivable of each suspended charge, as the journal's positions count it
    (:func:`ledger.domain.accounting.positions_of`): interest accrued (rounded) and due,
    penalty owed, compound interest owed."""
    interest = state.interest_accrued_rounded
    penalty = compound = ZERO
    for o in state.owed():
        interest += o.interest
        penalty += o.penalty
        compound += o.compound or ZERO
    return {"interest": interest, "penalty": penalty, "compound": compound}


def follow_suspense(state: Any, before: dict[str, Decimal] | None) -> None:
    """After an event: ``before`` (the receivables before an accrual on a loan in
    non-accrual, else ``None``) suspends the accrual's change; nothing stays suspended above
    what is receivable. Nothing to do for a loan with nothing suspended and no accrual."""
    if before is None and not (
        state.interest_suspended or state.penalty_suspended or state.compound_suspended
    ):
        return  # every event of every loan comes here: the common case costs nothing
    now = charge_receivables(state)
    for c in SUSPENDED:
        amount = getattr(state, f"{c}_suspended")
        if before is not None:
            amount += now[c] - before[c]
        setattr(state, f"{c}_suspended", min(amount, now[c]))


def release(state: Any) -> None:
    """``NonAccrualEnded``: the loan accrues again and what was suspended is income."""
    state.non_accrual_since = None
    for c in SUSPENDED:
        setattr(state, f"{c}_suspended", ZERO)


if TYPE_CHECKING:
    from ledger.domain.commands import LoanCommands as _Base
else:
    _Base = object


class NonAccruals(_Base):
    """The end-of-day step of section 15; :class:`~ledger.domain.loan.Loan` inherits it."""

    if TYPE_CHECKING:  # supplied by Loan
        NonAccrualStarted: type[Any]
        NonAccrualEnded: type[Any]

    def review_non_accrual(self, on: date, *, after_days: int | None) -> None:
        """End of day ``on``, after :meth:`close_day`: a loan at least ``after_days`` days
        past due (``None``: the setting is off) starts non-accrual; one in non-accrual with
        nothing past due ends it. Refused unless ``on`` is the day the loan closed last."""
        if self.is_closed or on != self.closed_through:
            raise CommandRefused(
                f"loan {self.label}: non-accrual is reviewed at the end of the day just "
                f"closed ({self.closed_through}), not {on}"
            )
        days = self.days_past_due(on)
        if self.non_accrual_since is None:
            if after_days is not None and days >= after_days:
                self.trigger_event(
                    self.NonAccrualStarted, on=on, days_past_due=days, after_days=after_days
                )
        elif days == 0:
            self.trigger_event(self.NonAccrualEnded, on=on, started_on=self.non_accrual_since)
