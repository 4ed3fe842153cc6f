"""The payment gateway's results and reconciliation (loan-rules §17).

Results come from the CLI (``ledger gateway result``), the HTTP webhook, a settlement file
(``ledger gateway import``) or the provider itself (``ledger gateway poll``, the worker after
each morning). Every way ends in :meth:`GatewayResults.record_results`: each result is
checked, then recorded on its loan as a ``Corrected`` (kind ``settlement``: the request's
money received on the day it was taken; kind ``bounce``: money already received that
bounced), all in one transaction, or none of them if any is refused. A result whose id is
already recorded is skipped (delivered twice, recorded once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.adapters.gateway import DeductionRequest, GatewaySettings, provider_from
from ledger.adapters.gateway_book import PENDING, BookedRequest, GatewayBook
from ledger.domain.collection import (
    BOUNCE,
    BOUNCED,
    SETTLEMENT,
    GatewayResult,
    loan_of_request,
)
from ledger.domain.errors import CommandRefused, LedgerError, NotFound
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO, fmt
from ledger.services.corrections import Correction, Corrections

MAX_REFUSALS_SHOWN = 5


@dataclass(frozen=True)
class Recorded:
    """What became of one result: ``recorded`` (as event ``event``) or ``already`` (a
    result with the same id was recorded before, as event ``event``)."""

    result: GatewayResult
    outcome: str
    event: int
    loan: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "result_id": self.result.result_id,
            "request_id": self.result.request_id,
            "status": self.result.status,
            "collected": fmt(self.result.collected),
            "loan": self.loan,
            "outcome": self.outcome,
            "event": self.event,
        }


@dataclass
class Difference:
    """One difference between the ledger and the provider's settlement of a day."""

    kind: str  # missing_in_ledger, missing_at_provider, duplicate, amount_mismatch, unknown
    request_id: str
    ledger: Decimal | None
    provider: Decimal | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "request_id": self.request_id,
            "ledger": None if self.ledger is None else fmt(self.ledger),
            "provider": None if self.provider is None else fmt(self.provider),
            "note": self.note,
        }


@dataclass
class Reconciliation:
    on: date
    ledger_total: Decimal = ZERO
    provider_total: Decimal = ZERO
    matched: int = 0
    differences: list[Difference] = field(default_factory=list)


class GatewayResults(Corrections):
    """The use cases of the asynchronous gateway."""

    gateway_settings: GatewaySettings
    gateway_book: GatewayBook

    def pending_requests(self, through: date | None = None) -> list[BookedRequest]:
        self.gateway_book.catch_up()
        return self.gateway_book.pending(through)

    def record_results(self, results: Sequence[GatewayResult], *, channel: str) -> list[Recorded]:
        """Record every result, or none: refusals are gathered and raised as one error."""
        done: list[Recorded] = []
        refused: list[str] = []
        saved = self._saved_events(results)
        try:  # every loan in one read; one that cannot be read is read (and refused) alone
            loaded: dict[UUID, Any] = self.reader.load_many(sorted(saved))
        except Exception:
            loaded = {}
        for result in results:
            try:
                done.append(self._record_result(result, channel, saved, loaded))
            except (CommandRefused, NotFound) as error:
                refused.append(str(error))
        if refused:
            more = len(refused) - MAX_REFUSALS_SHOWN
            shown = "; ".join(refused[:MAX_REFUSALS_SHOWN]) + (
                f"; and {more} more" if more > 0 else ""
            )
            raise CommandRefused(
                f"{len(refused)} of {len(results)} results refused, nothing was recorded: {shown}"
            )
        return done

    def _saved_events(self, results: Sequence[GatewayResult]) -> dict[UUID, list[Any]]:
        """The saved events of every loan the results name, in one query (not one a loan):
        a loan's history is these, then what this unit of work has recorded on it."""
        ids = set()
        for result in results:
            try:
                ids.add(loan_of_request(result.request_id))
            except CommandRefused:
                continue  # refused with the others, one line each
        found = self.reader.events_of(sorted(ids))
        return {i: events for i, events in found.items() if events}

    def _loan_of(self, loan_id: UUID, loaded: dict[UUID, Any]) -> Loan:
        """The loan as this unit of work left it, else as the batch read it, else read now
        (:meth:`get_loan`: a loan that cannot be read is refused on one line)."""
        held = self._held_back(loan_id)
        found = held if held is not None else loaded.get(loan_id)
        return found if isinstance(found, Loan) else self.get_loan(loan_id)

    def _record_result(
        self,
        result: GatewayResult,
        channel: str,
        saved: dict[UUID, list[Any]],
        loaded: dict[UUID, Any],
    ) -> Recorded:
        loan_id = loan_of_request(result.request_id)
        if loan_id not in saved:
            raise NotFound(f"request {result.request_id}: no such loan")
        loan = self._loan_of(loan_id, loaded)
        events: list[Any] = [*saved[loan_id], *loan.pending_events]
        request = next(
            (
                e
                for e in events
                if isinstance(e, Loan.DeductionRequested) and e.request_id == result.request_id
            ),
            None,
        )
        if request is None:
            raise CommandRefused(f"loan {loan.label} made no request {result.request_id}")
        answering = (Loan.Corrected, Loan.Recovered)
        answers = [e for e in events if isinstance(e, answering) and _answers(e, request)]
        for answer in answers:
            if (answer.result or {}).get("result_id") == result.result_id:
                return Recorded(result, "already", int(answer.originator_version), loan.label)
        checked = result.checked(request.requested, request.on, self.business_date.today().day)
        recorded = checked.as_dict(
            requested=request.requested, channel=channel, requested_on=request.on
        )
        if loan.is_written_off:
            return self._after_write_off(loan, checked, recorded, answers, channel)
        kind = self._kind(loan, checked, answers)
        correction = Correction(
            kind,
            request.on,
            amount=checked.collected,
            reverses=int(request.originator_version),
            result=recorded,
        )
        reason = f"{checked.status.replace('_', ' ')} (result {checked.result_id})"
        self._correct(loan, correction, actor=f"gateway:{channel}", reason=reason, events=events)
        return Recorded(checked, "recorded", loan.version, loan.label)

    def _after_write_off(
        self,
        loan: Loan,
        result: GatewayResult,
        recorded: dict[str, Any],
        answers: list[Any],
        channel: str,
    ) -> Recorded:
        """Section 17 on a written-off loan (section 14): money a request awaiting its result
        brings is a recovery, dated the loan's business date or the day it was taken if
        later; a bounce records nothing (``written_off``: the request is answered by the
        write-off). A request answered before the write-off takes no more results: refused."""
        if answers:  # answered before the write-off: a second settlement is refused, and
            self._kind(loan, result, answers)  # a bounce of its money cannot be undone now
            raise CommandRefused(
                f"request {result.request_id}: its money was allocated before loan "
                f"{loan.label} was written off (on {loan.written_off_on}); a bounce of it "
                "cannot be recorded on a written-off loan (loan-rules section 14)"
            )
        if result.collected == ZERO:
            return Recorded(result, "written_off", loan.version, loan.label)
        on = max(loan.as_of, result.taken_on or loan.as_of)
        reason = f"{result.status.replace('_', ' ')} (result {result.result_id})"
        loan.recover(
            on, amount=result.collected, actor=f"gateway:{channel}", reason=reason, result=recorded
        )
        self.save(loan)
        return Recorded(result, "recorded", loan.version, loan.label)

    @staticmethod
    def _kind(loan: Loan, result: GatewayResult, answers: list[Any]) -> str:
        """A first result settles (or bounces) the request; after money was received, only a
        bounce is accepted, once (the same recomputation a reversal uses)."""
        if not answers:
            return SETTLEMENT
        last = answers[-1]
        was = last.result["status"]
        if was != BOUNCED and result.status == BOUNCED:
            return BOUNCE
        raise CommandRefused(
            f"request {result.request_id} of loan {loan.label} already has result "
            f"{last.result['result_id']} ({was.replace('_', ' ')}, event "
            f"{last.originator_version}); a second {result.status.replace('_', ' ')} result "
            "is not recorded: reconcile with the provider"
        )

    def poll_gateway(self, through: date) -> list[Recorded]:
        """Send the requests still awaiting a result to the provider (again: idempotent by
        request id) and record the results it has by ``through``, a batch at a time."""
        if not self.gateway_settings.asynchronous:
            raise LedgerError(
                "the gateway is synchronous ($LEDGER_GATEWAY_DELAY_DAYS is 0 and no "
                "$LEDGER_GATEWAY_ADAPTER): deductions are collected at once, nothing to poll"
            )
        self.business_date.check(through, "--through")
        pending = [_request(r) for r in self.pending_requests(through)]
        recorded: list[Recorded] = []
        for at in range(0, len(pending), self.batch_size):
            batch = pending[at : at + self.batch_size]

            def one_batch(batch: list[DeductionRequest] = batch) -> list[Recorded]:
                bank = self._bank_for(sorted({r.loan_id for r in batch}))
                provider = provider_from(self.gateway_settings, bank)
                provider.submit(batch)
                done = self.record_results(provider.results(batch, through), channel="adapter")
                self.save(*bank.changed())
                return done

            recorded += self.execute(one_batch)
        return recorded

    def reconcile(self, on: date, lines: Sequence[GatewayResult] | None) -> Reconciliation:
        """The ledger's collections of ``on`` against the provider's settlement (``lines``
        from a file; ``None``: asked of the provider). Differences: a request the provider
        lists more than once (duplicate), one it lists that the ledger has no result for
        (missing_in_ledger) or does not know at all (unknown), money the ledger recorded that
        the provider does not list (missing_at_provider), and amounts that differ."""
        self.gateway_book.catch_up()
        ours = {r.request_id: r for r in self.gateway_book.of_day(on)}
        if lines is None:
            bank = self._bank_for([])
            provider = provider_from(self.gateway_settings, bank)
            lines = provider.settlement(on, [_request(r) for r in ours.values()])
        report = Reconciliation(on)
        theirs: dict[str, list[GatewayResult]] = {}
        for line in lines:
            if (line.taken_on or on) == on:
                theirs.setdefault(line.request_id, []).append(line)
        for request_id, listed in sorted(theirs.items()):
            _compare(report, request_id, ours.get(request_id), listed, self.gateway_book)
        for request_id, row in sorted(ours.items()):
            report.ledger_total += _collected(row)
            if request_id not in theirs and _collected(row) > ZERO:
                report.differences.append(
                    Difference("missing_at_provider", request_id, row.collected, None)
                )
        return report


def _compare(
    report: Reconciliation,
    request_id: str,
    row: BookedRequest | None,
    listed: list[GatewayResult],
    book: GatewayBook,
) -> None:
    amount = listed[0].collected
    report.provider_total += sum((line.collected for line in listed), ZERO)
    if len(listed) > 1:
        report.differences.append(
            Difference(
                "duplicate",
                request_id,
                None if row is None else _collected(row),
                sum((line.collected for line in listed), ZERO),
                f"listed {len(listed)} times (results "
                + ", ".join(line.result_id for line in listed)
                + ")",
            )
        )
        return
    if row is None:
        known = book.find(request_id)
        kind = "unknown" if known is None else "amount_mismatch"
        ledger = None if known is None else _collected(known)
        note = (
            "" if known is None else f"the ledger has it on {known.taken_on or known.requested_on}"
        )
        report.differences.append(Difference(kind, request_id, ledger, amount, note))
        return
    if row.status == PENDING:
        if amount > ZERO or listed[0].status != BOUNCED:
            report.differences.append(
                Difference("missing_in_ledger", request_id, None, amount, "no result recorded")
            )
        return
    if _collected(row) != amount:
        report.differences.append(Difference("amount_mismatch", request_id, row.collected, amount))
        return
    report.matched += 1


def _collected(row: BookedRequest) -> Decimal:
    return row.collected if row.status != PENDING else ZERO


def _answers(event: Any, request: Any) -> bool:
    result = getattr(event, "result", None)
    return isinstance(result, dict) and result.get("request_id") == request.request_id


def _request(row: BookedRequest) -> DeductionRequest:
    return DeductionRequest(row.request_id, row.loan_id, row.requested_on, row.requested)
