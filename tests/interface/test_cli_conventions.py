"""What a newcomer expects of a command line (issue 13): ``--version`` and ``-h``."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest

from ledger.bootstrap import run


def test_version_prints_the_installed_version_of_the_ledger(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out == f"ledger {version('loan-ledger')}\n"


@pytest.mark.parametrize("args", [["-h"], ["loan", "-h"], ["loan", "open", "-h"]])
def test_dash_h_is_help_on_every_command(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(args) == 0
    assert capsys.readouterr().out.startswith(f"Usage: ledger {' '.join(args[:-1])}".rstrip())


@pytest.mark.parametrize(
    "args",
    [["loan", "show", "ALICE"], ["status"], ["audit", "verify", "--all"], ["portfolio"]],
)
def test_a_read_of_a_store_that_does_not_exist_is_one_line_and_creates_nothing(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.db"
    assert run(["--db", f"sqlite:///{missing}", *args]) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: no store at {missing}") and "\n" not in err
    assert not missing.exists()


def test_opening_a_loan_creates_the_store(tmp_path: Path) -> None:
    store = tmp_path / "new.db"
    opened = ["loan", "open", "--product", "borrow_and_return", "--principal", "100.00"]
    assert run(["--db", f"sqlite:///{store}", *opened, "--term", "1", "--disbursed-on",
                "2026-01-01", "--daily-rate", "0.0005"]) == 0  # fmt: skip
    assert store.exists()
