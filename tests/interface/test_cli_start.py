"""``ledger loan show`` starts without the heavy packages only other commands use (issue 18,
item 4: the CLI's start time). Structural, not timed: a fresh interpreter runs
``ledger loan show`` (its ``--help``, and a real read of a SQLite store) and then lists what
it imported. ``ops/bench/cli_start.py`` measures the time itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.bootstrap import run

ROOT = Path(__file__).resolve().parents[2]
# Loaded only by the commands that use them: the worker's scheduler, the HTTP API and its
# server, the product models (pydantic), the journal checker, the PostgreSQL driver (a
# SQLite store never needs it), the exports and the projections' verify.
NOT_FOR_LOAN_SHOW = (
    "apscheduler",
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "beancount",
    "psycopg",
    "api",
    "scheduler",
    "ledger.read.exports",
    "ledger.services.products",
    "projections.verify",
)

PROBE = """
import json, sys
from ledger.bootstrap import run
status = run(sys.argv[1:])
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""


def imported_by(*argv: str, env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return found["status"], set(found["modules"])


def heavy(modules: set[str]) -> list[str]:
    return sorted(
        m for m in modules if any(m == h or m.startswith(h + ".") for h in NOT_FOR_LOAN_SHOW)
    )


def test_loan_show_help_imports_none_of_the_heavy_packages() -> None:
    status, modules = imported_by("loan", "show", "--help")
    assert status == 0
    assert heavy(modules) == []


def test_a_real_loan_show_on_sqlite_imports_none_of_the_heavy_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_TODAY", "2026-03-01")
    db = f"sqlite:///{tmp_path / 'start.db'}"
    terms = "--product repay_on_schedule --principal 1200.00 --term 12 --daily-rate 0.0005"
    opened = ["loan", "open", *terms.split(), "--disbursed-on", "2026-01-15", "--loan-id", "S-1"]
    assert run(["--db", db, *opened]) == 0
    assert run(["--db", db, "close-day", "--through", "2026-02-20"]) == 0
    status, modules = imported_by("--db", db, "loan", "show", "S-1", env=dict(os.environ))
    assert status == 0
    assert "projections.balances" in modules  # it did read the balances projection
    assert heavy(modules) == []


def test_the_full_command_tree_still_loads_on_demand() -> None:
    """``ledger --help`` lists every command: each lazily registered one is importable."""
    status, modules = imported_by("--help")
    assert status == 0
    assert {"ledger.cli.worker", "ledger.cli.exports", "ledger.cli.api"} <= modules
    assert "ledger.cli.loan_show" not in modules  # a group's own commands: when it is called
