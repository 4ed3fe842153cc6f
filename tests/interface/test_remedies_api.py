"""Remedies over HTTP (issue 14, point 2; loan-rules section 12), on SQLite and PostgreSQL:
``POST /loans/{id}/waivers`` with ``"part": "fee"`` gives a paid prepayment fee back as credit,
``POST /loans/{id}/refunds`` pays credit out to the borrower's linked account (201, operators
only, once per Idempotency-Key), every balance shows ``credit``, and each refusal is a problem
answer that writes no event.

The loan is section 8 example 2's: 10,000.00 ``repay_on_schedule`` paid off on 2026-01-04 for
``10,000.00 + 15.00 + 300.00 = 10,315.00`` (a 3 % prepayment fee); its linked account holds
1,000.00.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from ledger.bootstrap import openapi_document
from ledger.domain.account import LinkedAccount, account_id_for
from ledger.services.application import LedgerApp
from tests.interface.test_api import NO_FOUR_EYES, Api, assert_problem, serve
from tests.interface.test_api_schemathesis import _conforms

FEE = {
    "loan_id": "FEE",
    "product": "repay_on_schedule",
    "principal": "10000.00",
    "term": 12,
    "disbursed_on": "2026-01-01",
    "daily_rate": "0.0005",
}
WAIVE_FEE = {"part": "fee", "amount": "300.00", "reason": "fee disputed"}


@pytest.fixture
def api(app: LedgerApp) -> Iterator[Api]:
    """Four-eyes lifted by the threshold: these tests are about the remedies themselves (the
    approval of them is in ``test_approvals_api``)."""
    yield from serve(app, NO_FOUR_EYES)


@pytest.fixture
def paid_off(api: Api) -> Api:
    """FEE, paid off on 2026-01-04 with its 3 % fee (300.00)."""
    assert api.post("/loans", FEE).status_code == 201
    api.app.set_balance("FEE", Decimal("1000.00"))
    payoff = api.post("/loans/FEE/prepayments", {"on": "2026-01-04", "full": True})
    assert payoff.status_code == 201, payoff.text
    assert (payoff.json()["fee"], payoff.json()["total"]) == ("300.00", "10315.00")
    return api


def account_balance(app: LedgerApp, ref: str) -> Decimal | None:
    account: Any = app.repository.get(account_id_for(app.get_loan(ref).id))
    assert isinstance(account, LinkedAccount)
    return account.balance


def assert_verified_clean(api: Api, ref: str) -> None:
    verified = api.get(f"/loans/{ref}/verify")
    assert verified.status_code == 200, verified.text
    assert verified.json()["clean"] is True, verified.json()


def credit_shown(api: Api, path: str) -> str:
    shown = api.get(path)
    assert shown.status_code == 200, shown.text
    credit: str = shown.json()["credit"]
    return credit


def test_a_paid_fee_waived_over_http_becomes_credit_and_a_refund_pays_it_to_the_account(
    paid_off: Api,
) -> None:
    api = paid_off
    waived = api.post("/loans/FEE/waivers", WAIVE_FEE)
    assert waived.status_code == 201, waived.text
    assert (waived.json()["credit"], waived.json()["status"]) == ("300.00", "closed")
    assert credit_shown(api, "/loans/FEE") == "300.00"
    assert credit_shown(api, "/loans/FEE?as_of=2026-01-04") == "300.00"
    assert_verified_clean(api, "FEE")

    refunded = api.post("/loans/FEE/refunds", {"amount": "300.00", "reason": "fee given back"})
    assert refunded.status_code == 201, refunded.text
    body = refunded.json()
    assert (body["amount"], body["credit_before"], body["credit_after"]) == (
        "300.00",
        "300.00",
        "0.00",
    )
    assert (body["on"], body["actor"], body["status"]) == ("2026-01-04", "ops-desk", "closed")
    assert account_balance(api.app, "FEE") == Decimal("1300.00")  # up by the refund
    assert credit_shown(api, "/loans/FEE") == "0.00"
    assert credit_shown(api, "/loans/FEE?as_of=2026-01-04") == "0.00"
    listed = api.get("/loans?status=closed").json()["loans"]
    assert [row["credit"] for row in listed if row["loan_id"] == "FEE"] == ["0.00"]
    assert_verified_clean(api, "FEE")
    document = json.loads(openapi_document())
    _conforms(document, "/loans/{loan_id}/refunds", "POST", refunded)


def test_a_refund_above_the_credit_is_a_422_and_writes_no_event(paid_off: Api) -> None:
    api = paid_off
    before = api.events()
    refused = api.post("/loans/FEE/refunds", {"amount": "0.01", "reason": "x"})
    assert_problem(refused, 422, "cannot refund 0.01: the credit owed to the borrower is 0.00")
    assert api.events() == before
    assert api.post("/loans/FEE/waivers", WAIVE_FEE).status_code == 201
    before = api.events()
    refused = api.post("/loans/FEE/refunds", {"amount": "300.01", "reason": "x"})
    assert_problem(refused, 422, "is 300.00")
    assert api.events() == before
    assert account_balance(api.app, "FEE") == Decimal("1000.00")
    assert credit_shown(api, "/loans/FEE") == "300.00"


def test_an_auditor_cannot_refund_or_waive(paid_off: Api) -> None:
    api = paid_off
    assert api.post("/loans/FEE/waivers", WAIVE_FEE).status_code == 201
    before = api.events()
    for path, body in (
        ("/loans/FEE/refunds", {"amount": "1.00", "reason": "x"}),
        ("/loans/FEE/waivers", {**WAIVE_FEE, "amount": "1.00"}),
    ):
        refused = api.client.post(path, json=body, headers=api.auditor)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert api.events() == before


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"amount": "1,50", "reason": "x"}, "amount"),
        ({"amount": "-1.00", "reason": "x"}, "amount"),
        ({"amount": "0", "reason": "x"}, "amount"),
        ({"amount": "0.00", "reason": "x"}, "amount"),
        ({"amount": "1.001", "reason": "x"}, "amount"),
        ({"amount": 1, "reason": "x"}, "amount"),
        ({"amount": "1.00"}, "reason"),
        ({"amount": "1.00", "reason": ""}, "reason"),
        ({"amount": "1.00", "reason": "x", "on": "2026-13-01"}, "on"),
        ({"amount": "1.00", "reason": "x", "on": "2026-01-03"}, "closed"),
        ({"amount": "1.00", "reason": "x", "extra": 1}, "extra"),
    ],
)
def test_bad_refunds_are_a_422_problem_and_write_no_event(
    paid_off: Api, body: dict[str, Any], needle: str
) -> None:
    api = paid_off
    assert api.post("/loans/FEE/waivers", WAIVE_FEE).status_code == 201
    before = api.events()
    assert_problem(api.post("/loans/FEE/refunds", body), 422, needle)
    assert api.events() == before
    assert credit_shown(api, "/loans/FEE") == "300.00"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({**WAIVE_FEE, "amount": "1,50"}, "amount"),
        ({**WAIVE_FEE, "amount": "-300.00"}, "amount"),
        ({**WAIVE_FEE, "amount": "0"}, "amount"),
        ({**WAIVE_FEE, "amount": "300.01"}, "cannot waive 300.01 of fee"),
        ({**WAIVE_FEE, "part": "principal"}, "part"),
    ],
)
def test_bad_waivers_are_a_422_problem_and_write_no_event(
    paid_off: Api, body: dict[str, Any], needle: str
) -> None:
    before = paid_off.events()
    assert_problem(paid_off.post("/loans/FEE/waivers", body), 422, needle)
    assert paid_off.events() == before


def test_a_refund_of_an_unknown_loan_is_a_404_and_writes_no_event(api: Api) -> None:
    before = api.events()
    assert_problem(api.post("/loans/NOPE/refunds", {"amount": "1.00", "reason": "x"}), 404, "NOPE")
    assert api.events() == before


def test_a_refund_retried_with_its_idempotency_key_is_paid_once(paid_off: Api) -> None:
    api = paid_off
    assert api.post("/loans/FEE/waivers", WAIVE_FEE).status_code == 201
    body = {"amount": "100.00", "reason": "part of the fee"}
    first = api.post("/loans/FEE/refunds", body, **{"Idempotency-Key": "refund-1"})
    assert first.status_code == 201, first.text
    before = api.events()
    again = api.post("/loans/FEE/refunds", body, **{"Idempotency-Key": "refund-1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert api.events() == before
    assert account_balance(api.app, "FEE") == Decimal("1100.00")
    assert credit_shown(api, "/loans/FEE") == "200.00"
    other = api.post(
        "/loans/FEE/refunds", {**body, "amount": "1.00"}, **{"Idempotency-Key": "refund-1"}
    )
    assert other.status_code == 409, other.text
    assert api.events() == before


def test_the_openapi_document_declares_the_refund_and_the_fee_waiver() -> None:
    document = json.loads(openapi_document())
    refund = document["paths"]["/loans/{loan_id}/refunds"]["post"]
    assert {"201", "400", "401", "403", "404", "409", "413", "422", "503"} <= set(
        refund["responses"]
    )
    assert "RefundDone" in json.dumps(refund["responses"]["201"])
    waiver = document["components"]["schemas"]["Waiver"]["properties"]["part"]
    assert waiver["enum"] == ["fee", "penalty", "interest", "compound"]  # compound: section 11
