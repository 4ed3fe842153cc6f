"""Close-of-business: every business day not yet run, for every open loan of a partition,
in batches (many loans per read and per save) and in spans of days (a batch runs through every
day of a span in memory: one read and one write per loan per span, :mod:`ledger.services.catch_up`
says why and how big), in order; and the morning pass. Each day is recorded in the partition's
calendar once every loan ran it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, PersistenceError

from ledger.adapters.config import one_line
from ledger.adapters.gateway import PaymentGateway, SimulatedBank
from ledger.domain.account import account_id_for
from ledger.domain.business_day import advance_to, run_through
from ledger.domain.calendar import BusinessCalendar
from ledger.domain.errors import Busy
from ledger.domain.loan import Loan
from ledger.services import integrity
from ledger.services.catch_up import (
    Action,
    PassTally,
    failure,
    run_loan_days,
    span_days,
    span_of,
)
from ledger.services.catch_up import DayReport as DayReport
from ledger.services.save_parts import PartlySaved
from ledger.services.store import BATCH_ATTEMPTS, LedgerStore

logger = logging.getLogger(__name__)


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
    checkpoint: int | None = None  # the checkpoint taken at the end, if one was

    @property
    def loan_days_per_second(self) -> float:
        return self.loan_days / self.seconds if self.seconds else 0.0


ProgressCallback = Callable[[str, int, int], None]


class CloseOfBusiness(LedgerStore):
    """The close-of-business passes."""

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
        open loan of the partition, in batches and in spans of days (:meth:`span_days`): each
        batch is loaded once per span, runs every day of it in order, and is saved once. The
        days of a span are recorded in the partition's calendar, in order, once every loan
        ran them; loans that already ran a day skip it. ``stop()`` is asked between batches:
        a stopped pass leaves its span open and the next pass resumes it. ``on_day`` hears
        about every day closed (several at the end of a span, in order)."""
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
            days = span_of(day, through, self.span_days())
            result = self._pass(days, self._days, partition, partitions, progress, stop)
            report.loan_days += result.loan_days
            report.loans = max(report.loans, *result.loans.values(), 0)
            report.events += sum(result.events.values())
            report.failures += result.failures
            closable = result.closable()
            calendar = self._record_days_closed(calendar, closable, result)
            for closed in closable:
                report.days.append(closed)
                if on_day:
                    on_day(result.day_report(closed))
            if result.failures or result.stopped:
                report.stopped = result.stopped
                break  # the failing day (or the stopped span) stays open; the next pass retries
            self.directory.catch_up()  # loans that closed in the span leave the directory
            # the next day not yet closed: after taking another pass's calendar that may be
            # later than the span's end (it closed days while this pass ran these)
            assert calendar.last_closed is not None
            day = max(days[-1], calendar.last_closed) + timedelta(days=1)
        report.last_closed = calendar.last_closed
        if report.days:
            report.checkpoint = self._checkpoint(report.days[-1])
        report.seconds = time.perf_counter() - started
        return report

    def span_days(self) -> int:
        """Days a batch runs per read and save: ``catch_up_loan_days // batch_size`` (1 when
        the setting is below the batch size: day by day), see :mod:`~ledger.services.catch_up`."""
        return span_days(self.catch_up_loan_days, self.batch_size)

    def _days(self, loan: Loan, day: date, bank: PaymentGateway) -> None:
        run_through(loan, day, bank, self.non_accrual_after)  # section 15: the setting

    def _advance(self, loan: Loan, day: date, bank: PaymentGateway) -> None:
        advance_to(loan, day, bank, self.non_accrual_after)

    def _checkpoint(self, day: date) -> int | None:
        """Anchor every loan's chain head at the end of the pass (issue 12). Another pass
        taking one at the same moment, or a store too busy to take it now, is no failure of
        the days closed: the next checkpoint anchors everything since the last one."""
        try:
            made = integrity.take_checkpoint(self, day)
        except PersistenceError as error:
            logger.warning("checkpoint of %s not taken now: %s", day, one_line(error))
            return None
        return made.seq if made is not None else None

    def _record_days_closed(
        self, calendar: BusinessCalendar, days: Sequence[date], result: PassTally
    ) -> BusinessCalendar:
        """Record ``days`` closed, in order, in one save. If another pass of the same
        partition changed the calendar first (the version check), take its calendar and
        record on it the days it has not closed: every loan ran them either way."""
        for _attempt in range(BATCH_ATTEMPTS):
            todo = [d for d in days if calendar.last_closed is None or d > calendar.last_closed]
            if not todo:
                return calendar
            for day in todo:
                calendar.close_day(day, loans=result.loans[day], events=result.events[day])
            try:
                self.save(calendar)
            except IntegrityError:
                theirs = self.find_calendar(calendar.partition, calendar.partitions)
                if theirs is None:
                    break
                calendar = theirs
                continue
            return calendar
        raise Busy(
            f"the calendar of partition {calendar.partition}/{calendar.partitions} "
            "keeps changing under this pass; nothing more was written, retry"
        )

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
        result = self._pass([day], self._advance, partition, partitions, progress, stop)
        return result.day_report(day)

    def _pass(
        self,
        days: list[date],
        action: Action,
        partition: int,
        partitions: int,
        progress: ProgressCallback | None,
        stop: Callable[[], bool] | None,
    ) -> PassTally:
        """Every open loan of the partition through ``days``, a batch at a time: pages of the
        directory, so memory stays one batch (and its span's events) whatever N is."""
        started = time.perf_counter()
        result = PassTally(days)
        last = days[-1]
        total = self.directory.count_open(last, partition, partitions)
        done = 0
        after = ""
        while True:
            if stop is not None and stop():
                result.stopped = True
                break
            page = self.directory.open_loans_page(
                last, after=after, limit=self.batch_size, partition=partition, partitions=partitions
            )
            if not page:
                break
            after = str(page[-1].loan_id)
            batch = [e.loan_id for e in page]
            with_account = {e.loan_id for e in page if e.has_account}
            result.merge(self._run_batch(batch, days, with_account, action))
            done += len(batch)
            if progress:
                progress(result.key, done, total)
        result.seconds = time.perf_counter() - started
        return result

    def _run_batch(
        self,
        batch: Sequence[UUID],
        days: list[date],
        with_account: set[UUID],
        action: Action,
    ) -> PassTally:
        """One read of the batch, every day of ``days`` for each loan, one save (in parts). A
        save that met a concurrent writer reloads the batch and redoes it: loans that a part
        already saved skip the days they ran, and count once."""
        saved = PassTally(days)  # loans saved by parts of a split save before a retry
        for attempt in range(BATCH_ATTEMPTS):
            loaded, kept = self._load_batch(batch)
            held = integrity.held(self)  # tampered loans: no new events until released
            bank = self._bank_for([i for i in batch if i in with_account])
            run = PassTally(days)
            loans: list[Loan] = []
            ran: dict[UUID, dict[date, int]] = {}
            failed: dict[UUID, date] = {}
            for loan_id in batch:
                loan = loaded.get(loan_id)
                if not isinstance(loan, Loan) or loan.is_closed or loan_id in held:
                    continue
                if loan.closed_through >= days[-1]:
                    continue
                counts, error = run_loan_days(loan, days, bank, action)
                if error is not None:
                    run.failures.append(failure(loan_id, *error))
                    bank.accounts.pop(account_id_for(loan_id), None)  # its work is dropped
                    failed[loan_id] = error[0]
                elif loan.pending_events:
                    loans.append(loan)
                    ran[loan_id] = counts
            accounts = self._rerun_before(failed, days, with_account, action, run, loans, ran)
            try:
                self.save_batch([*loans, *bank.changed(), *accounts])
            except IntegrityError as error:
                if isinstance(error, PartlySaved):  # those loans ran their days: skipped below
                    ids = {r.domain_event.originator_id for r in error.recordings}
                    for loan_id in ids & ran.keys():
                        saved.add(ran.pop(loan_id))
                time.sleep(random.uniform(0, 0.005 * 2**attempt))
                continue  # someone else wrote to one of these loans: reload and redo
            for counts in ran.values():
                run.add(counts)
            run.merge(saved)
            self.resident.keep(
                (
                    loan
                    for loan_id, loan in loaded.items()
                    if isinstance(loan, Loan) and not loan.is_closed
                    and loan_id not in held and loan_id not in failed
                ),
                again=kept,
            )  # fmt: skip
            return run
        raise Busy(
            f"a batch of {len(batch)} loans met a concurrent writer {BATCH_ATTEMPTS} times on "
            f"{days[0]}..{days[-1]}; the days stay open, retry"
        )

    def _load_batch(self, batch: Sequence[UUID]) -> tuple[dict[UUID, Any], frozenset[UUID]]:
        """The batch's loans: those this process kept (:mod:`ledger.services.resident`) and
        nobody wrote to since (one query for their stored versions), the rest read from the
        store in one batched read; and the ids of those that were kept."""
        kept = self.resident.take(batch)
        if kept:
            stored = self.reader.versions_of(list(kept))
            fresh = {i: loan for i, loan in kept.items() if stored.get(i) == loan.version}
        else:
            fresh = {}
        missing = [i for i in batch if i not in fresh]
        return {**self.reader.load_many(missing), **fresh}, frozenset(kept)

    def _rerun_before(
        self,
        failed: dict[UUID, date],
        days: list[date],
        with_account: set[UUID],
        action: Action,
        run: PassTally,
        loans: list[Loan],
        ran: dict[UUID, dict[date, int]],
    ) -> list[object]:
        """Loans that raised on a day of the span: loaded again and run through the day
        before it, so their earlier days are saved (and may be recorded closed); the days
        from the failing one on stay open. Returns the linked accounts they moved."""
        if not failed:
            return []
        ids = list(failed)
        loaded = self.reader.load_many(ids)
        bank: SimulatedBank = self._bank_for([i for i in ids if i in with_account])
        for loan_id, failed_on in failed.items():
            loan = loaded.get(loan_id)
            before = [d for d in days if d < failed_on]
            if not isinstance(loan, Loan) or not before:
                run.hold_open(failed_on)
                continue
            counts, error = run_loan_days(loan, before, bank, action)
            if error is not None:  # not again the same way: nothing of it is saved
                bank.accounts.pop(account_id_for(loan_id), None)
                run.hold_open(days[0])
                continue
            run.hold_open(failed_on)
            if loan.pending_events:
                loans.append(loan)
                ran[loan_id] = counts
        return list(bank.changed())
