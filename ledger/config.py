"""The one place where configuration is read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.domain.errors import LedgerError
from ledger.persistence import DEFAULT_DATABASE_URL

if TYPE_CHECKING:
    from ledger.application import LedgerApp


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    batch_size: int = 1000
    timezone: str = "Asia/Shanghai"
    morning_at: str = "06:00"
    end_of_day_at: str = "00:05"

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        env = os.environ
        try:
            batch_size = int(env.get("LEDGER_BATCH_SIZE", "1000"))
        except ValueError:
            raise LedgerError("LEDGER_BATCH_SIZE must be a whole number") from None
        if batch_size < 1:
            raise LedgerError("LEDGER_BATCH_SIZE must be at least 1")
        return cls(
            database_url=database_url or env.get("LEDGER_DATABASE_URL") or DEFAULT_DATABASE_URL,
            batch_size=batch_size,
            timezone=env.get("LEDGER_TIMEZONE", "Asia/Shanghai"),
            morning_at=env.get("LEDGER_MORNING_AT", "06:00"),
            end_of_day_at=env.get("LEDGER_END_OF_DAY_AT", "00:05"),
        )


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


def open_app(database_url: str | None = None) -> LedgerApp:
    """Build the application for the configured store."""
    from ledger.application import LedgerApp

    settings = Settings.from_env(database_url)
    return LedgerApp.from_url(settings.database_url, batch_size=settings.batch_size)
