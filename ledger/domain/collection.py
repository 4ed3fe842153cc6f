"""Asynchronous collection through the payment gateway (loan-rules §17, the ledger's own rule):
a morning deduction that is a *request* whose result arrives later.

With an asynchronous gateway the morning (section 3) records ``DeductionRequested`` for what
is due, unless an earlier request still awaits its result (one request in flight at a time);
nothing is allocated and the day ends as if nothing was paid (overdue marking, penalty). A
result arrives later (settled, partly settled, bounced) and is recorded as a correction of the
past (``Corrected``, kind ``settlement``): the loan is recomputed from its facts with the
request's money received on the day it was taken, exactly as a back-dated repayment is (what
accrued because the money seemed missing disappears; money the recomputed loan does not need
is held as credit, section 12). A bounce of money already allocated is kind ``bounce``: the
recomputation a reversal uses, with that money never received. Each result names its
provider id and is recorded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ledger.domain.errors import CommandRefused
from ledger.domain.money import ZERO, fmt

SETTLED, PARTLY_SETTLED, BOUNCED = "settled", "partly_settled", "bounced"
STATUSES = (SETTLED, PARTLY_SETTLED, BOUNCED)
SETTLEMENT, BOUNCE = "settlement", "bounce"  # the kinds of ``Corrected`` a result records


def request_id_for(loan_id: UUID, on: date) -> str:
    """A request's id: the loan and its business day (one deduction a day, section 3), so a
    replay derives the same id and a provider can use it as its idempotency key."""
    return f"{loan_id}:{on.isoformat()}"


def loan_of_request(request_id: str) -> UUID:
    """The loan a request id names (:func:`request_id_for`); a malformed id is refused."""
    head, _, day = request_id.strip().rpartition(":")
    try:
        date.fromisoformat(day)
        return UUID(head)
    except ValueError:
        raise CommandRefused(
            f"request id {request_id[:60]!r} is not one of this ledger's (LOAN_UUID:YYYY-MM-DD)"
        ) from None


@dataclass(frozen=True)
class DeductionRequestedFields:
    """The fields of ``Loan.DeductionRequested``: on business day ``on`` the gateway was asked
    for ``requested`` (= amount due - in flight before it) under ``request_id``;
    ``in_flight_before`` is what earlier requests still awaited."""

    on: date
    requested: Decimal
    in_flight_before: Decimal
    request_id: str


@dataclass(frozen=True)
class GatewayResult:
    """A result from the payment gateway for one request: ``status`` settled, partly settled
    or bounced; ``collected``: the money taken (zero for a bounce), on ``taken_on`` (default:
    the request's day); ``result_id``: the provider's id (one result, recorded once)."""

    result_id: str
    request_id: str
    status: str
    collected: Decimal
    taken_on: date | None = None

    def checked(self, requested: Decimal, requested_on: date, business_day: date) -> GatewayResult:
        """Section 17's bounds, one line each: settled collects exactly the request, partly
        settled less (more than zero), bounced nothing; taken between the request's day and
        the business day. Returns the result with ``taken_on`` filled in."""
        if not self.result_id.strip() or len(self.result_id) > 120:
            raise CommandRefused("a gateway result needs a result id of 1 to 120 characters")
        if self.status not in STATUSES:
            raise CommandRefused(f"status {self.status[:30]!r} is not one of {', '.join(STATUSES)}")
        expected = {
            SETTLED: self.collected == requested,
            PARTLY_SETTLED: ZERO < self.collected < requested,
            BOUNCED: self.collected == ZERO,
        }[self.status]
        if not expected or self.collected.as_tuple().exponent < -2:  # type: ignore[operator]
            raise CommandRefused(
                f"request {self.request_id}: {self.status.replace('_', ' ')} with "
                f"{fmt(self.collected)} collected does not fit the {fmt(requested)} requested "
                "(settled: all of it; partly settled: more than 0.00 and less; bounced: 0.00)"
            )
        taken = self.taken_on or requested_on
        if not requested_on <= taken <= business_day:
            raise CommandRefused(
                f"request {self.request_id}: money taken on {taken} is not between the "
                f"request's day {requested_on} and the business day {business_day}"
            )
        return GatewayResult(self.result_id, self.request_id, self.status, self.collected, taken)

    def as_dict(self, *, requested: Decimal, channel: str, requested_on: date) -> dict[str, Any]:
        """What ``Corrected.result`` records: the result and the request it answers."""
        return {
            "result_id": self.result_id,
            "request_id": self.request_id,
            "status": self.status,
            "requested": requested,
            "requested_on": requested_on,
            "collected": self.collected,
            "taken_on": self.taken_on or requested_on,
            "channel": channel,
        }


class CollectionState:
    """Part of :class:`~ledger.domain.state.LoanState`: what requests still await (class
    default: nothing, for every loan that never used an asynchronous gateway)."""

    deductions_in_flight: Decimal = ZERO


if TYPE_CHECKING:
    from ledger.domain.commands import LoanCommands as _Base
else:
    _Base = object


class Collections(_Base):
    """The loan's command (mixed into :class:`~ledger.domain.loan.Loan`)."""

    if TYPE_CHECKING:  # supplied by Loan
        DeductionRequested: type[Any]

        @property
        def id(self) -> UUID: ...

    def request_deduction(self, on: date, requested: Decimal) -> None:
        """Morning of ``on`` with an asynchronous gateway (section 17): ask for ``requested``,
        what is due and not already in flight; nothing is allocated until the result."""
        self._require_morning_done(on)
        if self.last_deduction_on == on:
            raise CommandRefused(f"loan {self.label}: a deduction was already made on {on}")
        if requested <= ZERO:
            raise CommandRefused(f"loan {self.label}: nothing to request on {on}")
        self.trigger_event(
            self.DeductionRequested,
            on=on,
            requested=requested,
            in_flight_before=self.deductions_in_flight,
            request_id=request_id_for(self.id, on),
        )
