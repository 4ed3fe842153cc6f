"""Write-off and recovery (loan-rules §14, the ledger's own rule): the part of a loan's state
that remembers what was written off and recovered, and the two commands.

A write-off (a four-eyes command, :mod:`ledger.services.approvals`) takes everything the loan
owes on its business day (the morning of that day has run, section 3) off the book: the
principal (due and not yet due), the interest (due, and accrued since the last due date rounded
as a payoff rounds it, section 7), the penalty, compound interest (section 11) and handling
fees (section 13). The loan's status becomes ``written_off``: nothing accrues, nothing is
deducted, nothing more can be paid, waived, refunded or corrected; its owed figures are zero
and ``written_off`` keeps the amount. Money received later is a recovery: it reduces
``written_off_outstanding`` (written off, not yet recovered) and is refused above it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ledger.domain import credit
from ledger.domain.errors import CommandRefused
from ledger.domain.money import ZERO, fmt

WRITTEN_OFF = "written_off"
PARTS = ("principal", "interest", "penalty", "compound", "fees")  # as the event names them


class WriteOffState:
    """What was written off and recovered (part of :class:`~ledger.domain.state.LoanState`).

    Class defaults: a loan never written off (and one restored from a snapshot taken before
    write-offs existed) reads them."""

    written_off_on: date | None = None
    written_off: Decimal = ZERO  # the total written off
    principal_written_off: Decimal = ZERO
    interest_written_off: Decimal = ZERO
    penalty_written_off: Decimal = ZERO
    compound_written_off: Decimal = ZERO
    fees_written_off: Decimal = ZERO
    recovered: Decimal = ZERO

    @property
    def is_written_off(self) -> bool:
        return self.written_off_on is not None

    @property
    def written_off_outstanding(self) -> Decimal:
        """Written off and not yet recovered: what a recovery may still bring in."""
        return self.written_off - self.recovered

    def take_write_off(self, on: date, parts: dict[str, Decimal]) -> None:
        """The state after a ``WrittenOff`` on ``on`` (``parts``: the amounts by part)."""
        self.written_off_on = on
        for part in PARTS:
            setattr(self, f"{part}_written_off", parts[part])
        self.written_off = sum(parts.values(), ZERO)


if TYPE_CHECKING:
    from ledger.domain.commands import LoanCommands as _Base
else:
    _Base = object


class WriteOffs(_Base):
    """The write-off and recovery commands; :class:`~ledger.domain.loan.Loan` inherits them
    (its ``LoanCommands`` come through :class:`~ledger.domain.remedies.Remedies`)."""

    if TYPE_CHECKING:  # supplied by Loan
        WrittenOff: type[Any]
        Recovered: type[Any]

    def write_off(self, on: date, *, actor: str, reason: str) -> None:
        """loan-rules §14: write off everything owed on ``on`` (its morning has run). Refused
        for a closed or written-off loan, one that holds credit for its borrower (refund it
        first) and without a reason. A deduction awaiting the bank's result (section 17)
        stays asked: money its result brings is recorded as a recovery."""
        self._require_morning_done(on)  # refuses a closed or written-off loan too
        if not reason.strip():
            raise CommandRefused("a write-off needs a reason")
        if self.credit > ZERO:
            raise CommandRefused(
                f"loan {self.label} holds {fmt(self.credit)} of credit for its borrower: "
                "refund it before writing the loan off"
            )
        owed = self.owed()
        due_principal = sum((o.principal for o in owed), ZERO)
        due_interest = sum((o.interest for o in owed), ZERO)
        accrued = self.interest_accrued_rounded
        parts = {
            "principal": self.principal_not_due + due_principal,
            "interest": due_interest + accrued,
            "penalty": self.penalty_owed,
            "compound": self.compound_owed,
            "fees": self.handling_fees_owed,
        }
        self.trigger_event(
            self.WrittenOff,
            on=on,
            **parts,
            total=sum(parts.values(), ZERO),
            owed=[_owed_dict(o) for o in owed],
            principal_not_due=self.principal_not_due,
            interest_accrued=accrued,
            actor=actor,
            reason=reason,
        )

    def recover(
        self,
        on: date,
        *,
        amount: Decimal,
        actor: str,
        reason: str,
        result: dict[str, Any] | None = None,
    ) -> None:
        """loan-rules §14: ``amount`` received on a written-off loan on ``on`` (not before its
        newest event): refused on a loan not written off, for an amount that is not positive
        whole fen, or above what is written off and not yet recovered."""
        if not self.is_written_off:
            raise CommandRefused(f"loan {self.label} is not written off: nothing to recover")
        if on < self.as_of:
            raise CommandRefused(
                f"loan {self.label}: a recovery is dated {self.as_of} or later, not {on}"
            )
        if amount <= ZERO:
            raise CommandRefused(f"recovery amount must be positive, got {fmt(amount)}")
        credit.check_fen(amount, "recovery")
        outstanding = self.written_off_outstanding
        if amount > outstanding:
            raise CommandRefused(
                f"loan {self.label}: cannot recover {fmt(amount)}: {fmt(outstanding)} is "
                "written off and not yet recovered"
            )
        self.trigger_event(
            self.Recovered,
            on=on,
            amount=amount,
            outstanding_before=outstanding,
            outstanding_after=outstanding - amount,
            actor=actor,
            reason=reason,
            result=result,  # section 17
        )


def _owed_dict(owed: Any) -> dict[str, Any]:
    """What is owed on one installment, as the event records it (the compound and fee parts
    only on a loan that has them)."""
    row = {"k": owed.k, "penalty": owed.penalty, "interest": owed.interest}
    row["principal"] = owed.principal
    for name in ("compound", "fee"):
        if getattr(owed, name) is not None:
            row[name] = getattr(owed, name)
    return row
