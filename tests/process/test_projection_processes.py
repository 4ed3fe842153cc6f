"""A real projector process killed with SIGKILL half-way (SQLite and PostgreSQL): the next
run neither loses nor double-applies an event, and ``projections run`` stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from ledger.services.application import LedgerApp
from projections import Projections
from tests.store.test_projections import random_book

ROOT = Path(__file__).resolve().parents[2]


def _ledger(db_url: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ledger.bootstrap", "--db", db_url, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for_position(projections: Projections, name: str, timeout: float = 60) -> int:
    projector = projections.select([name])[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        position = projector.position()
        if position > 0:
            return position
        time.sleep(0.02)
    raise AssertionError(f"projection {name} did not start within {timeout}s")


def test_a_projector_killed_between_two_events_neither_loses_nor_doubles_one(
    db_url: str,
) -> None:
    app = LedgerApp.from_url(db_url)
    try:
        Projections(app).catch_up()  # tables made before the book: catch-ups go in log order
        random_book(app, seed=41, loans=30, days=120)
        watcher = Projections(app)
        statements = watcher.select(["statements"])[0]
        head = statements.head()
        # one event per transaction: the kill lands between two events
        proc = _ledger(db_url, "projections", "catch-up", "statements", "--page", "1")
        _wait_for_position(watcher, "statements")
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        at_kill = statements.position()
        assert 0 < at_kill < head, "the kill must land half-way for this test to mean anything"

        statements.catch_up()  # a new run resumes from the stored position
        assert statements.position() == head
        resumed = statements.dump()
        fresh = Projections(app)
        fresh.rebuild(["statements"])
        assert resumed == fresh.select(["statements"])[0].dump()
    finally:
        app.close()


def test_projections_run_follows_new_events_and_stops_on_sigterm(db_url: str) -> None:
    app = LedgerApp.from_url(db_url)
    try:
        random_book(app, seed=43, loans=4, days=20)
        proc = _ledger(db_url, "projections", "run", "--poll", "0.1")
        watcher = Projections(app)
        _wait_for_position(watcher, "portfolio")
        last = app.get_calendar().last_closed
        assert last is not None
        app.close_days(last + timedelta(days=5))
        deadline = time.monotonic() + 30
        while any(s.lag for s in watcher.status()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(s.lag == 0 for s in watcher.status())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        app.close()
