"""The accounting reads: a loan's postings, the trial balance and the tie-out
(``ledger accounting ...``; docs/accounting.md). Open to every role, auditors first."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.context import ApiContext
from api.inputs import AsOf, LoanId, day_of
from api.models_accounting import Postings, TieOut, TrialBalance
from api.problems import LOAN_READ, READ, Operations
from ledger.adapters.api_keys import ApiKey
from ledger.adapters.config import chart_of_accounts
from ledger.read import accounting

By = Annotated[Literal["product"] | None, Query(description="One block per product")]


def accounting_routes(ctx: ApiContext) -> APIRouter:
    router = APIRouter()
    ops = Operations(router, "accounting")
    ledger, anyone, caught_up = ctx.ledger, ctx.anyone, ctx.caught_up

    @ops.get("/accounting/postings/{loan_id}", Postings, "A loan's postings", LOAN_READ)
    def postings(loan_id: LoanId, key: ApiKey = anyone) -> Any:
        """Each posting of the loan's events, with the event and the rule behind it."""
        names = chart_of_accounts()
        loan = ledger.get_loan(loan_id)
        rows = accounting.postings_of(caught_up(["journal"]), loan.id, names)
        return {"loan_id": loan.label, "postings": rows}

    @ops.get("/accounting/trial-balance", TrialBalance, "The trial balance", READ)
    def trial_balance(key: ApiKey = anyone, as_of: AsOf = None, by: By = None) -> Any:
        """Every account's debits, credits and balance over the postings dated up to
        `as_of`; debits equal credits."""
        day = day_of(as_of) if as_of is not None else None
        return accounting.trial_balance(
            caught_up(["journal"]), chart_of_accounts(), as_of=day, by_product=by == "product"
        )

    @ops.get("/accounting/tie-out", TieOut, "The control accounts against the balances", READ)
    def tie_out(key: ApiKey = anyone, as_of: AsOf = None) -> Any:
        """Each control account against the sum of the loans' balances, to the fen; a
        difference names the loan and the events (`holds` false)."""
        day = day_of(as_of) if as_of is not None else None
        return accounting.tie_out(ledger, caught_up(["journal", "balances"]), as_of=day)

    return router
