"""What a newcomer expects of a command line (issue 13): ``--version`` and ``-h``; help that
says what to type, explains the products and shows the environment; shell completion; tables
that never cut an amount off a terminal; one line for a database error; a worker log of plain
JSON lines; one progress bar over a close-of-business of many days."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from importlib.metadata import version
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from rich.console import Console

from ledger.bootstrap import Wiring, run
from ledger.cli.help_text import ENVIRONMENT, product_line
from ledger.cli.main import cli
from ledger.cli.progress import days_progress
from ledger.domain.terms import PRESETS
from ledger.services.application import LedgerApp
from tests.conftest import Ledger

ROOT = Path(__file__).resolve().parents[2]


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


OPEN = ["loan", "open", "--product", "borrow_and_return", "--principal", "100.00", "--term",
        "1", "--disbursed-on", "2026-01-01", "--daily-rate", "0.0005"]  # fmt: skip


def test_opening_a_loan_creates_the_store(tmp_path: Path) -> None:
    store = tmp_path / "new.db"
    assert run(["--db", f"sqlite:///{store}", *OPEN]) == 0
    assert store.exists()


# --------------------------------------------------------------------------- help


def commands(
    command: click.Command = cli, path: tuple[str, ...] = ("ledger",)
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command of the tree, with the words that call it."""
    yield path, command
    if isinstance(command, click.Group):  # lazy groups (ledger.cli.lazy) load them here
        ctx = click.Context(command, info_name=path[-1])
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"{' '.join(path)} {name}: not found"
            yield from commands(sub, (*path, name))


def parameters() -> Iterator[tuple[str, click.Command, click.Parameter, str]]:
    """Every option and argument of every command: who, the command, it, its metavar."""
    for path, command in commands():
        ctx = click.Context(command, info_name=path[-1])
        for param in command.params:
            yield " ".join(path), command, param, param.make_metavar(ctx)


def help_of(*words: str) -> str:
    """``ledger WORDS --help`` as printed, its whitespace folded to single spaces."""
    result = CliRunner().invoke(cli, [*words, "--help"], obj={"wiring": Wiring()})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


GENERIC = {"TEXT", "INTEGER", "FLOAT", "BOOLEAN", "UUID", "INTEGER RANGE", "FLOAT RANGE"}


def test_every_option_of_every_command_has_help_and_a_metavar_that_says_what_to_type() -> None:
    without_help = [
        f"{who} {param.opts[0]}"
        for who, _, param, _ in parameters()
        if isinstance(param, click.Option) and not param.help
    ]
    generic = [
        f"{who} {param.opts[0]}: {metavar}"
        for who, _, param, metavar in parameters()
        if not (isinstance(param, click.Option) and param.is_flag) and metavar in GENERIC
    ]
    assert without_help == [] and generic == []


def test_every_argument_is_named_in_the_help_of_its_command() -> None:
    unexplained = [
        f"{who} {param.name}"
        for who, command, param, _ in parameters()
        if isinstance(param, click.Argument) and str(param.name).upper() not in (command.help or "")
    ]
    assert unexplained == []


@pytest.mark.parametrize(
    ("words", "option", "metavar"),
    [
        ("loan open", "--principal", "AMOUNT"),
        ("loan open", "--disbursed-on", "DATE"),
        ("loan open", "--daily-rate", "RATE"),
        ("loan open", "--annual-rate", "RATE"),
        ("loan open", "--prepayment-fee-rate", "RATE"),
        ("loan open", "--loan-id", "LOAN_ID"),
        ("loan repay", "--on", "DATE"),
        ("loan repay", "amount", "AMOUNT"),
        ("loan show", "loan_id", "LOAN_ID"),
        ("loan show", "--as-of", "DATE"),
        ("loan show", "--known-at", "TIMESTAMP"),
        ("loan statement", "--month", "YYYY-MM"),
        ("loan statement", "loan_id", "LOAN_ID"),
        ("portfolio", "--as-of", "DATE"),
        ("worker", "--through", "DATE"),
        ("close-day", "--through", "DATE"),
        ("", "--today", "DATE"),
        ("", "--db", "URL"),
    ],
)
def test_amounts_dates_rates_months_and_loan_ids_are_shown_as_such(
    words: str, option: str, metavar: str
) -> None:
    who = " ".join(["ledger", *words.split()])
    found = {
        (param.opts[0] if isinstance(param, click.Option) else param.name): shown
        for name, _, param, shown in parameters()
        if name == who
    }
    assert found[option] == metavar


def test_loan_open_explains_every_product_from_its_definition() -> None:
    shown = help_of("loan", "open")
    for name, preset in PRESETS.items():
        line = f"{name} {product_line(preset)}"
        assert " ".join(line.split()) in shown
        assert preset.method.value in line
    assert "repay_on_schedule method equal_installment, prepayment fee 3 %" in shown
    for choice in ("ACT/365", "half_even", "interest_first"):
        assert shown.count(choice) >= 2, choice  # listed as a choice, then explained


def test_the_replan_choices_of_a_prepayment_are_explained() -> None:
    shown = help_of("loan", "prepay")
    assert "reduce_installment: same months, smaller installments" in shown
    assert "reduce_term: same installment, fewer months" in shown


def environment_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for package in ("ledger", "scheduler"):
        for path in (ROOT / package).rglob("*.py"):
            names.update(
                re.findall(
                    r"\b(?:LEDGER_[A-Z_]+[A-Z]|APPLICATION_RECORDER_TOPIC)\b", path.read_text()
                )
            )
    return names


def test_every_environment_variable_the_ledger_reads_is_shown_in_help() -> None:
    as_options = {
        str(param.envvar)
        for _, _, param, _ in parameters()
        if isinstance(param, click.Option) and param.envvar and param.show_envvar
    }
    top = help_of()
    listed = {name for name in environment_read_by_the_code() if name in top}
    assert environment_read_by_the_code() - as_options - listed == set()
    assert {"LEDGER_DATABASE_URL", "LEDGER_TODAY", "LEDGER_ACTOR", "LEDGER_LOG_LEVEL"} <= as_options
    assert {name for name, _ in ENVIRONMENT} <= listed
    assert "[env var: LEDGER_DATABASE_URL]" in help_of("loan", "show")
    assert "env var: LEDGER_LOG_LEVEL" in help_of("worker")


def test_the_group_db_option_wins_over_the_environment_given_to_a_command(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger.ok(*OPEN, "--loan-id", "L1")
    monkeypatch.setenv("LEDGER_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    assert ledger.ok("loan", "show", "L1")["loan_id"] == "L1"  # run() puts --db on the group
    assert not (tmp_path / "elsewhere.db").exists()


def test_shell_completion_is_in_help_and_prints_a_script() -> None:
    assert "_LEDGER_COMPLETE=bash_source ledger" in help_of()
    script = subprocess.run(
        [sys.executable, "-c", "from ledger.bootstrap import main; main()"],
        env={**os.environ, "_LEDGER_COMPLETE": "bash_source", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "_ledger_completion()" in script
    assert "complete -o nosort -F _ledger_completion ledger" in script


# --------------------------------------------------------------------------- output


def test_tables_print_every_amount_in_full_when_stdout_is_not_a_terminal(
    ledger: Ledger,
) -> None:
    big = ["loan", "open", "--product", "repay_on_schedule", "--principal", "99999999.99",
           "--term", "24", "--disbursed-on", "2026-01-15", "--daily-rate", "0.0005",
           "--loan-id", "BIG-0001"]  # fmt: skip
    ledger.ok(*big)
    ledger.ok("bank", "set-balance", "BIG-0001", "0")  # overdue: penalties, long arithmetic
    ledger.ok("close-day", "--through", "2026-05-01")
    shown: dict[str, str] = {}
    for words in (["loan", "explain"], ["loan", "events"], ["loan", "schedule"], ["portfolio"]):
        args = ["--db", ledger.db_url, *words, *(["BIG-0001"] if words[0] == "loan" else [])]
        result = CliRunner().invoke(cli, args, obj={"wiring": Wiring()}, env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        assert "…" not in result.output, words  # at 80 columns these tables were cut
        shown[words[-1]] = result.output
    explained = ledger.ok("loan", "explain", "BIG-0001")["figures"].values()
    lines = [line for figure in explained for line in figure.get("lines", [])]
    assert len(lines) > 100
    assert all(f" {line['amount']} " in shown["explain"] for line in lines)
    assert all(f" {line['event']} " in shown["explain"] for line in lines)
    book = ledger.ok("portfolio")
    assert (
        f"principal {book['principal_outstanding']}, overdue {book['overdue_amount']}\n"
        in (shown["portfolio"])
    )
    for row in ledger.ok("loan", "schedule", "BIG-0001"):
        assert all(f" {row[c]} " in shown["schedule"] for c in ("principal", "interest"))


# --------------------------------------------------------------------------- errors


def test_a_database_that_cannot_be_reached_is_one_line_with_exit_status_3(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["--db", "postgresql://nobody@127.0.0.1:1/none", "loan", "show", "X"]) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: database: ") and captured.err.count("\n") == 1


@pytest.mark.parametrize("damage", ["not a database", "pages overwritten"])
def test_a_corrupt_sqlite_file_is_one_line_with_exit_status_3(
    damage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "ledger.db"
    if damage == "not a database":
        store.write_bytes(b"these are not the pages of a SQLite database\n" * 200)
    else:
        assert run(["--db", f"sqlite:///{store}", *OPEN, "--loan-id", "L1"]) == 0
        data = bytearray(store.read_bytes())
        data[4096:] = bytes(len(data) - 4096)  # every page after the first zeroed
        store.write_bytes(bytes(data))
    capsys.readouterr()
    assert run(["--db", f"sqlite:///{store}", "loan", "show", "L1"]) == 3
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.startswith("error: database: ") and captured.err.count("\n") == 1


# --------------------------------------------------------------------------- worker and close-day


@pytest.fixture
def signals_kept() -> Iterator[None]:
    """The worker run in-process installs its SIGTERM and SIGINT handlers: put pytest's back."""
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in kept.items():
        signal.signal(sig, handler)


def test_the_worker_logs_plain_json_lines_with_level_logger_message_and_time(
    ledger: Ledger, signals_kept: None
) -> None:
    ledger.ok(*OPEN, "--loan-id", "L1")
    result = ledger("worker", "--through", "2026-01-05", "--json")
    assert result.code == 0, result.err
    lines = [json.loads(line) for line in result.err.splitlines()]
    passes = [line for line in lines if line.get("event") == "pass"]
    assert [line["date"] for line in passes] == [f"2026-01-0{d}" for d in range(1, 6)]
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
        assert line["level"] in ("debug", "info", "warning", "error")
    assert passes[0]["logger"] == "ledger.worker" and passes[0]["level"] == "info"
    assert json.loads(result.out)["last_closed"] == "2026-01-05"


def test_the_worker_log_level_is_an_option_and_an_environment_variable(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, signals_kept: None
) -> None:
    ledger.ok(*OPEN, "--loan-id", "L1")
    quiet = ledger("worker", "--through", "2026-01-03", "--log-level", "warning")
    assert quiet.code == 0 and quiet.err == ""
    monkeypatch.setenv("LEDGER_LOG_LEVEL", "error")
    assert ledger("worker", "--through", "2026-01-05").err == ""
    refused = ledger("worker", "--through", "2026-01-06", "--log-level", "loud")
    assert refused.code == 2 and refused.err.startswith("error: ")


def test_close_day_over_many_days_draws_one_bar_of_days_done_with_the_time_remaining(
    ledger: Ledger,
) -> None:
    ledger.ok(*OPEN, "--loan-id", "L1")
    through = date(2026, 1, 20)
    screen = Console(file=io.StringIO(), force_terminal=True, width=100)
    shown = days_progress(True, through, console=screen)
    app = LedgerApp.from_url(ledger.db_url)
    try:
        with shown as progress:
            report = app.close_days(through, progress=progress)
    finally:
        app.close()
    assert len(report.days) == 20
    assert shown.bar is not None and len(shown.bar.tasks) == 1
    task = shown.bar.tasks[0]
    assert task.total == 20 and task.completed == 20
    assert "business days 2026-01-01 to 2026-01-20" in task.description  # one span


def test_close_day_off_a_terminal_draws_no_bar_and_reports_loan_days_per_second(
    ledger: Ledger,
) -> None:
    ledger.ok(*OPEN, "--loan-id", "L1")
    result = ledger("close-day", "--through", "2026-01-10", "--json")
    assert result.code == 0 and result.err == ""
    report = result.json
    assert report["loan_days"] == 10 and "loan_days_per_second" in report
    assert "loans_per_second" not in report


def test_the_events_table_shows_every_money_event_with_its_amounts_and_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'e.db'}"
    opened = ["loan", "open", "--product", "repay_on_schedule", "--principal", "12000.00"]
    assert run(["--db", db, *opened, "--term", "12", "--disbursed-on", "2026-01-15",
                "--daily-rate", "0.0005", "--loan-id", "P-1"]) == 0  # fmt: skip
    assert run(["--db", db, "loan", "prepay", "P-1", "--on", "2026-01-20",
                "--amount", "2000.00"]) == 0  # fmt: skip
    capsys.readouterr()
    assert run(["--db", db, "loan", "events", "P-1"]) == 0
    table = capsys.readouterr().out
    prepaid = next(line for line in table.splitlines() if "Prepaid" in line)
    assert "2026-01-20" in prepaid
    assert "2000.00: principal 1912.62, interest 30.00, penalty 0.00, fee 57.38" in prepaid
    disbursed = next(line for line in table.splitlines() if "Disbursed" in line)
    assert "12000.00: principal 12000.00" in disbursed
