"""Schemathesis against the served OpenAPI document, on both stores: generated requests (valid
and invalid) never make a server error, and responses match the schemas they document."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import create_app
from ledger.adapters.api_keys import new_key
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input

OPERATOR_KEY, OPERATOR = new_key("schemathesis", "operator")


def test_no_request_makes_a_server_error_and_responses_hold_their_schema(
    app: LedgerApp,
) -> None:
    from datetime import date

    app.open_loan(
        terms_from_input(
            product="repay_on_schedule",
            principal="12000.00",
            term=6,
            disbursed_on=date(2026, 1, 15),
            daily_rate="0.0005",
        ),
        "ALICE",
    )
    app.close_days(date(2026, 2, 20))
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(app, [OPERATOR]))
    results: list[Any] = list(schema.get_all_operations())
    operations = [result.ok() for result in results]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {OPERATOR_KEY}"},
                checks=[not_a_server_error, response_schema_conformance],
            )

        check()
