"""The business date the book allows: no command and no close-of-business may be dated after
it (issue 10; rules document, "Business date").

Today is today in the business timezone, read from the one injectable clock
(:mod:`ledger.adapters.clock`). For simulations (the demo, tests, back-testing a book) it is set
explicitly: ``$LEDGER_TODAY=YYYY-MM-DD`` or the command line's ``--today``. A date after it
is refused with one line that names the allowed range, before anything is computed or
written, so a typo (2036 for 2026) cannot run ten years of accruals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledger.adapters.clock import Clock, SystemClock
from ledger.domain.errors import InvalidInput, OutOfBusinessDay
from ledger.services.parsing import date_text

DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class BusinessToday:
    """Which day is today for the book, and where that came from."""

    day: date
    source: str  # "--today", "LEDGER_TODAY" or "clock (<timezone>)"

    def as_dict(self) -> dict[str, str]:
        return {"business_today": self.day.isoformat(), "source": self.source}


class BusinessDate:
    """Answers :meth:`today` afresh at each call (a server runs past midnight), unless a
    fixed day was set (``--today`` or ``$LEDGER_TODAY``)."""

    def __init__(
        self,
        *,
        fixed: BusinessToday | None = None,
        timezone: str = DEFAULT_TIMEZONE,
        clock: Clock | None = None,
    ) -> None:
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"timezone: unknown timezone {timezone!r}") from None
        self.timezone = timezone
        self.fixed = fixed
        self.clock = clock or SystemClock()

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], *, today: str | None = None, clock: Clock | None = None
    ) -> BusinessDate:
        """``today`` (the ``--today`` option) wins over ``$LEDGER_TODAY``, which wins over
        the clock in ``$LEDGER_TIMEZONE``."""
        fixed = None
        if today is not None:
            fixed = BusinessToday(date_text(today, "--today"), "--today")
        elif env.get("LEDGER_TODAY"):
            fixed = BusinessToday(date_text(env["LEDGER_TODAY"], "LEDGER_TODAY"), "LEDGER_TODAY")
        return cls(fixed=fixed, timezone=env.get("LEDGER_TIMEZONE", DEFAULT_TIMEZONE), clock=clock)

    def today(self) -> BusinessToday:
        if self.fixed is not None:
            return self.fixed
        now = self.clock.now().astimezone(self.zone).date()
        return BusinessToday(now, f"clock ({self.timezone})")

    def check(self, day: date, what: str, earliest: date | None = None) -> date:
        """``day`` itself, or :class:`OutOfBusinessDay` when it is after today."""
        today = self.today()
        if day > today.day:
            allowed = f"{earliest} to {today.day}" if earliest else f"up to {today.day}"
            raise OutOfBusinessDay(
                f"{what} {day} is after the business date {today.day} ({today.source}); "
                f"allowed: {allowed}"
            )
        return day
