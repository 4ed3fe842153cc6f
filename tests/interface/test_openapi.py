"""The OpenAPI document describes the API as it answers (issue 13, point 2): real response
schemas, the statuses really answered, every problem answer, the security schemes, and the
docs pages served with no internet."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.adapters.api_keys import new_key
from ledger.bootstrap import openapi_document
from ledger.services.application import LedgerApp
from tests.interface.test_api import ALICE, Api, serve

PROBLEM = "application/problem+json"
CREATES = {
    ("post", "/loans"),
    ("post", "/loans/{loan_id}/repayments"),
    ("post", "/loans/{loan_id}/prepayments"),
    ("post", "/loans/{loan_id}/reversals"),
    ("post", "/loans/{loan_id}/waivers"),
    ("post", "/loans/{loan_id}/refunds"),
    ("post", "/loans/{loan_id}/write-offs"),
    ("post", "/loans/{loan_id}/recoveries"),
    ("post", "/loans/{loan_id}/restructurings"),
    ("post", "/disputes"),
    ("post", "/disputes/{dispute_id}/findings"),
    ("post", "/disputes/{dispute_id}/decision"),
    ("post", "/disputes/{dispute_id}/closure"),
}
FOUR_EYES = {  # answered 202 with the request while a second person has not approved
    ("post", "/loans/{loan_id}/repayments"),
    ("post", "/loans/{loan_id}/reversals"),
    ("post", "/loans/{loan_id}/waivers"),
    ("post", "/loans/{loan_id}/refunds"),
    ("post", "/loans/{loan_id}/write-offs"),
}
WEBHOOK = ("post", "/gateway/results")  # the provider's, signed with the shared secret
ALWAYS_FOUR_EYES = {("post", "/loans/{loan_id}/restructurings")}  # no threshold: 202 only


@pytest.fixture
def api(app: LedgerApp) -> Iterator[Api]:
    yield from serve(app)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(openapi_document())
    return loaded


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def test_every_documented_success_answer_has_a_schema(document: dict[str, Any]) -> None:
    empty = []
    for method, path, operation in operations(document):
        successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        assert successes, f"{method} {path} documents no success"
        for status, response in successes.items():
            content = response.get("content", {})
            if not content or any(not media.get("schema") for media in content.values()):
                empty.append(f"{method.upper()} {path} {status}")
    assert empty == []


def test_every_json_success_names_a_model_of_its_own(document: dict[str, Any]) -> None:
    loose = []
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if status.startswith("2") and "$ref" not in str(schema):
                loose.append(f"{method.upper()} {path} {status}: {schema}")
    assert loose == []


def test_the_commands_that_create_are_documented_as_201_and_no_other_as_200_too(
    document: dict[str, Any],
) -> None:
    for method, path, operation in operations(document):
        documented = {s for s in operation["responses"] if s.startswith("2")}
        expected = {"201"} if (method, path) in CREATES else {"200"}
        if (method, path) in FOUR_EYES:  # 202: a request waits for a second person
            expected = {"201", "202"}
        if (method, path) in ALWAYS_FOUR_EYES:  # loan-rules section 16: always a request
            expected = {"202"}
        assert documented == expected, (method, path, documented)


def test_post_loans_is_answered_201_as_documented(api: Api, document: dict[str, Any]) -> None:
    assert "201" in document["paths"]["/loans"]["post"]["responses"]
    opened = api.post("/loans", ALICE)
    assert opened.status_code == 201, opened.text
    again = api.post("/loans", {**ALICE, "loan_id": "BOB"}, **{"Idempotency-Key": "bob"})
    replayed = api.post("/loans", {**ALICE, "loan_id": "BOB"}, **{"Idempotency-Key": "bob"})
    assert again.status_code == replayed.status_code == 201


def test_every_operation_lists_its_problem_answers_as_problem_json(
    document: dict[str, Any],
) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "instance"}
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    for method, path, operation in operations(document):
        responses = operation["responses"]
        errors = {s for s in responses if s[0] in "45"}
        assert "401" in errors, (method, path)
        if method == "post":
            assert {"413", "422"} <= errors, (method, path)
        if "{loan_id}" in path:
            assert {"404", "409", "422"} <= errors, (method, path)
        if (method, path) in CREATES or path.endswith(("/release", "/approve", "/reject")):
            assert {"400", "403", "409", "413", "422", "503"} <= errors, (method, path)
        elif (method, path) == WEBHOOK:  # 403: the webhook is off (no shared secret)
            assert {"401", "403", "413", "422"} <= errors, (method, path)
        else:
            assert "403" not in errors, (method, path)  # both roles may read
        for status in errors:
            content = responses[status]["content"]
            assert list(content) == [PROBLEM], (method, path, status)
            assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
        if "503" in errors:
            assert "Retry-After" in responses["503"]["headers"]
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_a_bearer_security_scheme_naming_the_roles_is_applied_to_every_operation(
    document: dict[str, Any],
) -> None:
    schemes = document["components"]["securitySchemes"]
    bearer = schemes["bearer"]
    assert bearer["type"] == "http" and bearer["scheme"] == "bearer"
    assert "operator" in bearer["description"] and "auditor" in bearer["description"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "in": "header", "name": "X-API-Key"}
    for method, path, operation in operations(document):
        if (method, path) == WEBHOOK:  # signed by the provider, not an API key
            assert operation["security"] == [{"gatewaySignature": []}]
            continue
        assert {"bearer": []} in operation.get("security", []), (method, path)
        headers = {p["name"].lower() for p in operation.get("parameters", [])}
        assert not headers & {"authorization", "x-api-key"}, (method, path)


def test_the_keys_behave_as_before_the_schemes_bearer_or_x_api_key_401_and_403(
    api: Api,
) -> None:
    key = api.auditor["Authorization"].removeprefix("Bearer ")
    assert api.client.get("/portfolio", headers={"X-API-Key": key}).status_code == 200
    assert api.client.get("/portfolio", headers={"Authorization": f"bearer {key}"}).is_success
    for headers in ({}, {"Authorization": f"Basic {key}"}, {"Authorization": "Bearer "}):
        answer = api.client.get("/portfolio", headers=headers)
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.headers["content-type"].startswith(PROBLEM)
    refused = api.client.post("/loans", json=ALICE, headers={"X-API-Key": key})
    assert refused.status_code == 403 and refused.headers["content-type"].startswith(PROBLEM)


# every URL a page loads: src=, href=, spec-url= (ReDoc), url: (Swagger UI's configuration)
ASSET = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_page_loads_only_assets_the_api_serves_itself(app: LedgerApp, page: str) -> None:
    _, hashed = new_key("someone", "auditor")
    with TestClient(create_app(app, [hashed])) as client:
        html = client.get(page)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert "http://" not in html.text and "https://" not in html.text, "a URL off the API"
        assets = [a or b for a, b in ASSET.findall(html.text)]
        scripts = [a for a in assets if a.endswith(".js")]
        styles = [a for a in assets if a.endswith(".css")]
        assert scripts and (styles or page == "/redoc"), assets
        assert "/openapi.json" in assets
        for asset in assets:
            assert asset.startswith("/") and not asset.startswith("//"), asset
            answer = client.get(asset)
            assert answer.status_code == 200, asset
            kind = answer.headers["content-type"]
            if asset.endswith(".js"):
                assert "javascript" in kind and len(answer.content) > 100_000, asset
            elif asset.endswith(".css"):
                assert kind.startswith("text/css"), asset
        if page == "/docs":
            assert "SwaggerUIBundle" in client.get(scripts[0]).text
