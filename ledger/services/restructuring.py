"""Restructuring (loan-rules §16): the use case behind ``ledger loan restructure`` and ``POST
/loans/{loan_id}/restructurings``. Carried out through four eyes
(:func:`ledger.services.approvals.request_restructure`); :meth:`Restructurings.preview_restructure`
computes the same restructuring on a loan that is never saved: nothing is written.

The inputs are checked against the product bounds of a new loan (:mod:`ledger.services.products`):
a term of 1 to ``MAX_TERM`` installments, a rate within the bounds of the loan's own form of
rate (``daily_rate`` or ``annual_rate``), a payment holiday of 1 to ``MAX_HOLIDAY``
installments; the loan's own rules refuse the rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.domain.business_day import advance_to
from ledger.domain.errors import CommandRefused
from ledger.domain.loan import Loan
from ledger.domain.restructure import MAX_HOLIDAY
from ledger.domain.terms import MAX_TERM
from ledger.services.store import LedgerStore

Row = tuple[int, date, Decimal, Decimal]  # k, due date, principal, interest (as planned)


@dataclass(frozen=True)
class Asked:
    """What a restructuring asks: a new term, a new rate, a payment holiday (``None``: not)."""

    term: int | None
    rate: Decimal | None
    holiday: int | None


@dataclass(frozen=True)
class Preview:
    """A restructuring as it would be carried out on ``loan`` (never saved): the
    ``Restructured`` event, the plan before (``old``) and after (``new``) from the next
    installment on, and the loan's recorded events (its cash flows so far)."""

    loan: Loan
    event: Any
    old: list[Row]
    new: list[Row]
    recorded: list[Any]


class Restructurings(LedgerStore):
    """The restructuring use case; :class:`~ledger.services.application.LedgerApp` has it."""

    def restructure(
        self,
        reference: str,
        *,
        on: date | None,
        term: int | None,
        rate: Decimal | None,
        actor: str,
        reason: str,
        holiday: int | None = None,
    ) -> Loan:
        """Section 16: re-plan loan ``reference`` on ``on`` (default: its next open day, whose
        missing days run first, as for any command of the day); ``holiday``: a payment
        holiday of that many installments."""
        asked = Asked(term, rate, holiday)
        loan, changed, _ = self._restructured(reference, on, asked, actor, reason)
        self.save(loan, *changed)
        return loan

    def preview_restructure(
        self,
        reference: str,
        *,
        on: date | None,
        term: int | None,
        rate: Decimal | None,
        holiday: int | None = None,
    ) -> Preview:
        """The same restructuring, computed and shown, written nowhere (refused as the
        command would be)."""
        recorded = self.loan_events(reference)
        asked = Asked(term, rate, holiday)
        loan, _, old = self._restructured(reference, on, asked, "", "preview")
        event: Any = loan.pending_events[-1]
        return Preview(loan, event, old, loan.planned_parts(event.fixed + 1), recorded)

    def _restructured(
        self,
        reference: str,
        on: date | None,
        asked: Asked,
        actor: str,
        reason: str,
    ) -> tuple[Loan, list[Any], list[Row]]:
        """The loan restructured in memory, the linked accounts its missing days changed, and
        the plan before (from the next installment on)."""
        loan = self.get_loan(reference)
        check_inputs(loan, asked.term, asked.rate, asked.holiday)
        day = on or loan.next_open_day
        self._check_on(loan, day)
        bank = self._bank_for([loan.id])
        advance_to(loan, day, bank)
        old = [] if loan.is_closed else loan.planned_parts(len(loan.installments) + 1)
        loan.restructure(
            day, term=asked.term, rate=asked.rate, holiday=asked.holiday, actor=actor, reason=reason
        )
        return loan, list(bank.changed()), old


def check_inputs(
    loan: Loan, term: int | None, rate: Decimal | None, holiday: int | None = None
) -> None:
    """The product bounds a new loan's term and rate are held to (one line each), and a
    payment holiday's 1 to ``MAX_HOLIDAY`` installments."""
    from ledger.services import products  # pydantic: loaded by the commands that need it

    if term is not None and not 1 <= term <= MAX_TERM:
        raise CommandRefused(f"term: must be 1 to {MAX_TERM} installments, got {term}")
    if holiday is not None and not 1 <= holiday <= MAX_HOLIDAY:
        raise CommandRefused(f"holiday: must be 1 to {MAX_HOLIDAY} installments, got {holiday}")
    if rate is None:
        return
    if loan.terms.annual_rate is not None:
        low, high, name = products.MIN_ANNUAL_RATE, products.MAX_ANNUAL_RATE, "annual_rate"
    else:
        low, high, name = products.MIN_DAILY_RATE, products.MAX_DAILY_RATE, "daily_rate"
    if not low <= rate <= high:
        raise CommandRefused(
            f"rate: loan {loan.label} has a {name}; a new one must be {low} to {high}, got {rate}"
        )
