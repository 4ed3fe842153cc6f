"""The remedies of a dispute as commands of the ``Loan`` aggregate (loan-rules §6 and §12):
waivers (of what is owed, and of charges already paid, which become credit), the morning's use
of credit, refunds of credit, and credit held from money a recomputed history did not need.

Each validates, computes with :mod:`ledger.domain.credit`, and triggers past-tense events
carrying the amounts and their inputs; a refused command triggers nothing. The money of a
refund leaves through the payment-gateway port, called by the service layer
(:mod:`ledger.services.remedies`), never from here.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ledger.domain import credit, rules
from ledger.domain.commands import LoanCommands
from ledger.domain.errors import CommandRefused
from ledger.domain.money import ZERO, fmt

COMPOUND = "compound"  # section 11: the part a waiver names for compound interest


class Remedies(LoanCommands):
    """Waivers, credit and refunds; :class:`~ledger.domain.loan.Loan` inherits them."""

    if TYPE_CHECKING:  # supplied by Loan
        CreditApplied: type[Any]
        OverpaymentHeld: type[Any]
        PaidChargeWaived: type[Any]
        Refunded: type[Any]

    def waive(self, on: date, *, part: str, amount: Decimal, actor: str, reason: str) -> None:
        """loan-rules §6 and §12: forgive ``amount`` of ``part`` (``fee``: the prepayment fee;
        ``penalty``; ``interest``): first what is still owed of it, oldest installment first
        (``Waived``), then what was already paid of it, which becomes credit
        (``PaidChargeWaived``). A closed loan can only have paid charges waived."""
        self._require_remedy_day(on)
        if part == COMPOUND:
            self._check_compound_waiver(amount)
        elif part not in credit.PARTS:
            raise CommandRefused(f"a waiver is of {', '.join(credit.PARTS)}, not {part!r}")
        if amount <= ZERO:
            raise CommandRefused(f"waiver amount must be positive, got {fmt(amount)}")
        credit.check_fen(amount, "waiver")
        if not reason.strip():
            raise CommandRefused("a waiver needs a reason")
        owed = self._owed_of(part)
        paid, credited = self._paid_and_credited(part)
        try:
            split = credit.split_waiver(
                part, amount, sum((v for _, v in owed), ZERO), paid - credited
            )
        except CommandRefused as refused:
            raise CommandRefused(f"loan {self.label}: {refused}") from None
        self._forgive(on, part, split.owed, owed, actor=actor, reason=reason)
        self._give_back(on, part, split.paid, actor=actor, reason=reason)
        if not self.is_closed:
            self._close_if_settled(on)

    def replay_owed_waiver(
        self, on: date, *, part: str, amount: Decimal, actor: str, reason: str, up_to: bool
    ) -> Decimal:
        """A recorded ``Waived`` (the owed part of a waiver) in a history recomputed from its
        facts: it forgives what is still owed of ``part`` (``Waived``) and never creates
        credit. ``up_to``: at most ``amount``, what is owed if less (section 12); otherwise,
        as before credit existed, more than is owed is refused. Returns what it forgave."""
        self._require_remedy_day(on)
        owed = self._owed_of(part)
        total = sum((v for _, v in owed), ZERO)
        if not up_to and (amount > total or self.is_closed):
            raise CommandRefused(
                f"loan {self.label}: cannot waive {fmt(amount)} of {part}: {fmt(total)} is owed"
            )
        forgiven = min(amount, total)
        self._forgive(on, part, forgiven, owed, actor=actor, reason=reason)
        if not self.is_closed:
            self._close_if_settled(on)
        return forgiven

    def replay_paid_waiver(
        self, on: date, *, part: str, amount: Decimal, actor: str, reason: str
    ) -> Decimal:
        """A recorded ``PaidChargeWaived`` in a history recomputed from its facts: it gives
        back at most ``amount`` of what was paid of ``part`` and not given back yet, as credit
        (``PaidChargeWaived``); it never forgives what is owed. Returns what it gave back."""
        self._require_remedy_day(on)
        paid, credited = self._paid_and_credited(part)
        given = max(min(amount, paid - credited), ZERO)
        self._give_back(on, part, given, actor=actor, reason=reason)
        return given

    def apply_credit(self, on: date) -> None:
        """loan-rules §12, morning of ``on`` before the deduction (section 3): the credit that
        arose before ``on`` pays what is due, oldest installment first (section 6)."""
        if self.credit == ZERO:  # nearly every loan, every morning: nothing to compute
            return
        self._require_morning_done(on)
        eligible = self.eligible_credit(on)
        due = self.amount_due
        applied = credit.credit_to_apply(eligible, due)
        if applied == ZERO:
            return
        allocations, _ = rules.allocate(applied, self.owed())
        self.trigger_event(
            self.CreditApplied,
            on=on,
            credit_before=self.credit,
            eligible=eligible,
            amount_due=due,
            applied=applied,
            allocations=[a.as_dict() for a in allocations],
            credit_after=self.credit - applied,
        )
        self._close_if_settled(on)

    def refund(self, on: date, *, amount: Decimal, actor: str, reason: str) -> None:
        """loan-rules §12: pay ``amount`` of the credit back to the borrower (at most the
        credit; on a closed loan too). The service pays it out through the gateway."""
        self._require_remedy_day(on)
        try:
            credit.check_refund(amount, self.credit)
        except CommandRefused as refused:
            raise CommandRefused(f"loan {self.label}: {refused}") from None
        if not reason.strip():
            raise CommandRefused("a refund needs a reason")
        self.trigger_event(
            self.Refunded,
            on=on,
            amount=amount,
            credit_before=self.credit,
            credit_after=self.credit - amount,
            actor=actor,
            reason=reason,
        )

    def hold_overpayment(self, on: date, *, source: str, received: Decimal, used: Decimal) -> None:
        """loan-rules §12: money received that the rules did not use is held as credit (in a
        history recomputed from its facts: live commands never take more than is owed)."""
        if received <= used:
            return
        self.trigger_event(
            self.OverpaymentHeld,
            on=on,
            source=source,
            received=received,
            used=used,
            amount=received - used,
            credit_before=self.credit,
            credit_after=self.credit + received - used,
        )

    # ------------------------------------------------------------------ helpers

    def _owed_of(self, part: str) -> list[tuple[int, Decimal]]:
        """What is owed of ``part`` per unsettled installment (a fee is never owed; compound
        interest only on a loan that splits it, section 11)."""
        return [] if part == "fee" else [(o.k, getattr(o, part) or ZERO) for o in self.owed()]

    def _check_compound_waiver(self, amount: Decimal) -> None:
        """Section 11: compound interest is waived only on a loan that charges it apart, and
        only what is still owed of it (compound interest already paid is not given back as
        credit: not built)."""
        if not self.terms.splits_penalty:
            raise CommandRefused(
                f"loan {self.label} charges no compound interest apart (it was opened without "
                "compound_multiplier): waive its penalty"
            )
        owed = sum((v for _, v in self._owed_of(COMPOUND)), ZERO)
        if amount > owed:
            raise CommandRefused(
                f"loan {self.label}: cannot waive {fmt(amount)} of compound interest: "
                f"{fmt(owed)} is owed (compound interest already paid cannot be given back)"
            )

    def _forgive(
        self,
        on: date,
        part: str,
        amount: Decimal,
        owed: list[tuple[int, Decimal]],
        *,
        actor: str,
        reason: str,
    ) -> None:
        """``Waived``: ``amount`` (at most what is owed) of ``part``, oldest first."""
        if amount <= ZERO:
            return
        allocations: list[dict[str, Any]] = []
        left = amount
        for k, value in owed:
            take = min(left, value)
            if take > ZERO:
                allocations.append({"k": k, "amount": take})
                left -= take
        self.trigger_event(
            self.Waived,
            on=on,
            part=part,
            amount=amount,
            allocations=allocations,
            actor=actor,
            reason=reason,
        )

    def _give_back(self, on: date, part: str, amount: Decimal, *, actor: str, reason: str) -> None:
        """``PaidChargeWaived``: ``amount`` (at most what was paid and not given back) of
        ``part`` becomes credit."""
        if amount <= ZERO:
            return
        paid, credited = self._paid_and_credited(part)
        self.trigger_event(
            self.PaidChargeWaived,
            on=on,
            part=part,
            amount=amount,
            paid=paid,
            credited_before=credited,
            credit_before=self.credit,
            credit_after=self.credit + amount,
            actor=actor,
            reason=reason,
        )

    def _paid_and_credited(self, part: str) -> tuple[Decimal, Decimal]:
        """What was paid of ``part`` in all, and what waivers already gave back of it
        (compound interest: none is given back, :meth:`_check_compound_waiver`)."""
        if part == COMPOUND:
            return ZERO, ZERO
        if part == "fee":
            return self.fees_paid, self.fees_credited
        if part == "penalty":
            return self.penalty_paid, self.penalty_credited
        return self.interest_paid, self.interest_credited

    def _require_remedy_day(self, on: date) -> None:
        """An open loan: the morning of ``on`` has run (section 3). A closed loan: ``on`` is
        not before its newest event (its business days no longer run). A written-off loan
        (section 14): refused."""
        if self.is_written_off or not self.is_closed:
            self._require_morning_done(on)
        elif on < self.as_of:
            raise CommandRefused(
                f"loan {self.label} is closed: a remedy on it is dated {self.as_of} or later, "
                f"not {on}"
            )
