"""``ledger dispute ...``: a borrower's dispute as a case of its own (issue 14, point 1): open
it with the claim, attach findings from the ledger, decide it, close it; show and list cases.

Every command runs through ``LedgerApp.execute``: a refused one writes nothing. With
``--json`` each prints the case (``list``: the cases) as one JSON document.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import click

from ledger.adapters.config import default_actor
from ledger.cli.common import (
    DATE,
    LOAN_REF,
    MONEY,
    TEXT,
    CliError,
    StrictType,
    actor_option,
    db_option,
    json_option,
    open_for,
)
from ledger.cli.output import emit, rows_table
from ledger.domain.actor import acting_as
from ledger.domain.dispute import CHANNELS, CHARGES, OUTCOMES, STATUSES, Dispute
from ledger.services import audit, disputes, parsing
from ledger.services.application import LedgerApp

DISPUTE_REF = StrictType("DISPUTE_ID", lambda v, w: parsing.loan_reference(v, w))
LIST_COLUMNS = ["dispute_id", "loan_id", "status", "charge", "amount", "opened_on", "findings",
                "outcome"]  # fmt: skip


@click.group("dispute")
def dispute_group() -> None:
    """Dispute cases: a borrower's claim about a charge, the ledger's findings, the decision
    and its remedy, the closing; every step records who and when."""


def _run(
    ctx: click.Context,
    db: str | None,
    actor: str | None,
    command: Callable[[LedgerApp, str], Dispute],
    as_json: bool,
) -> None:
    """Run ``command`` as one unit of work as ``actor``; print the case as it then is."""
    app = open_for(ctx, db)
    who = actor or default_actor()
    with acting_as(who):
        view = app.execute(lambda: disputes.shown(app, command(app, who)))
    _print(view, as_json)


@dispute_group.command("open")
@click.argument("loan_id", type=LOAN_REF)
@click.option("--charge", required=True, type=click.Choice(CHARGES), help="The charge disputed.")
@click.option("--amount", required=True, type=MONEY, help="The amount disputed (e.g. 332.58).")
@click.option("--from", "from_", required=True, type=DATE, help="First day concerned.")
@click.option("--to", "to", required=True, type=DATE, help="Last day concerned.")
@click.option(
    "--claim", required=True, type=TEXT, metavar="CLAIM", help="The borrower's claim, in words."
)
@click.option(
    "--received-by", required=True, type=TEXT, metavar="NAME", help="Who received the claim."
)
@click.option(
    "--channel", required=True, type=click.Choice(CHANNELS), help="How the claim came in."
)
@click.option(
    "--channel-ref",
    type=TEXT,
    metavar="REF",
    help="The channel's reference (a call id, a letter's number).",
)
@actor_option
@db_option
@json_option
@click.pass_context
def dispute_open(
    ctx: click.Context,
    loan_id: str,
    charge: str,
    amount: Decimal,
    from_: date,
    to: date,
    claim: str,
    received_by: str,
    channel: str,
    channel_ref: str | None,
    actor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Open a dispute case about loan LOAN_ID: the borrower disputes --amount of a --charge
    over the days --from to --to. The case gets a reference DSP-nnnnnn."""

    def command(app: LedgerApp, who: str) -> Dispute:
        return disputes.open_dispute(
            app,
            loan_id,
            charge=charge,
            amount=amount,
            period=(from_, to),
            claim=claim,
            received_by=received_by,
            channel=channel,
            channel_ref=channel_ref or "",
            actor=who,
        )

    _run(ctx, db, actor, command, as_json)


@dispute_group.command("attach")
@click.argument("dispute_id", type=DISPUTE_REF)
@click.option("--verify", is_flag=True, help="Attach the loan's verification by replay.")
@click.option(
    "--what-if",
    "settings",
    multiple=True,
    metavar="TERM=VALUE",
    help=f"Attach a what-if under the disputed term ({', '.join(audit.WHAT_IF_TERMS)}); "
    "repeat for several terms.",
)
@click.option(
    "--explain",
    "figure",
    metavar="FIGURE",
    help="Attach the explain lines of one figure (e.g. penalty_accrued, fees_paid).",
)
@click.option("--note", type=TEXT, metavar="NOTE", help="What the finding shows.")
@actor_option
@db_option
@json_option
@click.pass_context
def dispute_attach(
    ctx: click.Context,
    dispute_id: str,
    verify: bool,
    settings: tuple[str, ...],
    figure: str | None,
    note: str | None,
    actor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Attach to case DISPUTE_ID a finding computed from the ledger now and kept with the
    case: one of --verify, --what-if TERM=VALUE..., --explain FIGURE."""
    if verify + bool(settings) + (figure is not None) != 1:
        raise CliError("give exactly one of --verify, --what-if TERM=VALUE, --explain FIGURE")
    changes: dict[str, str] = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--what-if {item!r}: expected TERM=VALUE")
        changes[name.strip()] = value.strip()
    kind = "verify" if verify else "what_if" if settings else "explain"

    def command(app: LedgerApp, who: str) -> Dispute:
        return disputes.attach(
            app, dispute_id, kind, settings=changes, figure=figure, note=note or "", actor=who
        )

    _run(ctx, db, actor, command, as_json)


@dispute_group.command("decide")
@click.argument("dispute_id", type=DISPUTE_REF)
@click.option("--outcome", required=True, type=click.Choice(OUTCOMES), help="The decision.")
@click.option("--reason", required=True, type=TEXT, metavar="REASON", help="Why, in words.")
@click.option(
    "--remedy",
    type=TEXT,
    metavar="REMEDY",
    help="The remedy, in words (needed unless rejected).",
)
@click.option("--amount", type=MONEY, help="The remedy's amount, if it has one (e.g. 332.58).")
@actor_option
@db_option
@json_option
@click.pass_context
def dispute_decide(
    ctx: click.Context,
    dispute_id: str,
    outcome: str,
    reason: str,
    remedy: str | None,
    amount: Decimal | None,
    actor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Decide case DISPUTE_ID, once: upheld, partly_upheld or rejected, with the reasons
    and the remedy."""

    def command(app: LedgerApp, who: str) -> Dispute:
        return disputes.decide(
            app, dispute_id, outcome, reasons=reason, remedy=remedy or "", remedy_amount=amount,
            actor=who,
        )  # fmt: skip

    _run(ctx, db, actor, command, as_json)


@dispute_group.command("close")
@click.argument("dispute_id", type=DISPUTE_REF)
@click.option("--note", required=True, type=TEXT, metavar="NOTE", help="The closing note.")
@actor_option
@db_option
@json_option
@click.pass_context
def dispute_close(
    ctx: click.Context,
    dispute_id: str,
    note: str,
    actor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Close case DISPUTE_ID once it is decided; nothing may be added after."""
    _run(ctx, db, actor, lambda app, who: disputes.close(app, dispute_id, note=note, actor=who),
         as_json)  # fmt: skip


@dispute_group.command("show")
@click.argument("dispute_id", type=DISPUTE_REF)
@db_option
@json_option
@click.pass_context
def dispute_show(ctx: click.Context, dispute_id: str, db: str | None, as_json: bool) -> None:
    """Case DISPUTE_ID: the claim, each finding, the decision and remedy, the closing."""
    _print(disputes.show(open_for(ctx, db), dispute_id), as_json)


@dispute_group.command("list")
@click.option("--loan", "loan_id", type=LOAN_REF, help="Only the cases of this loan.")
@click.option("--status", type=click.Choice(STATUSES), help="Only the cases in this status.")
@db_option
@json_option
@click.pass_context
def dispute_list(
    ctx: click.Context, loan_id: str | None, status: str | None, db: str | None, as_json: bool
) -> None:
    """The dispute cases, oldest first."""
    listed = disputes.list_disputes(open_for(ctx, db), loan=loan_id, status=status)
    if as_json:
        emit(listed)
        return
    rows_table(f"Dispute cases ({listed['total']})", listed["disputes"], LIST_COLUMNS)


def _print(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit(view)
        return
    for line in lines(view):
        click.echo(line)


def _who(step: dict[str, Any]) -> str:
    recorded = step["recorded_at"][:19].replace("T", " ")
    return f"on {step['on']} by {step['actor']} (recorded {recorded} UTC)"


def lines(view: dict[str, Any]) -> list[str]:
    """The case as readable lines."""
    c = view["claim"]
    ref = f" (ref {c['channel_ref']})" if c["channel_ref"] else ""
    out = [
        f"Dispute {view['dispute_id']} on loan {view['loan_id']}: {view['status']}",
        f"claim: {c['charge']} {c['amount']}, {c['from']} to {c['to']}: {c['text']}",
        f"  received by {c['received_by']} over {c['channel']}{ref}, opened {_who(c)}",
    ]
    for f in view["findings"]:
        out.append(f"finding {f['n']}: {f['summary']}")
        out.append(f"  at loan version {f['loan_version']}, attached {_who(f)}")
        if f["note"]:
            out.append(f"  note: {f['note']}")
    d = view["decision"]
    if d is not None:
        out.append(f"decision: {d['outcome']}: {d['reasons']}")
        if d["remedy"]:
            amount = f" ({d['remedy_amount']})" if d["remedy_amount"] else ""
            out.append(f"  remedy: {d['remedy']}{amount}")
        out.append(f"  decided {_who(d)}")
    closure = view["closure"]
    if closure is not None:
        out.append(f"closed: {closure['note']}")
        out.append(f"  closed {_who(closure)}")
    return out
