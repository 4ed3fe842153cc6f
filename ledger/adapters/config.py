"""The one place where configuration is read from the environment."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from ledger.adapters.persistence import DEFAULT_DATABASE_URL
from ledger.domain.accounting import CHART, account_names
from ledger.domain.errors import LedgerError
from ledger.domain.money import money

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    batch_size: int = 1000
    timezone: str = "Asia/Shanghai"
    morning_at: str = "06:00"
    end_of_day_at: str = "00:05"
    catch_up_loan_days: int = 20_000  # ledger.services.catch_up.LOAN_DAYS_PER_BATCH
    resident_loans: int = 50_000  # ledger.services.resident.RESIDENT_LOANS

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        env = os.environ
        batch_size = _whole(env, "LEDGER_BATCH_SIZE", 1000)
        return cls(
            database_url=database_url or env.get("LEDGER_DATABASE_URL") or DEFAULT_DATABASE_URL,
            batch_size=batch_size,
            catch_up_loan_days=_whole(env, "LEDGER_CATCH_UP_LOAN_DAYS", cls.catch_up_loan_days),
            resident_loans=_whole(env, "LEDGER_RESIDENT_LOANS", cls.resident_loans, least=0),
            timezone=env.get("LEDGER_TIMEZONE", "Asia/Shanghai"),
            morning_at=env.get("LEDGER_MORNING_AT", "06:00"),
            end_of_day_at=env.get("LEDGER_END_OF_DAY_AT", "00:05"),
        )


def _whole(env: os._Environ[str], name: str, default: int, *, least: int = 1) -> int:
    """A setting that is a whole number of at least ``least``."""
    try:
        value = int(env.get(name, str(default)))
    except ValueError:
        raise LedgerError(f"{name} must be a whole number") from None
    if value < least:
        raise LedgerError(f"{name} must be at least {least}")
    return value


@dataclass(frozen=True)
class RateCaps:
    """Caps the dispute report compares a loan's annualised cost with: fixed annual rates
    (``$LEDGER_RATE_CAPS``, default ``0.24,0.36``) and a multiple of the loan prime rate
    (``$LEDGER_LPR``, default 0.0300: set it to the current one-year LPR; x4)."""

    fixed: tuple[Decimal, ...] = (Decimal("0.24"), Decimal("0.36"))
    lpr: Decimal = Decimal("0.0300")
    lpr_multiple: Decimal = Decimal("4")

    @classmethod
    def from_env(cls) -> RateCaps:
        env = os.environ
        try:
            fixed = tuple(
                Decimal(v.strip()) for v in env.get("LEDGER_RATE_CAPS", "0.24,0.36").split(",")
            )
            lpr = Decimal(env.get("LEDGER_LPR", "0.0300"))
        except (ArithmeticError, ValueError):
            raise LedgerError(
                "LEDGER_RATE_CAPS must be decimals separated by commas and LEDGER_LPR a decimal"
            ) from None
        if any(not 0 < v < 100 for v in (*fixed, lpr)):
            raise LedgerError("LEDGER_RATE_CAPS and LEDGER_LPR must be positive annual rates")
        return cls(fixed, lpr)

    def named(self) -> list[tuple[str, Decimal]]:
        caps = [(f"{(v * 100).normalize()} %", v) for v in self.fixed]
        lpr_pct = (self.lpr * 100).normalize()
        caps.append((f"{self.lpr_multiple} x LPR ({lpr_pct} %)", self.lpr * self.lpr_multiple))
        return caps


@dataclass(frozen=True)
class FourEyes:
    """Four-eyes approval (loan-rules §12.5): waivers, refunds, back-dated repayments and
    reversals need a second person with the approver role, unless the amount is under
    ``$LEDGER_FOUR_EYES_BELOW`` (an amount such as ``100.00``; unset: no amount is exempt)."""

    below: Decimal | None = None

    @classmethod
    def from_env(cls) -> FourEyes:
        text = os.environ.get("LEDGER_FOUR_EYES_BELOW", "").strip()
        if not text:
            return cls()
        try:
            threshold = money(text, "LEDGER_FOUR_EYES_BELOW")
        except (TypeError, ValueError) as error:
            raise LedgerError(str(error)) from None
        if threshold <= 0:
            raise LedgerError("LEDGER_FOUR_EYES_BELOW must be a positive amount such as 100.00")
        return cls(threshold)


@dataclass(frozen=True)
class NonAccrual:
    """Non-accrual (loan-rules §15): a loan at least ``$LEDGER_NON_ACCRUAL_AFTER_DAYS`` days
    past due at the end of a day (a whole number such as ``90``; unset: never) stops
    recognising its charges as income. The threshold is recorded in the loan's
    ``NonAccrualStarted``, so a replay never reads it from the environment."""

    after_days: int | None = None

    @classmethod
    def from_env(cls) -> NonAccrual:
        text = os.environ.get("LEDGER_NON_ACCRUAL_AFTER_DAYS", "").strip()
        if not text:
            return cls()
        if not re.fullmatch(r"[0-9]{1,5}", text) or int(text) < 1:
            raise LedgerError(
                f"LEDGER_NON_ACCRUAL_AFTER_DAYS must be a whole number of days past due from 1 "
                f"to 99999, such as 90, not {text[:20]!r}"
            )
        return cls(int(text))


def default_actor() -> str:
    """Who is asking, for the record of a correction: ``$LEDGER_ACTOR``, else the user."""
    import getpass

    actor = os.environ.get("LEDGER_ACTOR", "").strip()
    if actor:
        return actor
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "unknown"


def one_line(error: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


ACCOUNT_NAME = re.compile(r"(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z0-9][A-Za-z0-9-]*)+")


def chart_of_accounts() -> dict[str, str]:
    """The chart of accounts: every account key (:data:`ledger.domain.accounting.CHART`) with
    its name, the defaults overridden by ``$LEDGER_CHART_OF_ACCOUNTS``, the path of a JSON
    object ``{"key": "Assets:..."}``. A name must be a Beancount account name under the root
    the key needs (receivables and cash under ``Assets``, credit under ``Liabilities``, income
    under ``Income``, waivers under ``Expenses``); two keys may not share a name."""
    path = os.environ.get("LEDGER_CHART_OF_ACCOUNTS", "").strip()
    if not path:
        return account_names()
    try:
        with open(path, encoding="utf-8") as handle:
            given = json.load(handle)
    except (OSError, ValueError) as error:
        raise LedgerError(f"LEDGER_CHART_OF_ACCOUNTS: cannot read {path}: {error}") from None
    if not isinstance(given, dict):
        raise LedgerError("LEDGER_CHART_OF_ACCOUNTS: expected a JSON object of key: name")
    for key, name in given.items():
        if key not in CHART:
            raise LedgerError(f"LEDGER_CHART_OF_ACCOUNTS: unknown account key {key!r}")
        root = CHART[key][1]
        if not isinstance(name, str) or not ACCOUNT_NAME.fullmatch(name):
            raise LedgerError(f"LEDGER_CHART_OF_ACCOUNTS: {key}: {name!r} is not an account name")
        if name.split(":")[0] != root:
            raise LedgerError(f"LEDGER_CHART_OF_ACCOUNTS: {key}: {name} must be under {root}")
    names = account_names(given)
    if len(set(names.values())) != len(names):
        raise LedgerError("LEDGER_CHART_OF_ACCOUNTS: two account keys have the same name")
    return names
