"""The commands of the ``Loan`` aggregate (loan-rules sections 3 to 7): each validates,
computes once with :mod:`ledger.domain.rules` and the domain's calculators, and triggers one
past-tense event that carries the amounts and their inputs. ``Loan`` inherits them; they live
apart so the aggregate's module holds its events and their versions.

The business day (section 3) is driven from outside, in this order:
``fix_due_installments(d)`` and ``deduct(d, ...)`` in the morning, ``repay``/``prepay`` during
the day, ``close_day(d)`` at the end of the day (accrual, then overdue marking).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ledger.domain import rules
from ledger.domain.accrual import accrual_of, newly_overdue
from ledger.domain.differences import differences
from ledger.domain.errors import CommandRefused
from ledger.domain.money import FEN, ZERO, accumulate, fmt, readable, round_to
from ledger.domain.prepayment import PrepaymentQuote, quote_prepayment
from ledger.domain.state import CLOSED, LoanState
from ledger.domain.terms import Method, Replan


class LoanCommands(LoanState):
    """What may be asked of a loan; :class:`~ledger.domain.loan.Loan` inherits it and
    supplies its event classes and ``trigger_event``."""

    if TYPE_CHECKING:  # supplied by Loan
        Closed: type[Any]
        Corrected: type[Any]
        DeductionFailed: type[Any]
        HandlingFeeFellDue: type[Any]
        InstallmentDeducted: type[Any]
        InstallmentFellDue: type[Any]
        InterestAccrued: type[Any]
        Overdue: type[Any]
        Prepaid: type[Any]
        RemainingFeesAssessed: type[Any]
        Repaid: type[Any]
        Waived: type[Any]

        def trigger_event(self, event_class: Any, **kwargs: Any) -> None: ...

    def fix_due_installments(self, on: date) -> None:
        """Morning of ``on``, step 1 (section 3): fix every installment due on ``on`` (section
        5), each with its handling fee on a ``bank_installment`` loan (section 13)."""
        self._require_day_open(on)
        while len(self.installments) < self.last_k:
            k = len(self.installments) + 1
            due = self.terms.due_date(k)
            if due > on:
                break
            is_last = k == self.last_k
            holiday, accrued = self._holiday_fields(k), readable(self.interest_accrued)
            parts = rules.installment_parts(
                method=self.terms.method,
                is_last=is_last,
                emi_amount=self.emi,
                principal_step=self.principal_step,
                remaining_principal=self.principal_not_due,
                interest_accrued=holiday.get("planned_interest", accrued),
                rounding=self.terms.rounding,
            )
            interest = round_to(accrued, FEN, self.terms.rounding)  # parts' but after a holiday
            if holiday.get("holiday"):  # section 16: nothing falls due
                parts, interest = rules.InstallmentParts(principal=ZERO, interest=ZERO), ZERO
            self.trigger_event(
                self.InstallmentFellDue,
                on=on,
                k=k,
                due_date=due,
                principal=parts.principal,
                interest=interest,
                interest_accrued=accrued,
                rounding=self.terms.rounding.value,
                method=self.terms.method.value,
                emi=self.emi,
                principal_step=self.principal_step,
                remaining_principal_before=self.principal_not_due,
                is_last=is_last,
                **holiday,
            )
            if self.terms.fee_rate_per_period is not None:
                self._fix_handling_fee(on, k, self.terms.fee_rate_per_period)
        self._close_if_settled(on)

    def _holiday_fields(self, k: int) -> dict[str, Any]:
        """Section 16: ``holiday`` for an installment of a payment holiday; for the first one
        after it, ``planned_interest = round(base x monthly rate)`` (base as planned, section
        5), the interest its principal part is computed against (its interest part is all
        the interest accrued since the last installment that was not a holiday)."""
        if k <= self.holiday_through:
            return {"holiday": True}
        if not self.installments or not self.installments[-1].holiday:
            return {}
        t = self.terms
        base = t.principal if t.method is Method.FLAT else self.principal_not_due
        return {"planned_interest": round_to(base * self.monthly_rate, FEN, t.rounding)}

    def _fix_handling_fee(self, on: date, k: int, fee_rate: Decimal) -> None:
        """Section 13: installment ``k``'s handling fee, ``round(P x f)``, with its inputs."""
        t = self.terms
        self.trigger_event(
            self.HandlingFeeFellDue,
            on=on,
            k=k,
            principal=t.principal,
            fee_rate=fee_rate,
            rounding=t.rounding.value,
            fee=rules.handling_fee(t.principal, fee_rate, t.rounding),
        )

    def deduct(self, on: date, *, requested: Decimal, collected: Decimal) -> None:
        """Morning of ``on``, step 2: record the one deduction of the day (section 3)."""
        self._require_morning_done(on)
        if self.last_deduction_on == on:
            raise CommandRefused(f"loan {self.label}: a deduction was already made on {on}")
        if requested != self.amount_due - self.deductions_in_flight:  # section 17
            raise CommandRefused(
                f"loan {self.label}: deduction requested {fmt(requested)} "
                f"but {fmt(self.amount_due - self.deductions_in_flight)} is due and not in flight"
            )
        if collected < ZERO or collected > requested:
            raise CommandRefused(
                f"loan {self.label}: collected {fmt(collected)} is not within 0..{fmt(requested)}"
            )
        if collected == ZERO:
            self.trigger_event(self.DeductionFailed, on=on, requested=requested)
            return
        allocations, _ = rules.allocate(collected, self.owed())
        self.trigger_event(
            self.InstallmentDeducted,
            on=on,
            requested=requested,
            collected=collected,
            allocations=[a.as_dict() for a in allocations],
        )
        self._close_if_settled(on)

    def repay(self, on: date, amount: Decimal) -> list[rules.Allocation]:
        """A repayment on ``on`` (section 6); more than everything due is refused."""
        self._require_morning_done(on)
        if amount <= ZERO:
            raise CommandRefused(f"repayment amount must be positive, got {fmt(amount)}")
        due = self.amount_due
        if amount > due:
            raise CommandRefused(
                f"loan {self.label}: repayment of {fmt(amount)} exceeds the {fmt(due)} due "
                f"on {on}; use a prepayment for the rest"
            )
        allocations, _ = rules.allocate(amount, self.owed())
        self.trigger_event(
            self.Repaid, on=on, amount=amount, allocations=[a.as_dict() for a in allocations]
        )
        self._close_if_settled(on)
        return allocations

    def close_day(self, on: date) -> None:
        """End of day ``on`` (section 3): accrue interest for ``on`` on the balances as they
        stand (section 4), then mark overdue every installment unpaid at the end of its
        ``due + grace_days`` (section 6)."""
        self._require_morning_done(on)
        self.trigger_event(self.InterestAccrued, **accrual_of(self, on))
        for overdue in newly_overdue(self, on):
            self.trigger_event(self.Overdue, **overdue)

    def quote_prepayment(
        self,
        on: date,
        *,
        amount: Decimal | None = None,
        replan: Replan = Replan.REDUCE_INSTALLMENT,
    ) -> PrepaymentQuote:
        """Section 7: what a full (``amount=None``) or partial prepayment on ``on`` pays."""
        self._require_morning_done(on)
        return quote_prepayment(self, on, amount=amount, replan=replan)

    def prepay(
        self,
        on: date,
        *,
        amount: Decimal | None = None,
        replan: Replan = Replan.REDUCE_INSTALLMENT,
    ) -> PrepaymentQuote:
        """Execute a prepayment (section 7); a full one closes the loan."""
        quote = self.quote_prepayment(on, amount=amount, replan=replan)
        if quote.remaining_fees is not None:  # section 13: recorded before the money pays it
            self.trigger_event(
                self.RemainingFeesAssessed,
                on=on,
                rule=quote.remaining_fees.rule,
                installments=list(quote.remaining_fees.installments),
                fee=quote.remaining_fees.fee,
                charged=quote.remaining_fees.charged,
            )
        self.trigger_event(
            self.Prepaid,
            on=on,
            kind=quote.kind,
            allocations=[a.as_dict() for a in quote.allocations],
            overdue=quote.overdue,
            penalty=quote.penalty,
            interest=quote.interest,
            interest_accrued=readable(quote.interest_accrued),
            fee_rate=quote.fee_rate,
            fee=quote.fee,
            principal=quote.principal,
            total=quote.total,
            remaining_principal=quote.remaining_principal,
            replan=quote.replan,
            emi=quote.emi,
            principal_step=quote.principal_step,
            last_k=quote.last_k,
        )
        if quote.kind == "full":
            self.trigger_event(
                self.Closed,
                on=on,
                reason="prepaid",
                residual_interest=readable(accumulate(quote.interest_accrued, -quote.interest)),
            )
        return quote

    def correct(
        self,
        on: date,
        *,
        kind: str,
        effective_on: date,
        amount: Decimal | None,
        reverses: int | None,
        supersedes: list[int],
        refund_due: Decimal,
        corrected: LoanState,
        actor: str,
        reason: str,
        credit_rules: bool = True,
        waivers_not_reproduced: Sequence[dict[str, Any]] = (),
        result: dict[str, Any] | None = None,
    ) -> None:
        """Record a correction whose recomputed result is ``corrected`` (the same loan
        replayed from its facts with the correction, see :mod:`ledger.domain.replay`)."""
        if not reason.strip():
            raise CommandRefused("a correction needs a reason")
        state = corrected.derived_state()
        self.trigger_event(
            self.Corrected,
            on=on,
            kind=kind,
            effective_on=effective_on,
            amount=amount,
            reverses=reverses,
            supersedes=supersedes,
            refund_due=refund_due,
            differences=differences(self.derived_state(), state),
            state={**state, "refunds_due": self.refunds_due + refund_due},
            actor=actor,
            reason=reason,
            credit_rules=credit_rules,
            waivers_not_reproduced=list(waivers_not_reproduced),
            result=result,
        )

    # ------------------------------------------------------------------ helpers

    def _require_open(self) -> None:
        if self.status == CLOSED:
            raise CommandRefused(f"loan {self.label} is closed (since {self.closed_on})")
        if self.is_written_off:  # section 14: only a recovery
            raise CommandRefused(
                f"loan {self.label} is written off (on {self.written_off_on}): only a recovery "
                "can be recorded"
            )

    def _require_day_open(self, on: date) -> None:
        self._require_open()
        if on < self.terms.disbursed_on:
            raise CommandRefused(
                f"loan {self.label}: {on} is before its disbursement on {self.terms.disbursed_on}"
            )
        if on <= self.closed_through:
            raise CommandRefused(
                f"loan {self.label}: business day {on} is already closed "
                f"(closed through {self.closed_through})"
            )
        if on > self.next_open_day:
            raise CommandRefused(
                f"loan {self.label}: business days from {self.next_open_day} to "
                f"{on - timedelta(days=1)} are not closed yet"
            )

    def _require_morning_done(self, on: date) -> None:
        self._require_day_open(on)
        if len(self.installments) < self.last_k and (
            self.terms.due_date(len(self.installments) + 1) <= on
        ):
            raise CommandRefused(f"loan {self.label}: the morning of {on} has not run yet")

    def _close_if_settled(self, on: date) -> None:
        """Close once no principal is left and nothing is owed: normally when the last
        installment is paid; earlier if rounding (e.g. a whole-yuan EMI) used the principal
        up before the last installment. Sub-fen remainders of accrued interest are recorded."""
        if (
            self.status != CLOSED
            and self.principal_not_due == ZERO
            and all(i.settled_on is not None for i in self.installments)
            and round_to(self.interest_accrued, FEN, self.terms.rounding) == ZERO
        ):
            residual = self.interest_accrued
            if self.installments:
                after_due = self.installments[-1].interest_after_due
                rounded = round_to(after_due, FEN, self.terms.rounding)
                residual = accumulate(residual, accumulate(after_due, -rounded))
            self.trigger_event(
                self.Closed, on=on, reason="repaid", residual_interest=readable(residual)
            )
