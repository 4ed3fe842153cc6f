"""The ledger's store of aggregates: an eventsourcing ``Application`` with the unit of work,
batched saves and snapshots, and the loading of loans, accounts and calendars.

Every use case (:mod:`ledger.services.application`, :mod:`ledger.services.corrections`,
:mod:`ledger.services.close_of_business`) builds on it: it loads the aggregates it needs,
runs domain commands, and saves all of them in one transaction, so a refused command (an
exception before ``save``) writes nothing.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Self, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper

from ledger.adapters.checkpoints import Checkpoints
from ledger.adapters.codec import LedgerMapper
from ledger.adapters.config import NonAccrual
from ledger.adapters.directory import LoanDirectory
from ledger.adapters.gateway import GatewaySettings, SimulatedBank
from ledger.adapters.gateway_book import GatewayBook
from ledger.adapters.keys import chain_keyring
from ledger.adapters.persistence import (
    APP_NAME,
    BatchReader,
    ensure_postgres_schema,
    ledger_transcoder,
    parse_database_url,
    startup_lock,
)
from ledger.adapters.readable import create_readable_view
from ledger.adapters.snapshots import SealedSnapshot
from ledger.domain.account import LinkedAccount, account_id_for
from ledger.domain.calendar import BusinessCalendar, calendar_id_for
from ledger.domain.errors import Busy, NotFound, Quarantined
from ledger.domain.loan import Loan
from ledger.domain.seal import install_keyring
from ledger.services import integrity
from ledger.services.business_date import BusinessDate
from ledger.services.catch_up import LOAN_DAYS_PER_BATCH
from ledger.services.parsing import UUID_FORM
from ledger.services.resident import ResidentLoans
from ledger.services.save_parts import MAX_EVENTS_PER_SAVE, PartlySaved, loans_in, save_parts

LOAN_NAMESPACE = uuid5(NAMESPACE_URL, "ledger:loan")
DEFAULT_BATCH_SIZE = 1000
LOAN_SNAPSHOT_INTERVAL = 40
BATCH_ATTEMPTS = 10  # a batch that met a concurrent writer is reloaded and redone
COMMAND_ATTEMPTS = 8  # a command that met a concurrent writer is rerun from fresh state
T = TypeVar("T")


def loan_id_for(reference: str) -> UUID:
    """A loan is named by its UUID (canonical form) or by the reference it was opened with.

    References live in a namespace of their own (``uuid5(LOAN_NAMESPACE, reference)``), as
    do the internal aggregates (calendars, linked accounts), and a reference may not be a
    UUID (:func:`ledger.services.parsing.identifier`), so a user's id never lands on an
    internal one.
    """
    if UUID_FORM.fullmatch(reference.lower()):
        return UUID(reference)
    return uuid5(LOAN_NAMESPACE, reference)


class LedgerStore(Application[UUID]):
    name = APP_NAME
    is_snapshotting_enabled = True
    max_events_per_save = MAX_EVENTS_PER_SAVE  # a bigger batch save is split (save_parts)

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        business_date: BusinessDate | None = None,
        non_accrual: NonAccrual | None = None,
        gateway: GatewaySettings | None = None,
        catch_up_loan_days: int = LOAN_DAYS_PER_BATCH,
        resident_loans: int = 0,
    ) -> None:
        install_keyring(chain_keyring())  # seals events, checkpoints and snapshots
        super().__init__(env)
        self.batch_size = batch_size
        # loan-days a batch runs in memory per read and save (ledger.services.catch_up)
        self.catch_up_loan_days = catch_up_loan_days
        self.resident = ResidentLoans(resident_loans)  # loans kept between passes
        self.business_date = business_date or BusinessDate.from_env(os.environ)
        # loan-rules §15: the days past due after which a loan's end of day starts non-accrual
        self.non_accrual_after = (non_accrual or NonAccrual.from_env()).after_days
        self.reader = BatchReader(self)
        self.directory = LoanDirectory(self)
        self.gateway_settings = gateway or GatewaySettings.from_env()  # section 17
        self.gateway_book = GatewayBook(self)
        create_readable_view(self)  # ledger_events_readable: the stored JSON as text
        self.checkpoints = Checkpoints(self)
        integrity.watch(self)  # sealed snapshots and chains checked as loans are loaded
        self._held = threading.local()  # saves held back by execute(), per thread

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        business_date: BusinessDate | None = None,
        non_accrual: NonAccrual | None = None,
        gateway: GatewaySettings | None = None,
        catch_up_loan_days: int = LOAN_DAYS_PER_BATCH,
        resident_loans: int = 0,
    ) -> Self:
        db = parse_database_url(url)
        with startup_lock(db):
            ensure_postgres_schema(db)
            return cls(
                env={**db.env, "CREATE_TABLE": "y"},
                batch_size=batch_size,
                business_date=business_date,
                non_accrual=non_accrual,
                gateway=gateway,
                catch_up_loan_days=catch_up_loan_days,
                resident_loans=resident_loans,
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
                integrity.refuse_if_held(self, held)
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

    def rehearse(self, command: Callable[[], T]) -> T:
        """Run ``command`` to see whether it would be refused, and save nothing it asks to:
        the loans it changed are dropped (every command loads its own). A four-eyes request
        rehearses its command, so a request that could never be carried out is refused."""
        outer: list[Any] | None = getattr(self._held, "aggregates", None)
        rehearsed: list[Any] = []
        self._held.aggregates = rehearsed
        try:
            result = command()
            integrity.refuse_if_held(self, rehearsed)  # a quarantined loan: refused now too
            return result
        finally:
            self._held.aggregates = outer

    def construct_transcoder(self) -> JSONTranscoder:
        return ledger_transcoder()  # the library's own types and the ledger's, orjson reads

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(  # the compact stored form (ledger/adapters/codec.py)
            transcoder=self.construct_transcoder(), mapper_class=LedgerMapper
        )

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
            SealedSnapshot.take(a)
            for i, a in processing_event.aggregates.items()
            if i in crossed and isinstance(a, Loan)
        ]
        if snapshots:
            self.snapshots.put(snapshots)

    def save_batch(self, aggregates: Sequence[Any]) -> list[Any]:
        """``save(*aggregates)`` for a close-of-business batch, without the library's
        per-object protocol checks (measurable at 100,000 loans a pass), in transactions of
        at most :data:`~ledger.services.save_parts.MAX_EVENTS_PER_SAVE` events of whole
        loans: a bigger save hangs the PostgreSQL recorder (:mod:`ledger.services.save_parts`
        says why, and what a part that fails after another was committed leaves)."""
        recordings: list[Any] = []
        loans = 0
        for number, part in enumerate(save_parts(aggregates, self.max_events_per_save)):
            try:
                saved = self._record(part)
            except IntegrityError as error:
                if number == 0:
                    raise
                raise PartlySaved(recordings, loans) from error
            self._take_snapshots(part)
            self._notify(saved)
            recordings += saved
            loans += loans_in(part)
        return recordings

    # ------------------------------------------------------------------ loading

    def _held_back(self, aggregate_id: UUID) -> Any:
        """The aggregate a command of this unit of work already changed (held back, not yet
        saved), or None: a later command of the same unit of work goes on from it."""
        held: list[Any] = getattr(self._held, "aggregates", None) or []
        return next((a for a in reversed(held) if a.id == aggregate_id), None)

    def get_loan(self, reference: str | UUID) -> Loan:
        loan_id = reference if isinstance(reference, UUID) else loan_id_for(reference)
        if isinstance(changed := self._held_back(loan_id), Loan):
            return changed
        try:  # the batched reader checks snapshots' seals and the chain after them
            loan: Any = self.reader.load_many([loan_id]).get(loan_id)
        except Exception as error:  # an event that cannot be read: set the loan apart
            raise Quarantined(
                f"loan {reference} cannot be read from its events "
                f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})"
            ) from None
        if not isinstance(loan, Loan):
            raise NotFound(f"unknown loan {reference}")
        return loan

    def _check_on(self, loan: Loan, on: date, what: str = "--on") -> None:
        """Refuse a date after the business date before anything is computed."""
        self.business_date.check(on, what, earliest=loan.next_open_day)

    def _bank_for(self, loan_ids: Sequence[UUID]) -> SimulatedBank:
        ids = [account_id_for(i) for i in loan_ids]
        changed = {i: a for i in ids if isinstance(a := self._held_back(i), LinkedAccount)}
        found = self.reader.load_many([i for i in ids if i not in changed]) | changed
        accounts = {i: a for i, a in found.items() if isinstance(a, LinkedAccount)}
        return SimulatedBank(accounts, self.gateway_settings)

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

    # ------------------------------------------------------------------ reading

    def loan_events(self, reference: str) -> list[Any]:
        return self.history(self.get_loan(reference))

    def history(self, aggregate: Any) -> list[Any]:
        """An aggregate's events (a loan's, a case's, a request's): those saved, then those a
        command of this unit of work has just recorded and not saved yet."""
        pending = list(aggregate.pending_events)
        saved = list(self.events.get(aggregate.id)) if aggregate.version > len(pending) else []
        return saved + pending
