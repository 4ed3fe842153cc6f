"""``ledger worker``: runs close-of-business at the right times, catches up, never twice.

The worker never trusts the wall clock alone: every pass first reads the partition's last
closed business date from the store and closes every missing day, in order (a batch of loans
runs a span of several missing days per read and save; each day is still recorded closed, and
logged, on its own).
Exactly-once is not the worker's doing: a loan refuses to run a business day twice, and the
store's optimistic concurrency (a unique (loan, version) key) refuses a second writer, so a
rerun, a restart after ``kill -9`` or two workers on one partition cannot double-accrue.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import FrameType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from eventsourcing.persistence import OperationalError, PersistenceError

from ledger.adapters.clock import Clock, SystemClock
from ledger.adapters.worker_status import PassRecord, WorkerStatusStore
from ledger.domain.actor import acting_as
from ledger.domain.errors import Busy, StoreUnavailable
from ledger.services.application import CloseReport, DayReport, LedgerApp, ProgressCallback
from projections import Projections

log = logging.getLogger("ledger.worker")
T = TypeVar("T")
MORNING_JOB = "ledger-morning"
END_OF_DAY_JOB = "ledger-end-of-day"


def _log(level: int, message: str, **fields: Any) -> None:
    """A log record with structured ``fields`` (``ledger worker`` writes each record as one
    JSON line: time, level, logger, message and these fields)."""
    log.log(level, message, extra={"fields": fields})


@dataclass(frozen=True)
class WorkerSettings:
    timezone: str = "Asia/Shanghai"
    morning_at: time = time(6, 0)
    end_of_day_at: time = time(0, 5)
    partition: int = 0
    partitions: int = 1
    misfire_grace_seconds: int = 6 * 3600  # a daily job that is late by hours should still run
    retry_first_wait: float = 1.0
    retry_max_wait: float = 60.0
    retry_attempts: int = 8

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def job_id(self, name: str) -> str:
        return f"{name}-{self.partition}-of-{self.partitions}"


class Worker:
    def __init__(
        self,
        app_factory: Callable[[], LedgerApp],
        settings: WorkerSettings | None = None,
        *,
        clock: Clock | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.app_factory = app_factory
        self.settings = settings or WorkerSettings()
        self.clock = clock or SystemClock()
        self.progress = progress
        self._app: LedgerApp | None = None
        self._status: WorkerStatusStore | None = None
        self._stop = threading.Event()
        self.scheduler: BlockingScheduler | None = None

    # ------------------------------------------------------------------ plumbing

    @property
    def app(self) -> LedgerApp:
        if self._app is None:
            self._app = self.app_factory()
        return self._app

    @property
    def status_store(self) -> WorkerStatusStore:
        if self._status is None:
            self._status = WorkerStatusStore(self.app)
        return self._status

    def _reset_app(self) -> None:
        if self._app is not None:
            try:
                self._app.close()
            except Exception:  # the connection pool may already be broken
                log.debug("closing a broken application failed", exc_info=True)
        self._app = None
        self._status = None

    def _with_retries(self, what: str, action: Callable[[], T]) -> T:
        """Run ``action``; if the database goes away, or concurrent writers of the same loans
        kept winning (:class:`Busy`), wait with exponential backoff, start afresh and resume
        (the pass resumes where it stopped: loans skip what they ran). Starting afresh while
        the database is still away fails to open the store (:class:`StoreUnavailable`, from
        the application factory): that is waited out the same way."""
        wait = self.settings.retry_first_wait
        for attempt in range(1, self.settings.retry_attempts + 1):
            try:
                return action()
            except (OperationalError, PersistenceError, OSError, Busy, StoreUnavailable) as error:
                if attempt == self.settings.retry_attempts or self._stop.is_set():
                    raise
                _log(
                    logging.WARNING,
                    f"{what}: the store failed; waiting {wait} s, then retrying",
                    event="retry",
                    what=what,
                    attempt=attempt,
                    wait=wait,
                    error=str(error).splitlines()[0] if str(error) else repr(error),
                )
                self._reset_app()
                self.clock.sleep(wait)
                wait = min(wait * 2, self.settings.retry_max_wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def request_stop(self) -> None:
        """Finish the current batch, then stop (SIGTERM does this)."""
        self._stop.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    @property
    def actor(self) -> str:
        """Recorded with every event the worker's passes cause."""
        return f"worker:{self.settings.partition}/{self.settings.partitions}"

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def business_now(self) -> datetime:
        return self.clock.now().astimezone(self.settings.tz)

    def business_today(self) -> date:
        return self.business_now().date()

    # ------------------------------------------------------------------ passes

    def catch_up(self, through: date) -> CloseReport:
        """Close every business day not yet closed, up to and including ``through``."""
        s = self.settings

        def run() -> CloseReport:
            return self.app.close_days(
                through,
                partition=s.partition,
                partitions=s.partitions,
                progress=self.progress,
                on_day=self._day_closed,
                stop=self._stop.is_set,
            )

        with acting_as(self.actor):
            report = self._with_retries(f"close through {through}", run)
        self.refresh_projections()
        if report.failures:
            self._record(
                "end_of_day",
                self._next_open_day(),
                report.loans,
                report.events,
                report.seconds,
                report.failures,
            )
            _log(
                logging.ERROR,
                f"{len(report.failures)} loan(s) failed; their day stays open",
                event="failures",
                partition=s.partition,
                failures=report.failures,
            )
        return report

    def morning_pass(self, day: date) -> DayReport:
        """Fix today's installments and deduct what is due, for every loan of the partition."""
        s = self.settings

        def run() -> DayReport:
            return self.app.run_mornings(
                day,
                partition=s.partition,
                partitions=s.partitions,
                progress=self.progress,
                stop=self._stop.is_set,
            )

        with acting_as(self.actor):
            result = self._with_retries(f"morning of {day}", run)
        self.refresh_projections()
        self._log_pass("morning", result)
        self._record("morning", day, result.loans, result.events, result.seconds, result.failures)
        return result

    def refresh_projections(self) -> dict[str, int]:
        """Catch every projection up after a pass, so balances, statements and the
        portfolio show the day just run. Two workers doing this at once is safe: each batch
        moves a projection's position by compare-and-set, so one of them applies it."""

        def run() -> dict[str, int]:
            return Projections(self.app).catch_up(stop=self._stop.is_set)

        applied = self._with_retries("projections", run)
        _log(logging.INFO, "projections caught up", event="projections", applied=applied)
        return applied

    def run_due(self) -> None:
        """What is due now: every missing day through yesterday, then today's morning if it
        is past the morning time. Used at start-up, by ``--once`` and by both jobs."""
        now = self.business_now()
        today = now.date()
        report = self.catch_up(today - timedelta(days=1))
        if report.failures or report.stopped or self.stopping:
            return
        if now.time() >= self.settings.morning_at:
            self.morning_pass(today)
            self.gateway_pass(today)

    def gateway_pass(self, day: date) -> int:
        """An asynchronous gateway (loan-rules section 17): the worker of partition 0 sends
        the requests that await a result and records the results available by ``day``
        (each once: a result already recorded is skipped). Returns how many it recorded."""
        if not self.app.gateway_settings.asynchronous or self.settings.partition != 0:
            return 0

        def run() -> int:
            done = self.app.poll_gateway(day)
            return sum(1 for r in done if r.outcome == "recorded")

        with acting_as(self.actor):
            recorded = self._with_retries(f"gateway results of {day}", run)
        _log(logging.INFO, "gateway results recorded", event="gateway", recorded=recorded)
        if recorded:
            self.refresh_projections()
        return recorded

    def _next_open_day(self) -> date:
        last = self.app.get_calendar(self.settings.partition, self.settings.partitions).last_closed
        return last + timedelta(days=1) if last else self.business_today()

    def _day_closed(self, result: DayReport) -> None:
        self._log_pass("end_of_day", result)
        self._record(
            "end_of_day", result.day, result.loans, result.events, result.seconds, result.failures
        )

    def _log_pass(self, kind: str, result: DayReport) -> None:
        fields: dict[str, Any] = {
            "event": "pass",
            "pass": kind,
            "date": result.day.isoformat(),
            "partition": f"{self.settings.partition}/{self.settings.partitions}",
            "loans": result.loans,
            "events": result.events,
            "seconds": round(result.seconds, 3),
            "failures": len(result.failures),
        }
        if result.span is not None:  # several days ran in one pass: seconds is this day's share
            fields["span"] = f"{result.span[0].isoformat()}..{result.span[1].isoformat()}"
            fields["span_seconds"] = round(result.span_seconds, 3)
        _log(logging.INFO, f"{kind} pass of {result.day.isoformat()} done", **fields)

    def _record(
        self,
        kind: str,
        day: date,
        loans: int,
        events: int,
        seconds: float,
        failures: list[dict[str, str]],
    ) -> None:
        self.status_store.record(
            PassRecord(
                partition=self.settings.partition,
                partitions=self.settings.partitions,
                kind=kind,
                business_date=day,
                loans=loans,
                events=events,
                seconds=seconds,
                failures=failures,
                finished_at=self.clock.now(),
            )
        )

    # ------------------------------------------------------------------ scheduling

    def build_scheduler(self, scheduler: BlockingScheduler | None = None) -> BlockingScheduler:
        """The two daily jobs, in the business timezone, with fixed ids: a restart replaces
        them instead of adding copies; a late run coalesces into one; never two at once."""
        s = self.settings
        scheduler = scheduler or BlockingScheduler(timezone=s.tz)
        common: dict[str, Any] = {
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": s.misfire_grace_seconds,
            "replace_existing": True,
        }
        scheduler.add_job(
            self.run_due,
            CronTrigger(hour=s.morning_at.hour, minute=s.morning_at.minute, timezone=s.tz),
            id=s.job_id(MORNING_JOB),
            name="morning pass: due installments and deductions",
            **common,
        )
        scheduler.add_job(
            self.run_due,
            CronTrigger(hour=s.end_of_day_at.hour, minute=s.end_of_day_at.minute, timezone=s.tz),
            id=s.job_id(END_OF_DAY_JOB),
            name="end-of-day pass: accrual and overdue marking of the day that ended",
            **common,
        )
        self.scheduler = scheduler
        return scheduler

    def install_signal_handlers(self) -> None:
        def handle(signum: int, frame: FrameType | None) -> None:
            name = signal.Signals(signum).name
            _log(
                logging.INFO,
                f"{name}: stopping after the batch in hand",
                event="signal",
                signal=name,
            )
            self.request_stop()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

    def run_forever(self) -> None:
        """Catch up now, then run the daily jobs until SIGTERM."""
        self.install_signal_handlers()
        self.run_due()
        if self.stopping:
            return
        scheduler = self.build_scheduler()
        jobs = [j.id for j in scheduler.get_jobs()]
        _log(logging.INFO, "scheduler started", event="started", jobs=jobs)
        scheduler.start()
