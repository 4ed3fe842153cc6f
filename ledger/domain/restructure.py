"""Restructuring (loan-rules §16, the ledger's own rule): a new term or a new rate for the
principal not yet due, re-planned from the next installment on. A four-eyes command
(:mod:`ledger.services.approvals`); no money moves.

The installments already fixed stay as they are (what is owed on them, overdue or not, is
owed as before). The principal not yet due ``P'`` is re-planned over ``n = last_k - fixed``
installments (``fixed``: the installments already fixed; ``last_k``: the new term, or the
term in force) at the monthly rate in force ``r`` (the new rate's, or the old one's), as
section 5 plans a loan at disbursement: ``EMI = emi(P', r, n)`` and ``principal_step =
round(P' / n)``. A new rate replaces the rate in the loan's terms in force (``annual_rate`` or
``daily_rate``, whichever the loan was opened with): every accrual from the restructuring day
on (that day's end-of-day included) uses it, for the normal interest and for the penalty
(section 4: rate x multiplier); what accrued before stays. The disbursement keeps the
original terms; ``Loan.Restructured`` records the inputs and both plans, so an auditor can redo
it. A **payment holiday** of ``K`` installments (``holiday``, alone or with a new rate)
moves them: the term grows by ``K``, installments ``fixed + 1 .. fixed + K`` fall due with
nothing (``InstallmentFellDue.holiday``), the interest accrued carries on and is charged with
the first installment after them, and ``P'`` is re-planned over the ``last_k - fixed - K``
installments after the holiday. Not built: a new rate on a ``per_transaction`` loan (section
10) or a ``bank_installment`` loan (no interest, section 13), a payment holiday on either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ledger.domain import rules
from ledger.domain.errors import CommandRefused
from ledger.domain.money import ZERO
from ledger.domain.terms import MAX_TERM

NEW_TERM, NEW_RATE, NEW_TERM_AND_RATE = "new_term", "new_rate", "new_term_and_rate"
HOLIDAY, HOLIDAY_AND_RATE = "payment_holiday", "payment_holiday_and_rate"
MAX_HOLIDAY = 12  # installments a payment holiday may move


@dataclass(frozen=True)
class RestructuredFields:
    """The fields of ``Loan.Restructured`` (its base class: they live here, not in the
    aggregate's module). ``kind``: ``new_term``, ``new_rate`` or ``new_term_and_rate``;
    ``fixed``: installments already fixed, unchanged; ``principal_not_due``: ``P'``, the
    principal re-planned; ``rate_name``: the term the rate is (``annual_rate`` or
    ``daily_rate``); each ``*_before`` the plan's input before, its plain name after:
    ``monthly_rate`` (section 5), ``last_k`` (the last installment), ``emi = emi(P',
    monthly_rate, last_k - fixed)``, ``principal_step = round(P' / (last_k - fixed))``."""

    on: date
    kind: str
    fixed: int
    principal_not_due: Decimal
    rate_name: str
    rate_before: Decimal
    rate: Decimal
    monthly_rate_before: Decimal
    monthly_rate: Decimal
    last_k_before: int
    last_k: int
    emi_before: Decimal
    emi: Decimal
    principal_step_before: Decimal
    principal_step: Decimal
    actor: str
    reason: str
    if TYPE_CHECKING:  # a field of Loan.Restructured itself, so it can default to None
        holiday: int | None

    def changes(self) -> str:
        """What changed, in words (``loan events``, the report)."""
        return "; ".join(
            (
                f"{self.kind.replace('_', ' ')}: {self.principal_not_due} not yet due re-planned "
                f"after #{self.fixed + (self.holiday or 0)}",
                *self.holiday_text(),
                f"last installment {self.last_k_before} -> {self.last_k}",
                f"{self.rate_name} {self.rate_before} -> {self.rate}",
                f"EMI {self.emi_before} -> {self.emi}",
                f"principal step {self.principal_step_before} -> {self.principal_step}",
                f"{self.reason} ({self.actor})",
            )
        )

    @property
    def new_term(self) -> int | None:
        """The term asked for (``None``: the term in force was kept)."""
        return self.last_k if self.kind in (NEW_TERM, NEW_TERM_AND_RATE) else None

    @property
    def new_rate(self) -> Decimal | None:
        """The rate asked for (``None``: the rate in force was kept)."""
        return self.rate if self.kind in (NEW_RATE, NEW_TERM_AND_RATE, HOLIDAY_AND_RATE) else None

    def holiday_text(self) -> tuple[str, ...]:
        """A payment holiday's installments, in words (none for another restructuring)."""
        if not self.holiday:
            return ()
        return (f"payment holiday: #{self.fixed + 1} to #{self.fixed + self.holiday} moved",)

    def asked(self) -> dict[str, Any]:
        """What was asked, as :meth:`Restructurings.restructure` takes it (a replay)."""
        return {"term": self.new_term, "rate": self.new_rate, "holiday": self.holiday,
                "actor": self.actor, "reason": self.reason}  # fmt: skip


if TYPE_CHECKING:
    from ledger.domain.commands import LoanCommands as _Base
else:
    _Base = object


class Restructurings(_Base):
    """The restructuring command; :class:`~ledger.domain.loan.Loan` inherits it."""

    if TYPE_CHECKING:  # supplied by Loan
        Restructured: type[Any]

    def restructure(
        self,
        on: date,
        *,
        term: int | None,
        rate: Decimal | None,
        actor: str,
        reason: str,
        holiday: int | None = None,
    ) -> None:
        """loan-rules §16: re-plan the principal not yet due over a new term (``term``: the new
        number of the last installment, counted from the first) and/or at a new rate (in the
        form of the loan's rate), or move the next ``holiday`` installments (a payment
        holiday, alone or with a new rate). Refused on a closed or written-off loan, a day
        closed or whose morning has not run, without a reason or a change, with nothing left
        to re-plan, during a payment holiday, for a term that does not leave an installment
        after those already fixed, and for a rate that is not positive."""
        self._require_morning_done(on)  # refuses a closed or written-off loan too
        fixed = len(self.installments)
        self._check_asked(term, rate, holiday, reason, fixed)
        t = self.terms
        rate_name = "annual_rate" if t.annual_rate is not None else "daily_rate"
        rate_before: Decimal = getattr(t, rate_name)
        if rate is not None:
            _check_rate(self, rate, rate_before)
        new_rate = rate_before if rate is None else rate
        monthly = rules.monthly_rate(
            new_rate if rate_name == "daily_rate" else None,
            new_rate if rate_name == "annual_rate" else None,
        )
        last_k = self.last_k if term is None else term
        periods, remaining = last_k - fixed, self.principal_not_due
        kind = NEW_RATE if term is None else NEW_TERM if rate is None else NEW_TERM_AND_RATE
        if holiday is not None:  # the plan after the holiday, over as many installments
            kind, last_k = (HOLIDAY if rate is None else HOLIDAY_AND_RATE), last_k + holiday
        self.trigger_event(
            self.Restructured,
            on=on,
            kind=kind,
            fixed=fixed,
            principal_not_due=remaining,
            rate_name=rate_name,
            rate_before=rate_before,
            rate=new_rate,
            monthly_rate_before=self.monthly_rate,
            monthly_rate=monthly,
            last_k_before=self.last_k,
            last_k=last_k,
            emi_before=self.emi,
            emi=rules.emi(remaining, monthly, periods, t.installment_multiple, t.rounding),
            principal_step_before=self.principal_step,
            principal_step=rules.principal_per_installment(remaining, periods, t.rounding),
            actor=actor,
            reason=reason,
            holiday=holiday,
        )

    def _check_asked(
        self, term: int | None, rate: Decimal | None, holiday: int | None, reason: str, fixed: int
    ) -> None:
        """The refusals that do not depend on the rate (section 16)."""
        if not reason.strip():
            raise CommandRefused("a restructuring needs a reason")
        if term is None and rate is None and holiday is None:
            raise CommandRefused("a restructuring needs a new term, a new rate or a holiday")
        if self.principal_not_due <= ZERO or fixed >= self.last_k:
            raise CommandRefused(
                f"loan {self.label}: every installment is already fixed; nothing to re-plan"
            )
        if self.holiday_through > fixed:
            raise CommandRefused(
                f"loan {self.label}: installments up to #{self.holiday_through} are a payment "
                "holiday; it can be restructured again once they have fallen due"
            )
        if holiday is not None:
            _check_holiday(self, holiday, term)
        if term is not None and term <= fixed:
            raise CommandRefused(
                f"loan {self.label}: term {term}: installments 1 to {fixed} are already "
                f"fixed; the new term must be at least {fixed + 1}"
            )
        if term is not None and term == self.last_k:
            raise CommandRefused(f"loan {self.label}: term {term} is already the term in force")


def _check_holiday(loan: Any, holiday: int, term: int | None) -> None:
    """A payment holiday: 1 to ``MAX_HOLIDAY`` installments, not with a new term, not past
    the longest term, not on a ``bank_installment`` or ``per_transaction`` loan."""
    if not 1 <= holiday <= MAX_HOLIDAY:
        raise CommandRefused(f"holiday: must be 1 to {MAX_HOLIDAY} installments, got {holiday}")
    if term is not None:
        raise CommandRefused(
            "a payment holiday lengthens the term by itself: give a holiday or a new term, "
            "not both (a new rate may go with either)"
        )
    if loan.terms.charges_handling_fee or loan.terms.per_transaction:
        product = "bank_installment" if loan.terms.charges_handling_fee else "per_transaction"
        raise CommandRefused(
            f"loan {loan.label}: a payment holiday on a {product} loan is not built "
            "(loan-rules section 16)"
        )
    if loan.last_k + holiday > MAX_TERM:
        raise CommandRefused(
            f"loan {loan.label}: a holiday of {holiday} would take the term from "
            f"{loan.last_k} past {MAX_TERM} installments"
        )


def _check_rate(loan: Any, rate: Decimal, before: Decimal) -> None:
    t = loan.terms
    if t.charges_handling_fee:
        raise CommandRefused(
            f"loan {loan.label}: a bank_installment loan bears no interest (loan-rules "
            "section 13): it takes a new term, not a new rate"
        )
    if t.per_transaction:
        raise CommandRefused(
            f"loan {loan.label}: a new rate for a per_transaction loan (loan-rules section "
            "10) is not built; a new term is"
        )
    if rate <= ZERO:
        raise CommandRefused(f"rate must be positive, got {rate}")
    if rate == before:
        raise CommandRefused(f"loan {loan.label}: rate {rate} is already the rate in force")
