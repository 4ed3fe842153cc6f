"""Accounting reads over the journal projection (docs/accounting.md): a loan's postings, the
trial balance, and the tie-out of the control accounts to the loans' balances."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any
from uuid import UUID

from ledger.domain.accounting import CHART
from ledger.domain.money import ZERO, fmt
from projections import Projections
from projections.balances import from_fen, row_of
from projections.facts import Fact
from projections.loan_fold import LoanFold

# control -> (journal accounts whose sum it is, sign: a liability's postings are credits,
# the balances column it must equal)
CONTROLS: dict[str, tuple[tuple[str, ...], int, str]] = {
    "principal": (("principal_not_due", "principal_due"), 1, "principal_outstanding"),
    "interest_accrued": (("interest_accrued",), 1, "interest_accrued"),
    "penalty": (("penalty",), 1, "penalty_accrued"),
    "compound_interest": (("compound",), 1, "compound_accrued"),
    "amount_due": (
        ("principal_due", "interest_due", "penalty", "compound", "handling_fee"),
        1,
        "amount_due",
    ),
    "credit": (("credit",), -1, "credit"),
    # section 14: the write-off expense less the recoveries is what is written off and not
    # recovered
    "written_off_outstanding": (("written_off", "recoveries"), 1, "written_off_outstanding"),
}
Events = dict[str, list[Any]]  # loan id -> the loan's events, in version order
CONTROL_ACCOUNTS = sorted({a for accounts, _, _ in CONTROLS.values() for a in accounts})


def _money(fen: int) -> str:
    return fmt(from_fen(fen) or ZERO)


def postings_of(projections: Projections, loan_id: UUID, names: dict[str, str]) -> list[Any]:
    """A loan's postings, each with its account's name, debit or credit, and the event and
    rule behind it, in event and line order."""
    return [
        {
            "version": row["version"],
            "date": row["on_date"],
            "event": row["event"],
            "account": names[row["account"]],
            "debit": _money(row["amount"]) if row["amount"] > 0 else None,
            "credit": _money(-row["amount"]) if row["amount"] < 0 else None,
            "rule": row["rule"],
        }
        for row in projections.journal.of_loan(loan_id)
    ]


def trial_balance(
    projections: Projections,
    names: dict[str, str],
    *,
    as_of: date | None = None,
    by_product: bool = False,
) -> dict[str, Any]:
    """Every account's debits, credits and balance (debits - credits) over the postings
    dated up to ``as_of``; by product if asked. It balances when debits equal credits."""
    rows = []
    debits = credits = 0
    for product, account, debit, credit in projections.journal.totals(as_of, by_product=by_product):
        debit, credit = int(debit or 0), int(credit or 0)
        debits, credits = debits + debit, credits + credit
        row = {"account": names[str(account)], "key": str(account)}
        if by_product:
            row = {"product": str(product), **row}
        row |= {"debit": _money(debit), "credit": _money(credit), "balance": _money(debit - credit)}
        rows.append(row)
    order = list(CHART)
    rows.sort(key=lambda r: (r.get("product", ""), order.index(r["key"])))
    return {
        "as_of": as_of.isoformat() if as_of else None,
        "by": "product" if by_product else None,
        "accounts": rows,
        "debits": _money(debits),
        "credits": _money(credits),
        "balanced": debits == credits,
    }


def balances_as_of(
    app: Any, projections: Projections, as_of: date | None, events: Events | None = None
) -> dict[str, Any]:
    """Each loan's balances row in fen: the balances projection's (``as_of`` omitted), or the
    same row (:func:`projections.balances.row_of`) of the loan folded from its events dated up
    to ``as_of`` (read from the store a batch of loans at a time, or from ``events``, loan id
    -> its events)."""
    rows = {str(r["loan_id"]): r for r in projections.balances.all()}
    if as_of is None:
        return rows
    result = {}
    for loan_id, recorded in (events or _events_in_batches(app, list(rows))).items():
        fold: LoanFold | None = None
        for event in recorded:
            if event.on > as_of:
                break
            fact = Fact(0, UUID(loan_id), int(event.originator_version), event)
            if fold is None:
                fold = LoanFold.disbursed(fact)
            else:
                fold.apply(fact)
        if fold is not None:
            result[loan_id] = row_of(fold)
    return result


def _events_in_batches(app: Any, loan_ids: list[str]) -> Events:
    """Every loan's events, one query per batch of loans (not a query per loan)."""
    found: Events = {}
    for start in range(0, len(loan_ids), app.batch_size):
        batch = [UUID(i) for i in loan_ids[start : start + app.batch_size]]
        found |= {str(i): e for i, e in app.reader.events_of(batch).items()}
    return found


def tie_out(
    app: Any, projections: Projections, *, as_of: date | None = None, events: Events | None = None
) -> dict[str, Any]:
    """The control accounts against the loans' balances, per loan and in total: each control
    (principal, accrued interest, penalty, compound interest, amount due, credit, written off
    and not recovered) is the sum of
    its journal accounts and must equal the balances' column to the fen. A difference names
    the loan and the events that posted to the control's accounts."""
    journal = projections.journal.loan_totals(CONTROL_ACCOUNTS, as_of)
    balances = balances_as_of(app, projections, as_of, events)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    differences = []
    for loan_id in sorted(set(journal) | set(balances)):
        posted, row = journal.get(loan_id, {}), balances.get(loan_id, {})
        for control, (accounts, sign, column) in CONTROLS.items():
            in_journal = sign * sum(posted.get(a, 0) for a in accounts)
            in_balances = int(row.get(column) or 0)
            totals[control][0] += in_journal
            totals[control][1] += in_balances
            if in_journal != in_balances:
                differences.append(
                    _difference(projections, loan_id, row, control, in_journal, in_balances)
                )
    return {
        "as_of": as_of.isoformat() if as_of else None,
        "loans": len(balances),
        "controls": [
            {"control": c, "journal": _money(j), "balances": _money(b), "difference": _money(j - b)}
            for c, (j, b) in totals.items()
        ],
        "differences": differences,
        "holds": not differences,
    }


def _difference(
    projections: Projections, loan_id: str, row: dict[str, Any], control: str, j: int, b: int
) -> dict[str, Any]:
    accounts = CONTROLS[control][0]
    versions = sorted(
        {
            p["version"]
            for p in projections.journal.of_loan(UUID(loan_id))
            if p["account"] in accounts
        }
    )
    return {
        "loan_id": row.get("reference") or loan_id,
        "control": control,
        "journal": _money(j),
        "balances": _money(b),
        "difference": _money(j - b),
        "events": versions[-10:],
    }
