"""The one strict reader of what people type: money, dates, timestamps, whole numbers,
booleans, identifiers and free text. The command line and the HTTP API both use it, so a
value means the same thing whichever way it comes in.

Each reader returns an exact value or raises :class:`~ledger.domain.errors.InvalidInput`
with one line that names the field and the accepted form. Nothing is guessed:

- money: ``-?digits[.d[d]]``, ASCII digits only: no thousands separators (``1,50`` is not
  150.00), no exponent (``1e3``), no other digit sets (full-width digits), no spaces;
- dates: ISO ``YYYY-MM-DD`` only (not ``20260301``, not ``2026-W10-1``), between
  :data:`EARLIEST_DATE` and :data:`LATEST_DATE`; how far ahead a command may be dated is the
  business date's job (:mod:`ledger.services.business_date`);
- timestamps: ISO 8601 with an offset (``2026-11-23T08:30:00+08:00`` or ``...Z``); one
  without an offset is read in the business timezone (documented in the README);
- whole numbers and booleans: the literal forms only (``12``, ``true``/``false``);
- identifiers: 1 to 64 ASCII letters, digits, ``.``, ``_`` and ``-``, starting with a letter
  or a digit, and never a UUID (see :func:`loan_reference`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from decimal import Decimal
from uuid import UUID

from ledger.domain.errors import InvalidInput
from ledger.domain.money import to_decimal

EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2999, 12, 31)
MAX_IDENTIFIER = 64
MAX_TEXT = 500  # a reason, an actor's name
MAX_MONEY_DIGITS = 12  # before the point: up to 999,999,999,999.99

MONEY_FORM = re.compile(rf"-?[0-9]{{1,{MAX_MONEY_DIGITS}}}(\.[0-9]{{1,2}})?")
DATE_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TIMESTAMP_FORM = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
INTEGER_FORM = re.compile(r"-?[0-9]{1,9}")
IDENTIFIER_FORM = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_IDENTIFIER - 1}}}")
UUID_FORM = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _shown(value: object) -> str:
    """The value as it appears in an error: quoted, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def money_text(value: str, what: str = "amount", *, positive: bool = False) -> Decimal:
    """An amount typed as text: ``-?digits[.dd]`` (fen at most), ASCII only."""
    if not isinstance(value, str) or MONEY_FORM.fullmatch(value) is None:
        raise InvalidInput(
            f"{what}: {_shown(value)} is not an amount (expected digits with at most two "
            "decimals, e.g. 1500.00; no separators, exponents or spaces)"
        )
    amount = Decimal(value).quantize(Decimal("0.01"))
    if positive and amount <= 0:
        raise InvalidInput(f"{what}: must be positive (more than 0.00), got {value}")
    return amount


def decimal_text(value: str, what: str, *, places: int = 10) -> Decimal:
    """A rate or a multiplier typed as text: ``digits[.digits]`` with at most ``places``
    decimals, ASCII only. Its bounds are the caller's (:mod:`ledger.services.products`)."""
    try:
        number = to_decimal(value, what)
    except (TypeError, ValueError) as error:
        raise InvalidInput(str(error)) from None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise InvalidInput(f"{what}: {_shown(value)} has more than {places} decimal places")
    return number


def date_text(value: str, what: str = "date") -> date:
    """An ISO date ``YYYY-MM-DD`` between :data:`EARLIEST_DATE` and :data:`LATEST_DATE`."""
    if not isinstance(value, str) or DATE_FORM.fullmatch(value) is None:
        raise InvalidInput(f"{what}: {_shown(value)} is not a date (expected YYYY-MM-DD)")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what}: {value!r} is not a date (no such day)") from None
    return date_in_range(day, what)


def date_in_range(day: date, what: str = "date") -> date:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise InvalidInput(
            f"{what}: {day} is outside the dates the ledger keeps "
            f"({EARLIEST_DATE} to {LATEST_DATE})"
        )
    return day


def timestamp_text(value: str, what: str, zone: tzinfo) -> datetime:
    """An ISO timestamp; without an offset it is read in the business timezone ``zone``."""
    if not isinstance(value, str) or TIMESTAMP_FORM.fullmatch(value) is None:
        raise InvalidInput(
            f"{what}: {_shown(value)} is not a timestamp (expected e.g. 2026-11-23T08:30:00+08:00)"
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what}: {value!r} is not a timestamp (no such time)") from None
    return aware(moment, zone, what)


def aware(moment: datetime, zone: tzinfo, what: str = "timestamp") -> datetime:
    """``moment`` with a timezone: a naive one is read in ``zone``."""
    date_in_range(moment.date(), what)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def integer_text(value: str, what: str, *, low: int, high: int) -> int:
    """A whole number typed as ASCII digits, between ``low`` and ``high``."""
    if not isinstance(value, str) or INTEGER_FORM.fullmatch(value) is None:
        raise InvalidInput(f"{what}: {_shown(value)} is not a whole number")
    return integer_in_range(int(value), what, low=low, high=high)


def integer_in_range(number: int, what: str, *, low: int, high: int) -> int:
    if isinstance(number, bool) or not isinstance(number, int):
        raise InvalidInput(f"{what}: {_shown(number)} is not a whole number")
    if not low <= number <= high:
        raise InvalidInput(f"{what}: {number} is outside {low} to {high}")
    return number


def identifier(value: str, what: str = "loan id") -> str:
    """A new identifier: 1 to 64 of ``A-Z a-z 0-9 . _ -``, starting with a letter or digit,
    and not a UUID: UUIDs are the ledger's own names (loans opened without an id, and the
    internal aggregates, whose ids come from namespaces of their own), so a user id can never
    land on one of them."""
    if not isinstance(value, str) or IDENTIFIER_FORM.fullmatch(value) is None:
        raise InvalidInput(
            f"{what}: {_shown(value)} is not an identifier (1 to {MAX_IDENTIFIER} of "
            "A-Z a-z 0-9 . _ -, starting with a letter or a digit)"
        )
    if _is_uuid(value):
        raise InvalidInput(
            f"{what}: {value!r} is a UUID; UUIDs are the ledger's own ids (omit the id to "
            "get one), so choose a reference that is not a UUID"
        )
    return value


def loan_reference(value: str, what: str = "loan id") -> str:
    """A loan named by a reader: either a UUID in its canonical form or an identifier."""
    if isinstance(value, str) and UUID_FORM.fullmatch(value.lower()) is not None:
        return value.lower()
    return identifier(value, what)


def text(value: str, what: str, *, required: bool = True) -> str:
    """Free text (a reason, an actor): one line, at most :data:`MAX_TEXT` characters."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what}: {_shown(value)} is not text")
    if required and not value.strip():
        raise InvalidInput(f"{what}: must say something, got a blank")
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{what}: longer than {MAX_TEXT} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(f"{what}: must be one line without control characters")
    return value.strip()


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True
