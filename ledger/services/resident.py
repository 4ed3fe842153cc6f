"""Loans kept in memory between passes by a long-running process (issue 18, point 1).

A worker runs the same loans every morning and every night. Reading each loan back from the
store (its snapshot and the events after it, decoded, their chain checked) costs more than
running its day. :class:`ResidentLoans` keeps the loans a pass saved, up to a bound
(``$LEDGER_RESIDENT_LOANS``, default :data:`RESIDENT_LOANS`; 0 turns it off), least recently
so memory is bounded by the setting, not by the book (a few KiB a loan,
``ops/bench/close_day.py --memory-check``). Only a long-running worker keeps loans (the
setting is read by :func:`ledger.bootstrap.open_app`); an application built directly keeps
none unless asked.

**Never stale.** Before a batch uses a kept loan, one query reads the stored version of every
kept loan of the batch (:meth:`ledger.adapters.persistence.BatchReader.versions_of`); a loan
another process or command wrote to since is read again from the store. A write that lands
between that query and the batch's save fails the save on the version check, and the batch is
read again from the store and redone, as any concurrent write is. A kept loan is taken out
while a batch uses it and put back only once the batch is saved: a loan whose run raised, or
whose save failed, is never kept half-run.

What a kept loan does not get again is the check of its events' chain on reading: it was
checked when the loan was read, and what the pass added was sealed by this process. Tampering
with the store afterwards is found by ``ledger audit verify`` and the checkpoints, and by the
next process that reads the loan.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from uuid import UUID

from ledger.domain.loan import Loan

RESIDENT_LOANS = 50_000  # loans a worker keeps; $LEDGER_RESIDENT_LOANS (other processes: 0)


class ResidentLoans:
    """At most ``capacity`` loans. A loan already kept is kept again after each pass; a new
    one only while there is room: a pass walks its loans in the same order every day, so
    evicting the oldest would evict every loan before the next pass reached it, and a book
    bigger than the bound would find none kept. Thread-safe (the worker's morning and night
    jobs may overlap)."""

    def __init__(self, capacity: int = 0) -> None:
        self.capacity = capacity
        self._loans: OrderedDict[UUID, Loan] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._loans)

    def take(self, ids: Sequence[UUID]) -> dict[UUID, Loan]:
        """The kept loans among ``ids``, taken out (a batch puts back what it saved)."""
        if not self._loans:
            return {}
        taken: dict[UUID, Loan] = {}
        with self._lock:
            for loan_id in ids:
                loan = self._loans.pop(loan_id, None)
                if loan is not None:
                    taken[loan_id] = loan
        return taken

    def keep(self, loans: Iterable[Loan], *, again: frozenset[UUID] = frozenset()) -> None:
        """Keep ``loans`` (saved: nothing pending): those in ``again`` (kept before this
        pass) always, others while there is room."""
        if self.capacity <= 0:
            return
        with self._lock:
            for loan in loans:
                if loan.pending_events:
                    raise ValueError(
                        f"loan {loan.id} has events not saved: only a saved loan is kept"
                    )
                if loan.id in again or len(self._loans) < self.capacity:
                    self._loans[loan.id] = loan

    def clear(self) -> None:
        with self._lock:
            self._loans.clear()
