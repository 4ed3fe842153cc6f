"""The one strict reader (issue 10), fed random text: at the readers themselves, through the
command line and through the HTTP API, on SQLite and PostgreSQL.

The property everywhere: a refusal, or an exact value that round-trips (the canonical text
reads back to the same value). Never a 500, never a traceback, never an event from a refusal.
The oracles below are written from the documented forms, not from the reader's code:

- money: ``-?digits[.d[d]]``, ASCII digits only, at most 12 before the point;
- dates: ISO ``YYYY-MM-DD`` between 1970-01-01 and 2999-12-31;
- identifiers: 1 to 64 of ``A-Z a-z 0-9 . _ -`` starting with a letter or digit, never
  something that reads as a UUID (32 hex digits once hyphens are dropped).
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain.calendar import calendar_id_for
from ledger.domain.errors import InvalidInput
from ledger.domain.loan import Loan
from ledger.services import parsing
from ledger.services.application import LedgerApp, loan_id_for
from tests.conftest import Ledger
from tests.interface.test_edge_api import ALICE, TODAY, Api, assert_problem, serve

# --------------------------------------------------------------------------- strategies

UNICODE_DIGITS = st.characters(categories=["Nd"])  # Arabic-Indic, full-width, Devanagari ...
NUMBERISH = st.text(st.sampled_from("0123456789.,-+eE _'\u00a0") | UNICODE_DIGITS, max_size=20)
NEAR_MONEY = st.from_regex(r"\A[-+]?[0-9]{1,14}([.,][0-9]{0,3})?\Z")
UNICODE_MONEY = st.from_regex(r"\A-?\d{1,4}(\.\d{1,2})?\Z")  # \d: any digit set
DECIMAL_REPRS = st.decimals(allow_nan=True, allow_infinity=True).map(str)  # 1E+3, NaN
GROUPED = st.integers(0, 10**9).map(lambda n: f"{n:,}.00")  # 1,000.00
SMALL_MONEY = st.decimals(min_value=0, max_value=500, places=2).map(str)  # 12.30, 7.00, 0.01
AMOUNT_TEXT = st.one_of(
    st.text(max_size=30), NUMBERISH, NEAR_MONEY, UNICODE_MONEY, DECIMAL_REPRS, GROUPED, SMALL_MONEY
)

ISO_DATES = st.dates(min_value=date(1, 1, 1)).map(date.isoformat)
BOOK_DATES = st.dates(date(2026, 1, 1), date(2026, 3, 31)).map(date.isoformat)  # around today
NEAR_DATES = st.from_regex(r"\A[0-9]{4}-?[0-9]{1,2}-?[0-9]{1,2}\Z")
UNICODE_DATES = st.from_regex(r"\A\d{4}-\d{2}-\d{2}\Z")
WEEK_DATES = st.builds(
    lambda y, w, d: f"{y:04}-W{w:02}-{d}",
    st.integers(1970, 2100),
    st.integers(1, 53),
    st.integers(1, 7),
)
COMPACT_DATES = st.dates().map(lambda d: d.strftime("%Y%m%d"))
DATETIMES = st.datetimes().map(datetime.isoformat)
DATEISH = st.text(st.sampled_from("0123456789-WT:/ ") | UNICODE_DIGITS, max_size=14)
DATE_TEXT = st.one_of(
    st.text(max_size=20),
    ISO_DATES,
    BOOK_DATES,
    NEAR_DATES,
    UNICODE_DATES,
    WEEK_DATES,
    COMPACT_DATES,
    DATETIMES,
    DATEISH,
)

ID_CHARS = string.ascii_letters + string.digits + "._-"
NEAR_IDS = st.text(st.sampled_from(ID_CHARS), max_size=70)
UUID_SPELLINGS = st.uuids().flatmap(
    lambda u: st.sampled_from(
        [str(u), str(u).upper(), u.hex, f"{{{u}}}", f"urn:uuid:{u}", str(u).replace("-", "-" * 2)]
    )
)
INTERNAL_IDS = st.sampled_from(
    [str(calendar_id_for(p, n)) for n in (1, 2, 4) for p in range(n)]
    + [str(loan_id_for("ALICE")), str(uuid5(NAMESPACE_URL, "ledger:linked-account"))]
)
ID_UNICODE = st.text(st.characters(categories=["L", "Nd", "Zs", "Cc", "Pd", "Po"]), max_size=70)
ID_TEXT = st.one_of(st.text(max_size=70), NEAR_IDS, UUID_SPELLINGS, INTERNAL_IDS, ID_UNICODE)

# through a store, half the examples are near what the book accepts, so acceptance is tried too
STORE_AMOUNT_TEXT = st.one_of(AMOUNT_TEXT, SMALL_MONEY)
STORE_DATE_TEXT = st.one_of(DATE_TEXT, BOOK_DATES)

READERS = settings(max_examples=250, deadline=None)
THROUGH_A_STORE = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --------------------------------------------------------------------------- oracles

ASCII_DIGITS = set(string.digits)
HEX = set(string.hexdigits)


def canonical_money(text: str) -> str | None:
    """The canonical form of ``text`` if it is money (two decimals), else ``None``."""
    sign, body = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, point, cents = body.partition(".")
    if not whole or not set(whole) <= ASCII_DIGITS or len(whole) > 12:
        return None
    if point and (not cents or len(cents) > 2 or not set(cents) <= ASCII_DIGITS):
        return None
    return f"{sign}{int(whole)}.{cents.ljust(2, '0')}"


def canonical_date(text: str) -> date | None:
    """The day ``text`` names if it is ``YYYY-MM-DD`` in the ledger's range, else ``None``."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    if not set(text[:4] + text[5:7] + text[8:]) <= ASCII_DIGITS:
        return None
    try:
        day = date(int(text[:4]), int(text[5:7]), int(text[8:]))
    except ValueError:
        return None
    return day if date(1970, 1, 1) <= day <= date(2999, 12, 31) else None


def reads_as_uuid(text: str) -> bool:
    bare = text.replace("-", "")
    return len(bare) == 32 and set(bare) <= HEX


def is_identifier(text: str) -> bool:
    return (
        1 <= len(text) <= 64
        and set(text) <= set(ID_CHARS)
        and text[0] in string.ascii_letters + string.digits
        and not reads_as_uuid(text)
    )


def is_canonical_uuid(text: str) -> bool:
    parts = text.split("-")
    return (
        [len(p) for p in parts] == [8, 4, 4, 4, 12]
        and all(set(p) <= HEX for p in parts)
        and text.isascii()
    )


# --------------------------------------------------------------------------- the readers


@READERS
@given(AMOUNT_TEXT)
def test_money_text_is_refused_or_an_exact_amount_that_round_trips_and_keeps_its_sign(
    text: str,
) -> None:
    expected = canonical_money(text)
    try:
        amount = parsing.money_text(text)
    except InvalidInput as error:
        assert expected is None, f"{text!r} is money ({expected}) but was refused: {error}"
        assert "\n" not in str(error)
        return
    assert expected is not None, f"{text!r} is not money but was read as {amount}"
    assert str(amount) == expected
    assert amount == Decimal(text)  # exact: nothing rounded, nothing dropped
    assert parsing.money_text(str(amount)) == amount
    if amount > 0:
        assert parsing.money_text(text, positive=True) == amount
    else:
        with pytest.raises(InvalidInput, match="positive"):
            parsing.money_text(text, positive=True)


@READERS
@given(DATE_TEXT)
def test_date_text_is_refused_or_the_exact_day_that_round_trips(text: str) -> None:
    expected = canonical_date(text)
    try:
        day = parsing.date_text(text)
    except InvalidInput as error:
        assert expected is None, f"{text!r} is {expected} but was refused: {error}"
        assert "\n" not in str(error)
        return
    assert day == expected, f"{text!r} read as {day}"
    assert day.isoformat() == text


@READERS
@given(ID_TEXT)
def test_an_identifier_is_refused_or_itself_and_never_lands_on_an_internal_id(text: str) -> None:
    try:
        read = parsing.identifier(text)
    except InvalidInput as error:
        assert not is_identifier(text), f"{text!r} is an identifier but was refused: {error}"
        assert "\n" not in str(error)
        return
    assert is_identifier(text), f"{text!r} is not an identifier but was accepted"
    assert read == text
    assert loan_id_for(read) == uuid5(uuid5(NAMESPACE_URL, "ledger:loan"), read)
    assert loan_id_for(read) not in {calendar_id_for(p, n) for n in (1, 2, 4) for p in range(n)}


@READERS
@given(ID_TEXT)
def test_a_loan_reference_is_a_canonical_uuid_or_an_identifier(text: str) -> None:
    try:
        read = parsing.loan_reference(text)
    except InvalidInput:
        assert not is_identifier(text) and not is_canonical_uuid(text.lower())
        return
    if is_canonical_uuid(text.lower()):
        assert read == text.lower() == str(UUID(text))
    else:
        assert is_identifier(text) and read == text
    assert parsing.loan_reference(read) == read


@READERS
@given(st.one_of(st.text(max_size=40), DATETIMES, DATE_TEXT))
def test_a_timestamp_is_refused_or_an_aware_moment_that_round_trips(text: str) -> None:
    zone = ZoneInfo("Asia/Shanghai")
    try:
        moment = parsing.timestamp_text(text, "known_at", zone)
    except InvalidInput as error:
        assert "\n" not in str(error)
        return
    assert moment.tzinfo is not None
    assert text.isascii()
    assert parsing.timestamp_text(moment.isoformat(), "known_at", zone) == moment


# --------------------------------------------------------------------------- the command line


class Store:
    """One store for every example of a test: the CLI, and an app that counts events."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.app = LedgerApp.from_url(ledger.db_url)

    def events(self) -> int:
        return len(self.app.recorder.select_notifications(start=None, limit=10**9))

    def repaid(self) -> list[Decimal]:
        return [e.amount for e in self.app.loan_events("L1") if isinstance(e, Loan.Repaid)]


@pytest.fixture
def store(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """Loan L1 disbursed 2026-01-15, its linked account empty; today is 2026-03-01."""
    monkeypatch.setenv("LEDGER_TODAY", TODAY)
    ledger.ok(*CLI_OPEN, "--disbursed-on", "2026-01-15", "--loan-id", "L1")
    ledger.ok("bank", "set-balance", "L1", "0")
    kept = Store(ledger)
    yield kept
    kept.app.close()


CLI_OPEN = [
    "loan", "open", "--product", "repay_on_schedule", "--principal", "12000.00",
    "--term", "12", "--daily-rate", "0.0005",
]  # fmt: skip


def cli(store: Store, *args: str) -> tuple[Any, str | None]:
    """Run a command; the JSON it printed, or the one line of its refusal (checked)."""
    result = store.ledger(*args)
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    if result.code == 0:
        return result.json, None
    assert result.code == 2, (result.code, result.err)
    assert result.out == ""
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    return None, result.err.strip()


@THROUGH_A_STORE
@given(text=STORE_AMOUNT_TEXT)
def test_a_repayment_typed_on_the_command_line_is_refused_or_recorded_exactly(
    store: Store, text: str
) -> None:
    before, paid_before = store.events(), store.repaid()
    shown, refusal = cli(store, "loan", "repay", "--on", "2026-02-16", "--json", "--", "L1", text)
    expected = canonical_money(text)
    if refusal is not None:
        assert store.events() == before, f"{text!r} was refused but wrote events"
        if expected is None:
            assert "amount" in refusal, refusal
        return
    assert expected is not None and Decimal(expected) > 0, f"{text!r} was accepted"
    assert shown["amount"] == expected
    assert store.repaid() == [*paid_before, Decimal(expected)]


@THROUGH_A_STORE
@given(text=STORE_DATE_TEXT)
def test_a_date_typed_on_the_command_line_is_refused_or_the_exact_day(
    store: Store, text: str
) -> None:
    before = store.events()
    shown, refusal = cli(store, "loan", "repay", "--on", text, "--json", "--", "L1", "0.01")
    expected = canonical_date(text)
    if refusal is not None:
        assert store.events() == before, f"{text!r} was refused but wrote events"
        if expected is None:
            assert "--on" in refusal, refusal
        return
    assert expected is not None and expected <= date.fromisoformat(TODAY), text
    assert shown["on"] == text


@THROUGH_A_STORE
@given(text=ID_TEXT)
def test_a_loan_id_typed_on_the_command_line_is_refused_or_kept_exactly(
    store: Store, text: str
) -> None:
    before = store.events()
    args = [*CLI_OPEN, "--disbursed-on", "2026-02-01", "--json", "--loan-id", text]
    shown, refusal = cli(store, *args)
    if refusal is not None:
        assert store.events() == before, f"{text!r} was refused but wrote events"
        if is_identifier(text):
            assert "already exists" in refusal, refusal
        return
    assert is_identifier(text), f"{text!r} was accepted as a loan id"
    assert shown["loan_id"] == text
    assert store.app.get_loan(text).label == text


# --------------------------------------------------------------------------- HTTP


@pytest.fixture
def http(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """ALICE opened through the API, her linked account empty; today is 2026-03-01."""
    monkeypatch.setenv("LEDGER_TODAY", TODAY)
    app = LedgerApp.from_url(db_url)
    try:
        with serve(app) as api:
            api.open_alice()
            yield api
    finally:
        app.close()


def _alice_repaid(api: Api) -> list[Decimal]:
    return [e.amount for e in api.app.loan_events("ALICE") if isinstance(e, Loan.Repaid)]


def answered(api: Api, response: Any, before: int) -> Any:
    """The JSON of a 2xx answer; ``None`` for a 4xx problem (checked: nothing written)."""
    assert response.status_code < 500 or response.status_code == 503, response.text
    if response.status_code < 300:
        return response.json()
    assert_problem(response, 400, 404, 405, 409, 413, 422, 503)
    assert api.events() == before, "a refusal wrote events"
    return None


@THROUGH_A_STORE
@given(text=STORE_AMOUNT_TEXT)
def test_a_repayment_posted_over_http_is_refused_or_recorded_exactly(http: Api, text: str) -> None:
    before, paid_before = http.events(), _alice_repaid(http)
    response = http.post("/loans/ALICE/repayments", {"amount": text, "on": "2026-02-16"})
    shown = answered(http, response, before)
    expected = canonical_money(text)
    if shown is None:
        if expected is None:
            assert "amount" in response.json()["detail"]
        return
    assert expected is not None and Decimal(expected) > 0, f"{text!r} was accepted"
    assert response.status_code == 201 and shown["amount"] == expected
    assert _alice_repaid(http) == [*paid_before, Decimal(expected)]


@THROUGH_A_STORE
@given(text=STORE_DATE_TEXT)
def test_a_date_posted_over_http_is_refused_or_the_exact_day(http: Api, text: str) -> None:
    before = http.events()
    response = http.post("/loans/ALICE/repayments", {"amount": "0.01", "on": text})
    shown = answered(http, response, before)
    expected = canonical_date(text)
    if shown is None:
        if expected is None:
            assert "on" in response.json()["detail"]
        return
    assert expected is not None and expected <= date.fromisoformat(TODAY), text
    assert shown["on"] == text


@THROUGH_A_STORE
@given(text=ID_TEXT)
def test_a_loan_id_posted_or_in_a_path_is_refused_or_kept_exactly(http: Api, text: str) -> None:
    before = http.events()
    response = http.post("/loans", {**ALICE, "loan_id": text, "disbursed_on": "2026-02-01"})
    shown = answered(http, response, before)
    if shown is None:
        if is_identifier(text):
            assert "already exists" in response.json()["detail"]
    else:
        assert is_identifier(text), f"{text!r} was accepted as a loan id"
        assert shown["loan_id"] == text
    before = http.events()
    read = http.get(f"/loans/{quote(text, safe='')}")
    if read.status_code != 200:
        answered(http, read, before)
