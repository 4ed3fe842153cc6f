"""The folds the projections save (``LoanFold.to_json``), written by ``orjson``: each reads
back to itself byte for byte, and holds what the ``json``-written form held before."""

from __future__ import annotations

import json
from typing import Any

from ledger.adapters.sql import Sql
from ledger.services.application import LedgerApp
from projections import Projections
from projections.loan_fold import DATE_FIELDS, DECIMAL_FIELDS, INSTALLMENT_FIELDS, LoanFold, plain
from tests.store.test_projections import random_book


def json_form(fold: LoanFold) -> str:
    """The fold as it was saved before ``orjson`` (the reference)."""
    rows = [[plain(getattr(i, n)) for n in INSTALLMENT_FIELDS] for i in fold.installments]
    state: dict[str, Any] = {
        "loan_id": str(fold.loan_id),
        "version": fold.version,
        "reference": fold.reference,
        "chain_head": fold.chain_head,
        "terms": {k: plain(v) for k, v in fold.terms.as_event_fields().items()},
        "last_k": fold.last_k,
        "status": fold.status,
        "installments": [
            r if i.holiday else r[:-1] for r, i in zip(rows, fold.installments, strict=True)
        ],
        "extra": {k: v.as_json() if hasattr(v, "as_json") else v for k, v in fold.extra.items()},
    }
    for name in (*DECIMAL_FIELDS, *DATE_FIELDS):
        state[name] = plain(getattr(fold, name))
    if fold.holiday_through:
        state["holiday_through"] = fold.holiday_through
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


def test_every_saved_fold_reads_back_to_itself_and_holds_what_the_json_form_held(
    app: LedgerApp,
) -> None:
    random_book(app, seed=23, loans=14, days=80, newer_terms=True)
    projections = Projections(app)
    projections.catch_up()
    sql = Sql(app)
    checked = 0
    for name in projections.projectors:
        for (state,) in sql.query(f"SELECT state FROM {sql.table(f'ledger_{name}_folds')}"):
            fold = LoanFold.from_json(state)
            assert fold.to_json() == state
            assert json.loads(state) == json.loads(json_form(fold))
            checked += 1
    assert checked >= 5 * 14
