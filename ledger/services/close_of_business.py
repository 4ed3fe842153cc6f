"""Close-of-business: every business day not yet run, for every open loan of a partition,
in batches (many loans per read and per save), one day at a time and in order; and the
morning pass. Each day is recorded in the partition's calendar once every loan ran it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from eventsourcing.persistence import IntegrityError, PersistenceError

from ledger.adapters.config import one_line
from ledger.adapters.gateway import PaymentGateway
from ledger.domain.business_day import advance_to, run_through
from ledger.domain.calendar import BusinessCalendar
from ledger.domain.errors import Busy
from ledger.domain.loan import Loan
from ledger.services import integrity
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
            result = self._pass(day, self._days, partition, partitions, progress, stop)
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
        if report.days:
            report.checkpoint = self._checkpoint(report.days[-1])
        report.seconds = time.perf_counter() - started
        return report

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
        return self._pass(day, self._advance, partition, partitions, progress, stop)

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
        saved_loans = saved_events = 0  # by parts of a split save committed before a retry
        for attempt in range(BATCH_ATTEMPTS):
            loaded = self.reader.load_many(batch)
            held = integrity.held(self)  # tampered loans: no new events until released
            bank = self._bank_for([i for i in batch if i in with_account])
            loans: list[Loan] = []
            failures: list[dict[str, str]] = []
            for loan_id in batch:
                loan = loaded.get(loan_id)
                if not isinstance(loan, Loan) or loan.is_closed or loan.closed_through >= day:
                    continue
                if loan_id in held:
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
            except IntegrityError as error:
                if isinstance(error, PartlySaved):  # those loans ran the day: skipped below
                    saved_loans += error.loans
                    saved_events += len(error.recordings)
                time.sleep(random.uniform(0, 0.005 * 2**attempt))
                continue  # someone else wrote to one of these loans: reload and redo
            return saved_loans + len(loans), saved_events + len(recordings), failures
        raise Busy(
            f"a batch of {len(batch)} loans met a concurrent writer {BATCH_ATTEMPTS} times on "
            f"{day}; the day stays open, retry"
        )
