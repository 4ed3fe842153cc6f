"""Catch-up in spans of days (issue 18, item 2): a batch of loans runs through every missing
business day of a span in memory, so a multi-day catch-up costs one read and one write per
loan per pass, not per day.

**The span.** Close-of-business cuts the days to run into spans of :func:`span_days` days.
Each pass over a span pages the directory, and for each batch loads its loans once, runs each
loan day by day through the span (mornings included, exactly as a pass per day would, in the
same order) and saves the batch once (split into parts of whole loans by
:mod:`ledger.services.save_parts`). Only when every loan of the partition ran the span are its
days recorded closed in the partition's calendar, one ``DayClosed`` per day, in order.

**The bound.** What a batch holds in memory is its loans plus the events they record during
the span: about ``batch_size x days x events per loan-day``. :data:`LOAN_DAYS_PER_BATCH`
caps ``batch_size x days``: 20,000 loan-days is about 21,000 pending events (a loan-day
records 1.05 events on average: its accrual, plus the fixing, deduction and overdue marks of
its due days) and five save parts of :data:`~ledger.services.save_parts.MAX_EVENTS_PER_SAVE`;
measured (``ops/bench/catch_up.py``, 2,000 loans x 30 days, PostgreSQL) the catch-up's peak
was 134 MiB against 122 MiB for the same days one at a time (1,000 loan-days in hand): about
0.6 KiB per loan-day in hand, so the default costs some 12 MiB over a pass of one day, and a
setting ten times larger some 120 MiB. It is a setting
(``$LEDGER_CATCH_UP_LOAN_DAYS``): memory is bounded by it and the batch size, not by the
number of loans or of days. A setting below the batch size gives spans of one day: the
day-by-day catch-up this replaced (a read and a write per loan per day).
:data:`MAX_SPAN_DAYS` keeps one loan's events of a span (at most about 4 a day) far below
a save part, so a part never has to hold a loan over the limit.

**Reports.** A pass over a span counts, per day, the loans that ran that day and the events
they recorded (the loan's and its linked account's), exactly what a pass of that day alone
would have counted. The time is the span's: each day's report carries the span and its
seconds, and ``seconds`` is the day's equal share of them.

**Failures.** A loan that raises on day *d* is reported with *d*; its work of the span is
dropped (with its linked account's), it is loaded again and run through *d - 1* only, so its
days before *d* are saved; the other loans run the whole span. The calendar records the days
before the earliest failing day, not that day or later: the next pass retries from there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from ledger.adapters.gateway import PaymentGateway, SimulatedBank
from ledger.domain.account import account_id_for
from ledger.domain.loan import Loan

LOAN_DAYS_PER_BATCH = 20_000  # batch_size x days of one span; $LEDGER_CATCH_UP_LOAN_DAYS
MAX_SPAN_DAYS = 366  # a loan's events of one span stay far below a save part

Action = Callable[[Loan, date, PaymentGateway], None]


def span_days(loan_days: int, batch_size: int) -> int:
    """Days of one span: ``loan_days // batch_size``, from 1 to :data:`MAX_SPAN_DAYS`."""
    return max(1, min(MAX_SPAN_DAYS, loan_days // max(1, batch_size)))


def span_of(first: date, through: date, days: int) -> list[date]:
    """The days of the span starting on ``first``: ``days`` of them, none after ``through``."""
    count = min(days, (through - first).days + 1)
    return [first + timedelta(days=i) for i in range(count)]


@dataclass
class DayReport:
    """One business day of a pass over the open loans. ``span``: the first and last day of
    the pass that ran it with others (``None`` for a pass of one day); ``seconds`` is then
    the day's share of ``span_seconds``, the time of the whole span."""

    day: date
    loans: int = 0
    events: int = 0
    seconds: float = 0.0
    failures: list[dict[str, str]] = field(default_factory=list)
    stopped: bool = False
    span: tuple[date, date] | None = None
    span_seconds: float = 0.0


@dataclass
class PassTally:
    """What a pass over ``days`` did, per day; ``open_from``: the earliest day a loan that
    failed did not save (the calendar closes no day from it on)."""

    days: list[date]
    loans: Counter[date] = field(default_factory=Counter)
    events: Counter[date] = field(default_factory=Counter)
    failures: list[dict[str, str]] = field(default_factory=list)
    open_from: date | None = None
    stopped: bool = False
    seconds: float = 0.0

    def add(self, ran: dict[date, int]) -> None:
        """One loan saved: the events it recorded on each day it recorded any."""
        for day, events in ran.items():
            self.loans[day] += 1
            self.events[day] += events

    def hold_open(self, day: date) -> None:
        self.open_from = day if self.open_from is None else min(self.open_from, day)

    def merge(self, other: PassTally) -> None:
        self.loans.update(other.loans)
        self.events.update(other.events)
        self.failures += other.failures
        if other.open_from is not None:
            self.hold_open(other.open_from)

    @property
    def loan_days(self) -> int:
        return sum(self.loans.values())

    def closable(self) -> list[date]:
        """The days every loan ran: none of a stopped pass, none from a failing day on."""
        if self.stopped:
            return []
        return [d for d in self.days if self.open_from is None or d < self.open_from]

    def day_report(self, day: date) -> DayReport:
        several = len(self.days) > 1
        return DayReport(
            day=day,
            loans=self.loans[day],
            events=self.events[day],
            seconds=self.seconds / len(self.days),
            failures=[f for f in self.failures if f["day"] == day.isoformat()],
            stopped=self.stopped,
            span=(self.days[0], self.days[-1]) if several else None,
            span_seconds=self.seconds,
        )

    @property
    def key(self) -> str:
        """The progress key: the day, or ``first..last`` for a span of several."""
        first, last = self.days[0].isoformat(), self.days[-1].isoformat()
        return first if first == last else f"{first}..{last}"


def _pending(loan: Loan, account_id: UUID, bank: SimulatedBank) -> int:
    account = bank.accounts.get(account_id)
    return len(loan.pending_events) + (len(account.pending_events) if account else 0)


def run_loan_days(
    loan: Loan, days: Sequence[date], bank: SimulatedBank, action: Action
) -> tuple[dict[date, int], tuple[date, Exception] | None]:
    """Run ``action`` for each day of ``days`` the loan has not run, in order. Returns the
    events recorded on each day (the loan's and its linked account's), and the day and error
    if one raised (the days after it are not run)."""
    ran: dict[date, int] = {}
    account_id = account_id_for(loan.id)  # a uuid5: once a loan, not twice a day
    for day in days:
        if loan.is_closed:
            break
        if loan.closed_through >= day:
            continue
        before = _pending(loan, account_id, bank)
        try:
            action(loan, day, bank)
        except Exception as error:  # one bad loan must not stop the others
            return ran, (day, error)
        if recorded := _pending(loan, account_id, bank) - before:
            ran[day] = recorded
    return ran, None


def failure(loan_id: UUID, day: date, error: Exception) -> dict[str, str]:
    return {"loan_id": str(loan_id), "day": day.isoformat(), "error": repr(error)}
