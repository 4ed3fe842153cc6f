"""Shared fixtures: every store-backed test runs on SQLite and on PostgreSQL.

PostgreSQL is found through ``LEDGER_TEST_POSTGRES_URL`` (for example
``postgresql://postgres@127.0.0.1:5432/test``). Without it the PostgreSQL half is skipped,
except in CI (``CI=true``), where a missing or unreachable PostgreSQL fails the run.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledger.bootstrap import run
from ledger.services.application import LedgerApp

POSTGRES_ENV = "LEDGER_TEST_POSTGRES_URL"
# The suite simulates books over months of business days, as the demo does: it sets the
# business date explicitly (the tests of the bound itself set their own, see test_edge_*).
SIMULATED_TODAY = "2030-12-31"
os.environ["LEDGER_TODAY"] = SIMULATED_TODAY


def _postgres_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    if not url and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {POSTGRES_ENV} is not set: the PostgreSQL suite must run")
    return url


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
    if not base:
        pytest.skip(f"{POSTGRES_ENV} not set")
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
