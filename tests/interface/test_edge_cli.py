"""The edge of the ledger on the command line (issue 10), on SQLite and PostgreSQL.

Every refusal is one line on stderr that starts ``error:``, nothing on stdout, no traceback,
a non-zero exit status, and not one event written. The business date is set explicitly here
(``LEDGER_TODAY`` or ``--today`` = 2026-03-01), except where the clock is the point.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from ledger.bootstrap import run
from ledger.domain.account import account_id_for
from ledger.domain.calendar import BusinessCalendar, calendar_id_for
from ledger.domain.loan import Loan
from ledger.services.application import LedgerApp, loan_id_for
from ledger.services.products import terms_from_input
from tests.conftest import Ledger, Result

TODAY = "2026-03-01"
OPEN = [
    "loan", "open", "--product", "repay_on_schedule", "--principal", "12000.00",
    "--term", "12", "--daily-rate", "0.0005",
]  # fmt: skip
DISBURSED = "2026-01-15"
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/nope"


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> str:
    """The business date in force for the test: 2026-03-01 (``$LEDGER_TODAY``)."""
    monkeypatch.setenv("LEDGER_TODAY", TODAY)
    return TODAY


@pytest.fixture
def book(ledger: Ledger, today: str) -> Ledger:
    """Loan L1, disbursed 2026-01-15, its linked account empty (so something is due)."""
    ledger.ok(*OPEN, "--disbursed-on", DISBURSED, "--loan-id", "L1")
    ledger.ok("bank", "set-balance", "L1", "0")
    return ledger


def assert_one_line_error(result: Result) -> str:
    """A refusal as the CLI must show it: exit non-zero, one ``error:`` line, no trace."""
    assert result.code != 0, result.out
    assert result.out == ""
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    assert result.err.endswith("\n") and result.err.count("\n") == 1, result.err
    assert result.err.startswith("error: "), result.err
    return result.err.strip()


def assert_refused(ledger: Ledger, args: list[str], *needles: str) -> str:
    """``args`` is refused on one line naming each of ``needles``; no event is written."""
    before = ledger.event_count()
    line = assert_one_line_error(ledger(*args))
    for needle in needles:
        assert needle in line, line
    assert ledger.event_count() == before
    return line


def assert_the_book_still_works(ledger: Ledger) -> None:
    """Close-of-business and status still run after a refusal."""
    closed = ledger.ok("close-day", "--through", "2026-01-17")
    assert closed["last_closed"] == "2026-01-17"
    status = ledger("status", "--json")
    assert status.code == 0, status.err
    assert "Traceback" not in status.err


# --------------------------------------------------------------------------- the business date


def test_a_repayment_dated_ten_years_ahead_is_refused_naming_the_allowed_range(
    book: Ledger,
) -> None:
    line = assert_refused(
        book, ["loan", "repay", "L1", "10.00", "--on", "2036-01-15"], "2036-01-15", TODAY
    )
    assert "allowed" in line and "LEDGER_TODAY" in line
    assert book.ok("loan", "show", "L1")["as_of"] <= TODAY


def test_closing_the_book_past_the_business_date_is_refused_naming_the_allowed_range(
    book: Ledger,
) -> None:
    for through in ("2030-01-01", "9999-12-31", "2026-03-02"):
        line = assert_refused(book, ["close-day", "--through", through], through)
        assert " to " in line or "up to" in line, line
    # the book was not moved: a loan can still be opened in 2026
    book.ok(*OPEN, "--disbursed-on", "2026-02-01", "--loan-id", "L2")


def test_a_loan_disbursed_after_the_business_date_is_refused(book: Ledger) -> None:
    assert_refused(
        book,
        [*OPEN, "--disbursed-on", "2026-03-02", "--loan-id", "L2"],
        "2026-03-02",
        TODAY,
        "allowed",
    )


def test_a_date_equal_to_the_business_date_is_accepted(ledger: Ledger, today: str) -> None:
    ledger.ok(*OPEN, "--disbursed-on", "2026-02-26", "--loan-id", "L0")
    ledger.ok(*OPEN, "--disbursed-on", TODAY, "--loan-id", "L2")
    paid = ledger.ok("loan", "prepay", "L0", "--on", TODAY, "--amount", "100.00")
    assert paid["on"] == TODAY
    assert ledger.ok("close-day", "--through", TODAY)["last_closed"] == TODAY
    assert_refused(ledger, ["close-day", "--through", "2026-03-02"], "2026-03-02", TODAY)


def test_the_today_option_sets_the_business_date_and_wins_over_the_environment(
    book: Ledger,
) -> None:
    line = assert_refused(
        book,
        ["--today", "2026-02-10", "loan", "repay", "L1", "10.00", "--on", "2026-02-16"],
        "2026-02-16",
        "2026-02-10",
    )
    assert "--today" in line
    done = book("--today", "2026-02-16", "loan", "repay", "L1", "10.00", "--on", "2026-02-16")
    assert done.code == 0, done.err


def test_a_business_date_that_is_not_a_date_is_one_line(
    book: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = book.event_count()
    for bad in ("2026-02-30", "20260301", "tomorrow", "0001-01-01", ""):
        refused = book("--today", bad, "close-day", "--through", "2026-02-01")
        assert "--today" in assert_one_line_error(refused), bad
        if bad:
            monkeypatch.setenv("LEDGER_TODAY", bad)
            refused = book("close-day", "--through", "2026-02-01")
            assert "LEDGER_TODAY" in assert_one_line_error(refused), bad
            monkeypatch.setenv("LEDGER_TODAY", TODAY)
    assert book.event_count() == before


def test_without_ledger_today_the_clock_decides(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEDGER_TODAY")
    line = assert_refused(ledger, [*OPEN, "--disbursed-on", "2999-12-31"], "2999-12-31")
    assert "clock (" in line
    assert ledger.ok(*OPEN, "--disbursed-on", "2020-01-02", "--loan-id", "PAST")["loan_id"]


def test_status_shows_which_business_date_is_in_force_and_where_it_came_from(
    book: Ledger,
) -> None:
    status = book.ok("status")
    assert status["business_today"] == TODAY
    assert status.get("business_date") == {"business_today": TODAY, "source": "LEDGER_TODAY"}
    chosen = book("--today", "2026-02-20", "status", "--json")
    assert chosen.code == 0, chosen.err
    assert chosen.json["business_today"] == "2026-02-20"
    assert chosen.json.get("business_date") == {
        "business_today": "2026-02-20",
        "source": "--today",
    }


# --------------------------------------------------------------------------- money and dates

FULL_WIDTH_10 = "\uff11\uff10"  # the full-width digits of "10"
ARABIC_INDIC_10 = "\u0661\u0660"
LOOSE_AMOUNTS = [
    "1,50",
    FULL_WIDTH_10,
    "1e3",
    "1,000.00",
    " 12.34",
    "12.34 ",
    "+5",
    ARABIC_INDIC_10,
]
LOOSE_DATES = ["20260301", "2026-W10-1", "2026-02-30", "0001-01-01", "2026-3-1", " 2026-02-16"]


def test_money_written_loosely_is_refused_as_a_repayment_and_as_a_principal(book: Ledger) -> None:
    before = book.event_count()
    for amount in LOOSE_AMOUNTS:
        repaid = book("loan", "repay", "L1", amount, "--on", "2026-02-16")
        assert "amount" in assert_one_line_error(repaid), amount
        opened = book(*OPEN, "--disbursed-on", DISBURSED, "--principal", amount, "--loan-id", "L2")
        assert "--principal" in assert_one_line_error(opened), amount
    assert book.event_count() == before


def test_a_date_written_loosely_is_refused_by_repay_open_and_close_day(book: Ledger) -> None:
    before = book.event_count()
    for day in LOOSE_DATES:
        repaid = book("loan", "repay", "L1", "10.00", "--on", day)
        assert "--on" in assert_one_line_error(repaid), day
        opened = book(*OPEN, "--disbursed-on", day, "--loan-id", "L2")
        assert "--disbursed-on" in assert_one_line_error(opened), day
        closed = book("close-day", "--through", day)
        assert "--through" in assert_one_line_error(closed), day
    assert book.event_count() == before


def test_money_written_strictly_is_recorded_exactly(book: Ledger) -> None:
    paid = book.ok("loan", "repay", "L1", "1.5", "--on", "2026-02-16")
    assert paid["amount"] == "1.50"
    [repaid] = [e for e in book.ok("loan", "events", "L1") if e["type"] == "Repaid"]
    assert Decimal(repaid["data"]["amount"]) == Decimal("1.50")


def test_a_daily_rate_too_small_to_be_meant_is_refused_on_open_and_what_if(book: Ledger) -> None:
    before = book.event_count()
    for rate in ("1e-30", "0.000000000000000000000000000001", "0.0000000001", "0"):
        args = [*OPEN, "--disbursed-on", DISBURSED, "--loan-id", "L2"]
        args[args.index("--daily-rate") + 1] = rate
        assert "daily" in assert_one_line_error(book(*args)), rate
        asked = book("audit", "what-if", "L1", "--set", f"daily_rate={rate}")
        assert "daily_rate" in assert_one_line_error(asked), rate
    assert book.event_count() == before


# --------------------------------------------------------------------------- identifiers


def _internal_ids() -> dict[str, str]:
    return {
        "calendar": str(calendar_id_for(0, 1)),
        "calendar, upper case": str(calendar_id_for(0, 1)).upper(),
        "calendar, without hyphens": calendar_id_for(0, 1).hex,
        "account of L1": str(account_id_for(loan_id_for("L1"))),
        "a UUID": "123e4567-e89b-12d3-a456-426614174000",
    }


BAD_IDS = {
    "blank": "",
    "spaces": "   ",
    "multi-line": "L9\nL10",
    "5 MB": "L" * 5_000_000,
    "non-ASCII": "贷款9",
    "full-width": "\uff2c9",
    "leading dash": "-L9",
    "65 characters": "L" * 65,
    "HTML": "<b>L9</b>",
}


def test_a_loan_id_that_could_collide_or_is_malformed_is_refused_and_the_book_still_works(
    book: Ledger,
) -> None:
    before = book.event_count()
    for which, loan_id in {**_internal_ids(), **BAD_IDS}.items():
        opened = book(*OPEN, "--disbursed-on", DISBURSED, "--loan-id", loan_id)
        assert "--loan-id" in assert_one_line_error(opened), which
    assert book.event_count() == before
    assert_the_book_still_works(book)


def test_an_internal_id_named_as_a_loan_is_an_unknown_loan(book: Ledger) -> None:
    book.ok("close-day", "--through", "2026-01-16")
    before = book.event_count()
    for which in ("calendar", "account of L1"):
        internal = _internal_ids()[which]
        for args in (["loan", "show"], ["loan", "events"], ["audit", "verify"]):
            assert "unknown loan" in assert_one_line_error(book(*args, internal)), (which, args)
        repaid = book("loan", "repay", internal, "1.00", "--on", "2026-02-16")
        assert "unknown loan" in assert_one_line_error(repaid), which
    assert book.event_count() == before
    assert_the_book_still_works(book)


def test_a_malformed_loan_reference_is_refused_by_every_reader(book: Ledger) -> None:
    for which in ("blank", "multi-line", "5 MB", "non-ASCII", "HTML"):
        for args in (
            ["loan", "show"],
            ["loan", "schedule"],
            ["loan", "events"],
            ["audit", "verify"],
        ):
            line = assert_one_line_error(book(*args, BAD_IDS[which]))
            assert "loan id" in line, (which, args)


# --------------------------------------------------------------------------- the dispute report

SCRIPT = "<script>alert('x')</script>"


def test_the_markdown_report_escapes_a_reason_written_as_html(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_FOUR_EYES_BELOW", "1.00")  # 0.01 is waived without a second person
    ledger.ok(*OPEN, "--disbursed-on", DISBURSED, "--loan-id", "L1")
    ledger.ok("bank", "set-balance", "L1", "0")
    waived = ledger.ok(
        "loan", "waive", "L1", "--penalty", "0.01", "--on", "2026-02-17",
        "--reason", SCRIPT, "--actor", "<b>eve</b>",
    )  # fmt: skip
    assert waived["reason"] == SCRIPT
    md = ledger("audit", "report", "L1", "--format", "md")
    assert md.code == 0, md.err
    assert "&lt;script&gt;" in md.out
    assert "<script" not in md.out and "<b>" not in md.out
    page = ledger("audit", "report", "L1", "--format", "html")
    assert page.code == 0, page.err
    assert "&lt;script&gt;" in page.out and "<script" not in page.out


def test_the_report_refuses_to_overwrite_a_file_unless_forced(book: Ledger, tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("keep me")
    assert_refused(book, ["audit", "report", "L1", "--out", str(target)], "--force")
    assert target.read_text() == "keep me"
    forced = book("audit", "report", "L1", "--out", str(target), "--force")
    assert forced.code == 0, forced.err
    assert target.read_text().startswith("# ")


def test_the_report_refuses_to_write_through_a_symbolic_link(book: Ledger, tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("precious")
    link = tmp_path / "report.md"
    link.symlink_to(precious)
    dangling = tmp_path / "dangling.md"
    dangling.symlink_to(tmp_path / "created-through-the-link.txt")
    for extra in ([], ["--force"]):
        refused = book("audit", "report", "L1", "--out", str(link), *extra)
        assert "symbolic link" in assert_one_line_error(refused), extra
        refused = book("audit", "report", "L1", "--out", str(dangling), *extra)
        assert "symbolic link" in assert_one_line_error(refused), extra
    assert precious.read_text() == "precious"
    assert not (tmp_path / "created-through-the-link.txt").exists()


# --------------------------------------------------------------------------- the store


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["loan", "show", "L1"],
        ["loan", "repay", "L1", "1.00", "--on", "2026-02-16"],
        ["close-day", "--through", "2026-02-01"],
        [*OPEN, "--disbursed-on", DISBURSED],
    ],
)
def test_an_unreachable_database_is_one_line_with_exit_status_3(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code = run(["--db", UNREACHABLE, *args])
    captured = capsys.readouterr()
    line = assert_one_line_error(Result(code, captured.out, captured.err))
    assert code == 3
    assert "database" in line


# --------------------------------------------------------------------------- concurrent writers


LOANS = 6  # in three batches of two
THROUGH = date(2026, 1, 31)


def _open_book(app: LedgerApp, count: int) -> None:
    for i in range(count):
        terms = terms_from_input(
            product="repay_on_schedule",
            principal=f"{1000 + 37 * i}.00",
            term=3,
            disbursed_on=date(2026, 1, 15),
            daily_rate="0.0005",
        )
        app.open_loan(terms, f"C{i:02}")
        app.set_balance(f"C{i:02}", Decimal(0))


def _per_loan_day(app: LedgerApp, *kinds: type[Any]) -> Counter[tuple[UUID, date]]:
    topics = [get_topic(kind) for kind in kinds]
    counts: Counter[tuple[UUID, date]] = Counter()
    for n in app.recorder.select_notifications(start=None, limit=10**9, topics=topics):
        event = app.mapper.to_domain_event(n)
        assert isinstance(n.originator_id, UUID)
        counts[(n.originator_id, event.on)] += 1  # type: ignore[attr-defined]
    return counts


def _days_closed(app: LedgerApp) -> list[date]:
    topic = get_topic(BusinessCalendar.DayClosed)
    notifications = app.recorder.select_notifications(start=None, limit=10**9, topics=[topic])
    return [app.mapper.to_domain_event(n).on for n in notifications]  # type: ignore[attr-defined]


def _assert_no_duplicate_effects(app: LedgerApp, through: date) -> None:
    assert set(_per_loan_day(app, Loan.InterestAccrued).values()) == {1}
    morning = _per_loan_day(app, Loan.InstallmentDeducted, Loan.DeductionFailed)
    assert max(morning.values(), default=1) == 1
    days = _days_closed(app)
    assert len(days) == len(set(days)), "a business day was closed twice"
    calendar = app.find_calendar()
    assert calendar is not None and calendar.last_closed == through
    for i in range(LOANS):
        assert app.get_loan(f"C{i:02}").closed_through == through


def test_two_close_of_business_passes_at_once_both_finish_and_close_each_day_once(
    db_url: str, today: str
) -> None:
    first = LedgerApp.from_url(db_url, batch_size=2)
    second = LedgerApp.from_url(db_url, batch_size=2)
    try:
        _open_book(first, LOANS)
        through = THROUGH
        start = threading.Barrier(2)
        errors: list[BaseException] = []
        reports: list[Any] = []

        def close(app: LedgerApp) -> None:
            start.wait()
            try:
                reports.append(app.close_days(through))
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=close, args=(a,)) for a in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        assert len(reports) == 2 and all(r.failures == [] for r in reports)
        assert all(r.last_closed == through for r in reports)
        _assert_no_duplicate_effects(first, through)
    finally:
        first.close()
        second.close()


def test_a_close_of_business_pass_that_falls_behind_another_takes_its_calendar_and_finishes(
    db_url: str, today: str
) -> None:
    """Deterministic: the pass behind has run part of its first day when the other pass
    closes every day; it must take the winner's calendar and finish, not fail."""
    ahead = LedgerApp.from_url(db_url, batch_size=2)
    behind = LedgerApp.from_url(db_url, batch_size=2)
    try:
        _open_book(ahead, LOANS)
        through = THROUGH
        outcome: dict[str, Any] = {}
        paused, ahead_done = threading.Event(), threading.Event()

        def wait_for_the_other_pass(key: str, done: int, total: int) -> None:
            if not paused.is_set():
                paused.set()
                ahead_done.wait(60)

        def run(name: str, app: LedgerApp, **options: Any) -> None:
            try:
                outcome[name] = app.close_days(through, **options)
            except BaseException as error:
                outcome[name] = error
            finally:
                if name == "ahead":
                    ahead_done.set()

        slow = threading.Thread(
            target=run, args=("behind", behind), kwargs={"progress": wait_for_the_other_pass}
        )
        slow.start()
        assert paused.wait(60)
        run("ahead", ahead)
        slow.join(60)
        for name in ("ahead", "behind"):
            assert not isinstance(outcome[name], BaseException), (name, outcome[name])
            assert outcome[name].failures == [] and outcome[name].last_closed == through
        _assert_no_duplicate_effects(ahead, through)
    finally:
        ahead.close()
        behind.close()


def test_close_day_on_the_command_line_meeting_another_pass_retries_and_succeeds(
    ledger: Ledger, db_url: str, today: str
) -> None:
    worker = LedgerApp.from_url(db_url, batch_size=2)
    try:
        _open_book(worker, LOANS)
        through = THROUGH
        errors: list[BaseException] = []

        def close() -> None:
            try:
                report = worker.close_days(through)
                assert report.failures == [], report.failures
            except BaseException as error:
                errors.append(error)

        thread = threading.Thread(target=close)
        thread.start()
        result = ledger("close-day", "--through", through.isoformat(), "--json")
        thread.join(120)
        assert result.code == 0, result.err
        assert "Traceback" not in result.err
        assert result.json["last_closed"] == through.isoformat()
        assert errors == []
        _assert_no_duplicate_effects(worker, through)
    finally:
        worker.close()
