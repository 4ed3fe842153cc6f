"""What the reading commands share (``loan show``, ``loan schedule``, the reports, the
exports): a projection caught up before it is read (or, with ``--stale-ok``, read as it is),
and ``--known-at``. Kept apart from the command groups so that ``ledger loan show`` imports
only what it reads (issue 18, item 4)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

import click

from ledger.cli.common import CliError
from ledger.cli.output import err
from ledger.domain.errors import InvalidInput, NotFound
from ledger.services import parsing
from ledger.services.store import loan_id_for

if TYPE_CHECKING:
    from ledger.services.application import LedgerApp
    from projections import Projections


def fresh(app: LedgerApp, name: str, *, stale_ok: bool = False) -> Projections:
    """The projections, with ``name`` caught up (or, with ``stale_ok``, its lag reported)."""
    from projections import Projections

    projections = Projections(app)
    if stale_ok:
        lag = projections.select([name])[0].lag()
        if lag:
            err.print(f"note: projection {name} is {lag} events behind the log", markup=False)
    else:
        projections.catch_up([name])
    return projections


def stale_ok_option(f: Any) -> Any:
    return click.option(
        "--stale-ok",
        is_flag=True,
        help="Read the projection as it is, without catching it up (its lag goes to stderr).",
    )(f)


def read_balance(app: LedgerApp, reference: str, *, stale_ok: bool = False) -> dict[str, Any]:
    """``ledger loan show`` from the balances projection."""
    from projections import balances as balances_view

    balances = fresh(app, "balances", stale_ok=stale_ok).balances
    row = balances.read(loan_id_for(reference))
    if row is None:
        raise NotFound(f"unknown loan {reference}")
    return balances_view.shown(row)


def read_schedule(
    app: LedgerApp, reference: str, *, stale_ok: bool = False
) -> list[dict[str, Any]]:
    from projections import schedule as schedule_view

    rows = fresh(app, "schedule", stale_ok=stale_ok).schedule.read(loan_id_for(reference))
    if not rows:
        raise NotFound(f"unknown loan {reference}")
    return [schedule_view.shown(r) for r in rows]


def parse_moment(value: str | None, zone: tzinfo) -> datetime | None:
    """``--known-at``: an ISO timestamp; without an offset it is read in the business
    timezone ``zone``."""
    if value is None:
        return None
    try:
        return parsing.timestamp_text(value, "--known-at", zone)
    except InvalidInput as error:
        raise CliError(str(error)) from None


known_at_option = click.option(
    "--known-at",
    "known_at",
    metavar="TIMESTAMP",
    help="Only what was recorded by this time: ISO, e.g. 2026-02-20T18:00 (in the business "
    "timezone unless it has an offset).",
)
