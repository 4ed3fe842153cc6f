"""The application service: load, command, save.

``LedgerApp`` is an eventsourcing ``Application``. Every use case loads the aggregates it
needs, runs domain commands, and saves all of them in one transaction, so a refused command
(an exception before ``save``) writes nothing. Close-of-business works in batches: many loans
per read (:class:`~ledger.persistence.BatchReader`) and per save.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from ledger.business_date import BusinessDate
from ledger.directory import LoanDirectory
from ledger.domain.account import LinkedAccount, account_id_for
from ledger.domain.calendar import BusinessCalendar, calendar_id_for
from ledger.domain.errors import Busy, CommandRefused, Conflict, NotFound, Quarantined
from ledger.domain.loan import Loan, PrepaymentQuote
from ledger.domain.replay import corrected_facts, facts_of, run_facts
from ledger.domain.rules import Allocation
from ledger.domain.terms import Replan, Terms
from ledger.gateway import PaymentGateway, SimulatedBank
from ledger.parsing import UUID_FORM, identifier
from ledger.persistence import (
    APP_NAME,
    BatchReader,
    ensure_postgres_schema,
    parse_database_url,
    register_transcodings,
    startup_lock,
)

LOAN_NAMESPACE = uuid5(NAMESPACE_URL, "ledger:loan")
# events whose amounts a correction recomputes (the facts' events are kept, as facts)
DERIVED_EVENTS = {"InstallmentFellDue", "InstallmentDeducted", "Repaid", "InterestAccrued",
                  "Overdue", "Prepaid", "Closed", "Waived"}  # fmt: skip


@dataclass(frozen=True)
class Correction:
    """A correction being recorded (the shape :func:`corrected_facts` reads)."""

    kind: str
    effective_on: date
    amount: Decimal | None = None
    reverses: int | None = None
    originator_version: int | None = None


DEFAULT_BATCH_SIZE = 1000
LOAN_SNAPSHOT_INTERVAL = 40
BATCH_ATTEMPTS = 10  # a batch that met a concurrent writer is reloaded and redone
COMMAND_ATTEMPTS = 8  # a command that met a concurrent writer is rerun from fresh state
T = TypeVar("T")


def loan_id_for(reference: str) -> UUID:
    """A loan is named by its UUID (canonical form) or by the reference it was opened with.

    References live in a namespace of their own (``uuid5(LOAN_NAMESPACE, reference)``), as
    do the internal aggregates (calendars, linked accounts), and a reference may not be a
    UUID (:func:`ledger.parsing.identifier`), so a user's id never lands on an internal one.
    """
    if UUID_FORM.fullmatch(reference.lower()):
        return UUID(reference)
    return uuid5(LOAN_NAMESPACE, reference)


@dataclass
class CloseReport:
    """What one close-of-business pass did."""

    through: date
    days: list[date] = field(default_factory=list)
    loans: int = 0  # the most loans that ran one business day
    loan_days: int = 0  # (loan, business day) pairs run
    events: int = 0
    seconds: float = 0.0
    failures: list[dict[str, str]] = field(default_factory=list)
    last_closed: date | None = None
    stopped: bool = False

    @property
    def loans_per_second(self) -> float:
        return self.loan_days / self.seconds if self.seconds else 0.0


@dataclass
class DayReport:
    """One pass over the open loans for one business day."""

    day: date
    loans: int = 0
    events: int = 0
    seconds: float = 0.0
    failures: list[dict[str, str]] = field(default_factory=list)
    stopped: bool = False


ProgressCallback = Callable[[str, int, int], None]


class LedgerApp(Application[UUID]):
    name = APP_NAME
    is_snapshotting_enabled = True

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        business_date: BusinessDate | None = None,
    ) -> None:
        super().__init__(env)
        self.batch_size = batch_size
        self.business_date = business_date or BusinessDate.from_env(os.environ)
        self.reader = BatchReader(self)
        self.directory = LoanDirectory(self)
        self._held = threading.local()  # saves held back by execute(), per thread

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        business_date: BusinessDate | None = None,
    ) -> LedgerApp:
        db = parse_database_url(url)
        with startup_lock(db):
            ensure_postgres_schema(db)
            return cls(
                env={**db.env, "CREATE_TABLE": "y"},
                batch_size=batch_size,
                business_date=business_date,
            )

    # ------------------------------------------------------------------ unit of work

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Inside :meth:`execute`, hold the aggregates back until the command has finished;
        elsewhere, save them now."""
        held: list[Any] | None = getattr(self._held, "aggregates", None)
        if held is None:
            return super().save(*objs, **kwargs)
        held.extend(objs)
        return []

    def execute(self, command: Callable[[], T]) -> T:
        """Run ``command`` (a use case and the presenting of its result) as one unit of work.

        Every save it asks for is held back and written in one transaction when it returns,
        so a command that fails at any step, even after its domain work, writes nothing. A
        write that lost the version check to a concurrent writer of the same loan is rerun
        from fresh state (bounded, with a short random back-off), then :class:`Busy`."""
        for attempt in range(COMMAND_ATTEMPTS):
            self._held.aggregates = []
            try:
                result = command()
                held: list[Any] = self._held.aggregates
            finally:
                self._held.aggregates = None
            if held:
                try:
                    super().save(*held)
                except IntegrityError:
                    time.sleep(random.uniform(0, 0.005 * 2**attempt))
                    continue
            return result
        raise Busy(
            f"another writer changed the same loan {COMMAND_ATTEMPTS} times while this command "
            "ran; nothing was written, retry"
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_transcodings(transcoder)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshot loans whose version crossed a multiple of the interval, from the saved
        in-memory state (no re-read), all in one insert."""
        if self.snapshots is None:
            return
        crossed = {
            e.originator_id
            for e in processing_event.events
            if e.originator_version % LOAN_SNAPSHOT_INTERVAL == 0
        }
        snapshots = [
            Snapshot.take(a)
            for i, a in processing_event.aggregates.items()
            if i in crossed and isinstance(a, Loan)
        ]
        if snapshots:
            self.snapshots.put(snapshots)

    def save_batch(self, aggregates: Sequence[Any]) -> list[Any]:
        """``save(*aggregates)`` for a close-of-business batch: one transaction, without the
        library's per-object protocol checks (measurable at 100,000 loans a pass)."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in aggregates:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    # ------------------------------------------------------------------ loading

    def get_loan(self, reference: str | UUID) -> Loan:
        loan_id = reference if isinstance(reference, UUID) else loan_id_for(reference)
        try:
            loan: Any = self.repository.get(loan_id)
        except AggregateNotFoundError:
            raise NotFound(f"unknown loan {reference}") from None
        except Exception as error:  # an event that cannot be read: set the loan apart
            raise Quarantined(
                f"loan {reference} cannot be read from its events "
                f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})"
            ) from None
        if not isinstance(loan, Loan):
            raise NotFound(f"unknown loan {reference}")
        return loan

    def _bank_for(self, loan_ids: Sequence[UUID]) -> SimulatedBank:
        found = self.reader.load_many([account_id_for(i) for i in loan_ids])
        return SimulatedBank({i: a for i, a in found.items() if isinstance(a, LinkedAccount)})

    def find_calendar(self, partition: int = 0, partitions: int = 1) -> BusinessCalendar | None:
        try:
            calendar: Any = self.repository.get(calendar_id_for(partition, partitions))
        except AggregateNotFoundError:
            return None
        assert isinstance(calendar, BusinessCalendar)
        return calendar

    def get_calendar(self, partition: int = 0, partitions: int = 1) -> BusinessCalendar:
        """The partition's calendar, or a new one (saved with its first closed day)."""
        calendar = self.find_calendar(partition, partitions)
        return calendar or BusinessCalendar.start(partition, partitions)

    # ------------------------------------------------------------------ the business day

    @staticmethod
    def _run_morning(loan: Loan, day: date, bank: PaymentGateway) -> None:
        """Section 3, morning: fix what falls due, then one deduction of everything due."""
        loan.fix_due_installments(day)
        if loan.last_deduction_on != day and not loan.is_closed:
            due = loan.amount_due
            if due > 0:
                loan.deduct(day, requested=due, collected=bank.collect(loan.id, day, due))

    @classmethod
    def _run_day(cls, loan: Loan, day: date, bank: PaymentGateway) -> None:
        cls._run_morning(loan, day, bank)
        if not loan.is_closed:
            loan.close_day(day)

    @classmethod
    def _advance_to(cls, loan: Loan, on: date, bank: PaymentGateway) -> None:
        """Inline catch-up: close the loan's missing days before ``on``, run the morning of
        ``on``. A date already closed is refused by the loan."""
        if loan.is_closed:
            return
        if on < loan.next_open_day:
            loan.fix_due_installments(on)  # raises the loan's "already closed" refusal
        while not loan.is_closed and loan.next_open_day < on:
            cls._run_day(loan, loan.next_open_day, bank)
        if not loan.is_closed and loan.next_open_day == on:
            cls._run_morning(loan, on, bank)

    # ------------------------------------------------------------------ commands

    def open_loan(self, terms: Terms, reference: str | None = None) -> Loan:
        if reference is not None:
            identifier(reference, "loan id")
        self.business_date.check(terms.disbursed_on, "disbursed_on")
        loan_id = loan_id_for(reference) if reference else uuid4()
        try:
            self.repository.get(loan_id)
        except AggregateNotFoundError:
            pass
        else:
            raise Conflict(f"loan {reference or loan_id} already exists")
        last_closed = self.get_calendar().last_closed
        if last_closed is not None and terms.disbursed_on <= last_closed:
            raise CommandRefused(
                f"disbursed_on {terms.disbursed_on} is not after the last closed business day "
                f"{last_closed}"
            )
        loan = Loan.disburse(terms, loan_id=loan_id, reference=reference)
        self.save(loan)
        return loan

    def set_balance(self, reference: str, balance: Decimal | None) -> LinkedAccount:
        loan = self.get_loan(reference)
        try:
            account: LinkedAccount = self.repository.get(account_id_for(loan.id))
            assert isinstance(account, LinkedAccount)
            account.set_balance(balance)
        except AggregateNotFoundError:
            account = LinkedAccount.open(loan.id, balance)
        self.save(account)
        return account

    def _check_on(self, loan: Loan, on: date, what: str = "--on") -> None:
        """Refuse a date after the business date before anything is computed."""
        self.business_date.check(on, what, earliest=loan.next_open_day)

    def repay(self, reference: str, amount: Decimal, on: date) -> tuple[Loan, list[Allocation]]:
        loan = self.get_loan(reference)
        self._check_on(loan, on)
        bank = self._bank_for([loan.id])
        self._advance_to(loan, on, bank)
        allocations = loan.repay(on, amount)
        self.save(loan, *bank.changed())
        return loan, allocations

    def prepay(
        self,
        reference: str,
        on: date,
        *,
        amount: Decimal | None = None,
        replan: Replan = Replan.REDUCE_INSTALLMENT,
        quote_only: bool = False,
    ) -> tuple[Loan, PrepaymentQuote]:
        loan = self.get_loan(reference)
        self._check_on(loan, on)
        bank = self._bank_for([loan.id])
        self._advance_to(loan, on, bank)
        if quote_only:
            return loan, loan.quote_prepayment(on, amount=amount, replan=replan)
        quote = loan.prepay(on, amount=amount, replan=replan)
        self.save(loan, *bank.changed())
        return loan, quote

    # ------------------------------------------------------------------ corrections

    def waive(
        self,
        reference: str,
        *,
        part: str,
        amount: Decimal,
        on: date | None,
        actor: str,
        reason: str,
    ) -> Loan:
        loan = self.get_loan(reference)
        day = on or loan.next_open_day
        self._check_on(loan, day)
        bank = self._bank_for([loan.id])
        self._advance_to(loan, day, bank)
        loan.waive(day, part=part, amount=amount, actor=actor, reason=reason)
        self.save(loan, *bank.changed())
        return loan

    def repay_backdated(
        self, reference: str, amount: Decimal, on: date, *, actor: str, reason: str
    ) -> Loan:
        """A repayment that really happened on ``on``, a business day already closed: the
        loan is recomputed from its facts with it, and the result recorded as ``Corrected``."""
        loan = self.get_loan(reference)
        if amount <= 0:
            raise CommandRefused(f"repayment amount must be positive, got {amount}")
        if on < loan.terms.disbursed_on:
            raise CommandRefused(
                f"loan {loan.label}: {on} is before its disbursement on {loan.terms.disbursed_on}"
            )
        if on > loan.closed_through:
            raise CommandRefused(
                f"loan {loan.label}: {on} is not closed yet (closed through "
                f"{loan.closed_through}): a repayment on it is not back-dated; drop --backdated"
            )
        return self._correct(
            loan,
            Correction(
                "backdated_repayment", on, amount=amount, originator_version=loan.version + 1
            ),
            actor=actor,
            reason=reason,
        )

    def reverse(self, reference: str, version: int, *, actor: str, reason: str) -> Loan:
        """A deduction or repayment that bounced: recompute the loan without it."""
        loan = self.get_loan(reference)
        events: list[Any] = list(self.events.get(loan.id))
        target = next((e for e in events if e.originator_version == version), None)
        kind = type(target).__name__ if target is not None else None
        if target is None or kind not in ("InstallmentDeducted", "Repaid"):
            raise CommandRefused(
                f"loan {loan.label}: event {version} is "
                + (f"a {kind}" if kind else "not one of its events")
                + "; only a deduction or a repayment can be reversed"
            )
        for e in events:
            if type(e).__name__ == "Corrected" and e.reverses == version:
                raise CommandRefused(
                    f"loan {loan.label}: event {version} was already reversed by event "
                    f"{e.originator_version}"
                )
        on: date = target.on
        return self._correct(
            loan,
            Correction("reversal", on, reverses=version),
            actor=actor,
            reason=reason,
            events=events,
        )

    def _correct(
        self,
        loan: Loan,
        correction: Correction,
        *,
        actor: str,
        reason: str,
        events: list[Any] | None = None,
    ) -> Loan:
        if loan.is_closed and correction.kind == "backdated_repayment":
            raise CommandRefused(f"loan {loan.label} is closed (since {loan.closed_on})")
        recorded: list[Any] = events if events is not None else list(self.events.get(loan.id))
        facts = corrected_facts(facts_of(recorded), correction)
        run = run_facts(recorded[0], facts)
        supersedes = [
            int(e.originator_version)
            for e in recorded
            if e.on >= correction.effective_on and type(e).__name__ in DERIVED_EVENTS
        ]
        loan.correct(
            loan.closed_through,
            kind=correction.kind,
            effective_on=correction.effective_on,
            amount=correction.amount,
            reverses=correction.reverses,
            supersedes=supersedes,
            refund_due=run.refund_due - loan.refunds_due,
            corrected=run.loan,
            actor=actor,
            reason=reason,
        )
        self.save(loan)
        return loan

    def loan_as_of(self, reference: str, as_of: date | None = None) -> Loan:
        """The loan at the end of business day ``as_of`` (default: everything recorded).

        Business time: with corrections recorded, the past is what the corrected facts say
        (a back-dated repayment counts from its date), so the loan is replayed from its facts
        up to ``as_of``; without, it is the recorded state at the last event of ``as_of``."""
        loan = self.get_loan(reference)
        if as_of is None:
            return loan
        if as_of < loan.terms.disbursed_on:
            raise CommandRefused(
                f"loan {loan.label}: {as_of} is before its disbursement on "
                f"{loan.terms.disbursed_on}"
            )
        if as_of > loan.closed_through and not loan.is_closed:
            raise CommandRefused(
                f"loan {loan.label}: business day {as_of} is not closed yet "
                f"(closed through {loan.closed_through}); run close-day --through {as_of}"
            )
        recorded = list(self.events.get(loan.id))
        if any(type(e).__name__ == "Corrected" for e in recorded):
            return run_facts(recorded[0], facts_of(recorded), until=as_of).loan
        version = 0
        for event in recorded:
            event_on: date = event.on  # type: ignore[attr-defined]  # every loan event has 'on'
            if event_on > as_of:
                break
            version = event.originator_version
        historical: Any = self.repository.get(loan.id, version=version)
        assert isinstance(historical, Loan)
        return historical

    # ------------------------------------------------------------------ close of business

    def close_days(
        self,
        through: date,
        *,
        partition: int = 0,
        partitions: int = 1,
        progress: ProgressCallback | None = None,
        on_day: Callable[[DayReport], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> CloseReport:
        """Run every business day not yet run, up to and including ``through``, for every
        open loan of the partition, in batches, one day at a time and in order. Each day is
        recorded in the partition's calendar once every loan ran it; loans that already ran a
        day skip it. ``stop()`` is asked between batches: a stopped pass leaves its day open
        and the next pass resumes it. ``on_day`` hears about every day closed."""
        self.business_date.check(through, "--through")
        started = time.perf_counter()
        report = CloseReport(through=through)
        self.directory.catch_up()
        calendar = self.get_calendar(partition, partitions)
        if calendar.last_closed is not None:
            day = calendar.last_closed + timedelta(days=1)
        else:
            first = self.directory.first_open_day(partition, partitions)
            day = first if first is not None else through + timedelta(days=1)
        while day <= through:
            result = self._pass(day, self._run_through_day, partition, partitions, progress, stop)
            report.loan_days += result.loans
            report.loans = max(report.loans, result.loans)
            report.events += result.events
            report.failures += result.failures
            if result.failures or result.stopped:
                report.stopped = result.stopped
                break  # the day stays open; the next pass retries it
            calendar = self._record_day_closed(calendar, day, result)
            report.days.append(day)
            if on_day:
                on_day(result)
            self.directory.catch_up()  # loans that closed today leave the directory
            # the next day not yet closed: after taking another pass's calendar that may be
            # later than tomorrow (it closed days while this pass ran this one)
            assert calendar.last_closed is not None
            day = max(day, calendar.last_closed) + timedelta(days=1)
        report.last_closed = calendar.last_closed
        report.seconds = time.perf_counter() - started
        return report

    def _record_day_closed(
        self, calendar: BusinessCalendar, day: date, result: DayReport
    ) -> BusinessCalendar:
        """Record ``day`` closed; if another pass of the same partition recorded it first
        (the version check), take its calendar: the day is closed either way."""
        if calendar.last_closed is not None and calendar.last_closed >= day:
            return calendar
        calendar.close_day(day, loans=result.loans, events=result.events)
        try:
            self.save(calendar)
        except IntegrityError:
            theirs = self.find_calendar(calendar.partition, calendar.partitions)
            if theirs is None or theirs.last_closed is None or theirs.last_closed < day:
                raise Busy(
                    f"the calendar of partition {calendar.partition}/{calendar.partitions} "
                    "keeps changing under this pass; nothing more was written, retry"
                ) from None
            return theirs
        return calendar

    def run_mornings(
        self,
        day: date,
        *,
        partition: int = 0,
        partitions: int = 1,
        progress: ProgressCallback | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> DayReport:
        """The morning pass of ``day`` (section 3): installments due on ``day`` are fixed and
        one deduction collects what is due, for every open loan of the partition. A loan whose
        earlier days are not closed catches them up first. Running it again is a no-op."""
        self.business_date.check(day, "morning of")
        self.directory.catch_up()
        return self._pass(day, self._advance_to, partition, partitions, progress, stop)

    @classmethod
    def _run_through_day(cls, loan: Loan, day: date, bank: PaymentGateway) -> None:
        while not loan.is_closed and loan.next_open_day <= day:
            cls._run_day(loan, loan.next_open_day, bank)

    def _pass(
        self,
        day: date,
        action: Callable[[Loan, date, PaymentGateway], None],
        partition: int,
        partitions: int,
        progress: ProgressCallback | None,
        stop: Callable[[], bool] | None,
    ) -> DayReport:
        started = time.perf_counter()
        result = DayReport(day=day)
        total = self.directory.count_open(day, partition, partitions)
        done = 0
        after = ""
        while True:  # pages of the directory, so memory stays one batch whatever N is
            if stop is not None and stop():
                result.stopped = True
                break
            page = self.directory.open_loans_page(
                day, after=after, limit=self.batch_size, partition=partition, partitions=partitions
            )
            if not page:
                break
            after = str(page[-1].loan_id)
            batch = [e.loan_id for e in page]
            with_account = {e.loan_id for e in page if e.has_account}
            ran, events, failures = self._run_batch(batch, day, with_account, action)
            done += len(batch)
            result.loans += ran
            result.events += events
            result.failures += failures
            if progress:
                progress(day.isoformat(), done, total)
        result.seconds = time.perf_counter() - started
        return result

    def _run_batch(
        self,
        batch: Sequence[UUID],
        day: date,
        with_account: set[UUID],
        action: Callable[[Loan, date, PaymentGateway], None],
    ) -> tuple[int, int, list[dict[str, str]]]:
        for attempt in range(BATCH_ATTEMPTS):
            loaded = self.reader.load_many(batch)
            bank = self._bank_for([i for i in batch if i in with_account])
            loans: list[Loan] = []
            failures: list[dict[str, str]] = []
            for loan_id in batch:
                loan = loaded.get(loan_id)
                if not isinstance(loan, Loan) or loan.is_closed or loan.closed_through >= day:
                    continue
                try:
                    action(loan, day, bank)
                except Exception as error:  # one bad loan must not stop the others
                    failures.append(
                        {"loan_id": str(loan_id), "day": day.isoformat(), "error": repr(error)}
                    )
                    continue
                if loan.pending_events:
                    loans.append(loan)
            try:
                recordings = self.save_batch([*loans, *bank.changed()])
            except IntegrityError:
                time.sleep(random.uniform(0, 0.005 * 2**attempt))
                continue  # someone else wrote to one of these loans: reload and redo
            return len(loans), len(recordings), failures
        raise Busy(
            f"a batch of {len(batch)} loans met a concurrent writer {BATCH_ATTEMPTS} times on "
            f"{day}; the day stays open, retry"
        )

    # ------------------------------------------------------------------ reading

    def loan_events(self, reference: str) -> list[Any]:
        loan = self.get_loan(reference)
        return list(self.events.get(loan.id))
