"""``ledger approval ...`` and the four-eyes path of the commands it gates (issue 14, point 3;
loan-rules §12.5): ``loan waive``, ``loan refund``, ``loan repay --backdated`` and ``loan
reverse`` record a request, carried out at once only under ``$LEDGER_FOUR_EYES_BELOW``;
``approval approve`` (a second person, with the approver role) carries it out.

Who holds which role on the command line: the roster of API keys (``$LEDGER_API_KEYS`` or
``$LEDGER_API_KEYS_FILE``: ``ledger api-key new NAME --role approver --add-to FILE``), looked
up by ``--actor``; a name it does not hold is an operator. The command line trusts ``--actor``
(whoever can reach the store can write it); the HTTP API proves who calls by the key.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from ledger.adapters.api_keys import OPERATOR, keys_from_env, role_of
from ledger.adapters.config import FourEyes, default_actor
from ledger.cli.common import TEXT, StrictType, actor_option, db_option, json_option, open_for
from ledger.cli.output import TEXT_COLUMNS, emit, kv_table, out, rows_table
from ledger.domain.actor import acting_as
from ledger.domain.approval import STATUSES
from ledger.domain.loan import Loan
from ledger.read import approvals as approval_views
from ledger.services import approvals, parsing
from ledger.services.application import LedgerApp

APPROVAL_REF = StrictType("APPROVAL_ID", lambda v, w: parsing.loan_reference(v, w))
Request = Callable[[LedgerApp, approvals.Person, FourEyes], approvals.Outcome]


def person(actor: str | None) -> approvals.Person:
    """``--actor`` (or ``$LEDGER_ACTOR``, or the user) and the role the roster gives it."""
    name = actor or default_actor()
    return approvals.Person(name, role_of(keys_from_env(dict(os.environ)), name) or OPERATOR)


def run_gated(
    ctx: click.Context,
    db: str | None,
    actor: str | None,
    request: Request,
    carried_out: Callable[[Loan], dict[str, Any]],
) -> dict[str, Any]:
    """Ask for a gated command as one unit of work: ``{"approval": ..., "result": None}``
    while it waits, else what it did (``carried_out``) with the ``approval`` it made."""
    app = open_for(ctx, db)
    who = person(actor)
    four_eyes = FourEyes.from_env()

    def command() -> dict[str, Any]:
        return approval_views.gated_answer(app, request(app, who, four_eyes), carried_out)

    with acting_as(who.name):
        return app.execute(command)


def print_gated(payload: dict[str, Any], as_json: bool, done: Callable[[], None]) -> None:
    """Print a gated command's answer: the request waiting, or ``done`` and the rule."""
    if as_json:
        emit(payload)
        return
    view = payload["approval"]
    if view["status"] == "pending":
        _print_request(view)
        out.print(
            f"waiting for a second person with the approver role: "
            f"ledger approval approve {view['approval_id']}",
            markup=False,
            highlight=False,
        )
        return
    done()
    out.print(f"{view['approval_id']}: {view['rule_text']}", markup=False, highlight=False)


SHOWN = ("loan_id", "what", "reason", "requested_by", "requested_on", "rule_text", "decided_by",
         "decision_reason", "loan_version")  # fmt: skip


def _print_request(view: dict[str, Any]) -> None:
    shown = {k: view[k] for k in SHOWN if view[k] is not None}
    kv_table(f"Approval request {view['approval_id']}: {view['status']}", shown)


@click.group("approval")
def approval_group() -> None:
    """Four-eyes requests: waivers, refunds, back-dated repayments and reversals wait for a
    second person with the approver role (unless under $LEDGER_FOUR_EYES_BELOW)."""


@approval_group.command("approve")
@click.argument("approval_id", type=APPROVAL_REF)
@actor_option
@db_option
@json_option
@click.pass_context
def approval_approve(
    ctx: click.Context, approval_id: str, actor: str | None, db: str | None, as_json: bool
) -> None:
    """Approve request APPROVAL_ID (you: --actor, with the approver role; not its requester):
    its command is carried out now, as it was asked."""
    app = open_for(ctx, db)
    who = person(actor)
    with acting_as(who.name):
        payload = app.execute(
            lambda: approval_views.outcome_view(app, approvals.approve(app, approval_id, by=who))
        )
    if as_json:
        emit(payload)
        return
    _print_request(payload["approval"])
    kv_table("Carried out", payload["result"])


@approval_group.command("reject")
@click.argument("approval_id", type=APPROVAL_REF)
@click.option("--reason", required=True, type=TEXT, metavar="REASON", help="Why not.")
@actor_option
@db_option
@json_option
@click.pass_context
def approval_reject(
    ctx: click.Context,
    approval_id: str,
    reason: str,
    actor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Reject request APPROVAL_ID (approver role; not its requester): nothing happens to the
    loan."""
    app = open_for(ctx, db)
    who = person(actor)
    with acting_as(who.name):
        payload = app.execute(
            lambda: approval_views.outcome_view(
                app, approvals.reject(app, approval_id, by=who, reason=reason)
            )
        )
    emit(payload) if as_json else _print_request(payload["approval"])


@approval_group.command("show")
@click.argument("approval_id", type=APPROVAL_REF)
@db_option
@json_option
@click.pass_context
def approval_show(ctx: click.Context, approval_id: str, db: str | None, as_json: bool) -> None:
    """Request APPROVAL_ID: what was asked, by whom, the rule that applied, the decision."""
    app = open_for(ctx, db)
    view = approval_views.shown(app, approvals.get_request(app, approval_id))
    emit(view) if as_json else _print_request(view)


@approval_group.command("list")
@click.option("--loan", "loan", type=TEXT, metavar="LOAN_ID", help="Only this loan's requests.")
@click.option("--status", type=click.Choice(STATUSES), help="Only requests in this status.")
@db_option
@json_option
@click.pass_context
def approval_list(
    ctx: click.Context, loan: str | None, status: str | None, db: str | None, as_json: bool
) -> None:
    """The four-eyes requests, oldest first."""
    app = open_for(ctx, db)
    listing = approval_views.listed(app, loan=loan, status=status)
    if as_json:
        emit(listing)
        return
    columns = list(approval_views.ROW)
    words = TEXT_COLUMNS | {c for c in columns if c != "amount"}  # only the amount is a figure
    rows_table(f"Approval requests ({listing['total']})", listing["approvals"], columns, words)
