"""``ledger audit verify --all`` over a whole book: streamed, and over several processes.

One process verifies the book a page of loans at a time (:func:`ledger.services.audit.verify_all`):
memory holds one page, never the book. ``jobs`` processes each take a partition of the loans
(loan id mod ``jobs``, as the close-of-business workers do), with a store connection of their
own, and send back only what the report needs: the loans and events they counted and the
loans that are not clean. The parent merges those in loan id order (each partition comes in
that order), so the report is the same, line for line, whatever the number of jobs; it holds
the failures, not the results. A verify is CPU-bound Python: one process uses one core, so
``jobs`` up to the number of cores is what makes a large book fast.
"""

from __future__ import annotations

import heapq
import multiprocessing
import queue
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ledger.adapters.config import one_line
from ledger.adapters.directory import MAX_PARTITIONS
from ledger.domain.errors import LedgerError
from ledger.services import audit
from ledger.services.application import LedgerApp

MAX_JOBS = MAX_PARTITIONS  # the loan directory selects partitions of up to 16 in SQL
POLL_SECONDS = 1.0  # how often the parent looks whether a silent job is still alive


@dataclass
class Tally:
    """What a verify of the book counted: every loan and event, clean or not."""

    loans: int = 0
    events: int = 0


def not_clean(
    app: LedgerApp, tally: Tally, *, jobs: int = 1, url: str | None = None
) -> Iterator[audit.Verification]:
    """Every loan of the book that is not clean, in loan id order, as they are found;
    ``tally`` counts every loan verified. With ``jobs`` > 1, ``url`` names the store the
    processes open (each its own application, keyring and connections, from the
    environment, as ``app`` was opened)."""
    if jobs == 1:
        for result in audit.verify_all(app):
            tally.loans += 1
            tally.events += result.events
            if not result.clean:
                yield result
        return
    if url is None:
        raise ValueError("several jobs need the store's URL")
    app.directory.catch_up()  # once, here, before the jobs read it
    yield from _in_processes(url, jobs, tally)


def _in_processes(url: str, jobs: int, tally: Tally) -> Iterator[audit.Verification]:
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited connection
    queues: list[Any] = [ctx.Queue() for _ in range(jobs)]
    procs = [
        ctx.Process(target=_job, args=(url, i, jobs, queues[i]), daemon=True) for i in range(jobs)
    ]
    for p in procs:
        p.start()
    try:
        streams = [_received(queues[i], procs[i], i, jobs, tally) for i in range(jobs)]
        yield from heapq.merge(*streams, key=lambda r: r.loan_id)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join()


def _received(
    q: Any, proc: Any, index: int, jobs: int, tally: Tally
) -> Iterator[audit.Verification]:
    """What job ``index`` sends, until its tally: its loans that are not clean. An error in
    the job is raised here; a job that dies without a word is an error too."""
    while True:
        try:
            kind, payload = q.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if proc.is_alive():
                continue
            try:  # what it sent just before it ended may still be in the pipe
                kind, payload = q.get(timeout=POLL_SECONDS)
            except queue.Empty:
                raise RuntimeError(
                    f"verify job {index + 1} of {jobs} stopped (exit code {proc.exitcode})"
                ) from None
        if kind == "dirty":
            yield payload
        elif kind == "error":
            raise payload
        else:
            loans, events = payload
            tally.loans += loans
            tally.events += events
            return


def _job(url: str, partition: int, partitions: int, out: Any) -> None:
    """One process: verify one partition, send its failures as found, then its tally."""
    try:
        app = LedgerApp.from_url(url)
        try:
            loans = events = 0
            for result in audit.verify_all(
                app, partition=partition, partitions=partitions, catch_up=False
            ):
                loans += 1
                events += result.events
                if not result.clean:
                    out.put(("dirty", result))
            out.put(("tally", (loans, events)))
        finally:
            app.close()
    except Exception as error:  # a ledger error whole (the parent says it as it would)
        sent = error if isinstance(error, LedgerError) else RuntimeError(one_line(error))
        out.put(("error", sent))
