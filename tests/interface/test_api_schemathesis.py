"""Schemathesis against the served OpenAPI document, on both stores, bounded.

Two runs: every operation on its own (generated requests, valid and invalid), and stateful
scenarios that chain operations through the links Schemathesis infers from the document
(``POST /loans`` gives the ``loan_id`` that ``GET /loans/{loan_id}``, ``repayments``,
``prepayments``, ``reversals``, ``waivers``, ``what-if`` ... take). In both, no request makes a
server error, responses hold their schemas, and a refused request (4xx) adds no event to the
log. Each prints its counts (``pytest -s`` shows them).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.app import create_app
from ledger.adapters.api_keys import new_key
from ledger.domain.terms import PRESETS
from ledger.services.application import LedgerApp
from ledger.services.products import terms_from_input

OPERATOR_KEY, OPERATOR = new_key("schemathesis", "operator")
HEADERS = {"Authorization": f"Bearer {OPERATOR_KEY}"}
CHECKS = [not_a_server_error, response_schema_conformance]


@dataclass
class Tally:
    """What the fuzz sent and what came back."""

    app: LedgerApp
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    refusals_that_wrote: list[str] = field(default_factory=list)
    answered_on_a_loan: int = 0  # 2xx under /loans/{loan_id}: a step that used a loan

    @property
    def cases(self) -> int:
        return sum(self.statuses.values())

    def events(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def call(self, case: Any, **kwargs: Any) -> Any:
        """Send ``case``; count it; a refused request must not have added an event."""
        before = self.events()
        response = case.call(**kwargs)
        written = self.events() - before
        status = int(response.status_code)
        self.statuses[status] += 1
        label = f"{case.method} {case.formatted_path} -> {status}"
        if status < 300 and case.operation.path.startswith("/loans/{loan_id}"):
            self.answered_on_a_loan += 1
        if status >= 500:
            self.server_errors.append(label)
        if status >= 400 and written:
            self.refusals_that_wrote.append(f"{label}: {written} event(s)")
        return response

    def summary(self, what: str) -> str:
        refused = sum(n for s, n in self.statuses.items() if s >= 400)
        return (
            f"schemathesis {what}: {self.cases} cases, {refused} refused, "
            f"{len(self.server_errors)} server errors, "
            f"{len(self.refusals_that_wrote)} events from refusals, "
            f"{self.answered_on_a_loan} answered on a loan; "
            f"statuses {dict(sorted(self.statuses.items()))}"
        )


def _book(app: LedgerApp) -> Any:
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
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(app, [OPERATOR]))


def test_no_request_makes_a_server_error_and_responses_hold_their_schema(
    app: LedgerApp,
) -> None:
    schema = _book(app)
    tally = Tally(app)
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
            response = tally.call(case, headers=HEADERS)
            case.validate_response(response, checks=CHECKS, headers=HEADERS)

        check()
    print(f"\n{tally.summary(f'{len(operations)} operations')}")
    assert tally.server_errors == []
    assert tally.refusals_that_wrote == []
    assert tally.cases >= 12 * len(operations) // 2


def _days(first: date, last: date = date(2030, 12, 31)) -> st.SearchStrategy[str]:
    """Dates up to the suite's business date (2030-12-31)."""
    return st.dates(first, last).map(str)


def _amounts(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n}.00")


# Plausible bodies for the commands, so that scenarios open loans and act on them (the
# document's loose strings almost never make a loan): loans disbursed in early October 2030,
# commands dated from November on. Some succeed, some are refused (more than is owed, an
# Idempotency-Key reused with another body), and a refusal must write nothing.
OPENED = _days(date(2030, 10, 1), date(2030, 10, 10))
LATER = _days(date(2030, 11, 1))
PLAUSIBLE: dict[tuple[str, str], st.SearchStrategy[dict[str, Any]]] = {
    ("POST", "/loans"): st.fixed_dictionaries(
        {
            "product": st.sampled_from(sorted(PRESETS)),
            "principal": _amounts(500, 50_000),
            "term": st.integers(1, 24),
            "disbursed_on": OPENED,
            "daily_rate": st.sampled_from(["0.0002", "0.0005", "0.001"]),
        }
    ),
    ("POST", "/loans/{loan_id}/repayments"): st.fixed_dictionaries(
        {"amount": _amounts(1, 5_000), "on": LATER}
    ),
    ("POST", "/loans/{loan_id}/prepayments"): st.one_of(
        st.fixed_dictionaries({"on": LATER, "amount": _amounts(1, 20_000)}),
        st.fixed_dictionaries({"on": LATER, "full": st.just(True)}),
    ),
    ("POST", "/loans/{loan_id}/prepayments/quote"): st.fixed_dictionaries(
        {"on": LATER, "full": st.just(True)}
    ),
}


def test_stateful_scenarios_chain_operations_without_a_server_error(app: LedgerApp) -> None:
    schema = _book(app)
    tally = Tally(app)

    def plausible_half_the_time(context: Any, body: Any) -> st.SearchStrategy[Any]:
        """Half the bodies of the commands above as generated, half plausible ones."""
        operation = context.operation
        key = (operation.method.upper(), operation.path) if operation is not None else None
        if key not in PLAUSIBLE:
            return st.just(body)
        return st.one_of(st.just(body), PLAUSIBLE[key])

    schema.hooks.register_hook_with_name(plausible_half_the_time, "flatmap_body")
    machine: Any = schema.as_state_machine()
    links = schema.statistic.transitions.total
    assert links >= 10, "Schemathesis inferred too few links from the OpenAPI document"

    class Scenarios(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": HEADERS}

        def call(self, case: Any, **kwargs: Any) -> Any:
            return tally.call(case, **kwargs)

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, headers=HEADERS)

    Scenarios.run(
        settings=settings(
            max_examples=40,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
    )
    print(f"\n{tally.summary(f'stateful, {links} inferred links')}")
    assert tally.server_errors == []
    assert tally.refusals_that_wrote == []
    assert tally.answered_on_a_loan > 0, "no scenario got past POST /loans"
