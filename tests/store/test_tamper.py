"""Tamper evidence an auditor can rely on (issue 12), on SQLite and PostgreSQL: each way of
tampering with the store behind the ledger's back is caught, the loan is quarantined (no new
events) and the rest of the book goes on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.adapters.quarantine import INTEGRITY, Quarantine
from ledger.adapters.sql import Sql
from ledger.domain.chain import canonical
from ledger.domain.errors import Quarantined
from ledger.domain.seal import keyring_of, unkeyed
from ledger.services import audit, integrity
from ledger.services.application import LedgerApp
from tests.conftest import Ledger
from tests.interface.test_api import Api, serve
from tests.store.test_audit import _key, overwrite_state, stored_state
from tests.store.test_projections import random_book


@pytest.fixture
def http(app: LedgerApp) -> Iterator[Api]:
    yield from serve(app)


def events_table(app: LedgerApp) -> str:
    return Sql(app).table(app.recorder.events_table_name)  # type: ignore[attr-defined]


def delete_after(app: LedgerApp, ref: str, version: int) -> None:
    loan = app.get_loan(ref)
    with Sql(app).transaction() as c:
        c.execute(
            f"DELETE FROM {events_table(app)} WHERE originator_id = ? AND originator_version > ?",
            [_key(app, loan.id), version],
        )


def a_book(app: LedgerApp, days: int = 60) -> list[str]:
    refs = random_book(app, seed=91, loans=6, days=days)
    assert app.checkpoints.latest() is not None  # close-of-business took them
    return refs


def open_ref(app: LedgerApp, refs: list[str]) -> str:
    return next(r for r in refs if not app.get_loan(r).is_closed)


def test_deleting_a_loans_newest_events_is_caught_against_its_anchored_head(
    app: LedgerApp,
) -> None:
    refs = a_book(app)
    ref = open_ref(app, refs)
    before = app.get_loan(ref).version
    delete_after(app, ref, before - 3)
    result = audit.verify_loan(app, ref)
    assert not result.clean and result.broken_link is None  # the chain itself still holds
    assert any("events were removed" in p for p in result.integrity), result.integrity
    assert ref in {q.reference for q in app_quarantined(app)}


def test_a_quarantined_loan_gets_no_new_events_and_the_rest_of_the_book_goes_on(
    app: LedgerApp,
) -> None:
    refs = a_book(app)
    open_refs = [r for r in refs if not app.get_loan(r).is_closed]
    ref = open_refs[0]
    delete_after(app, ref, app.get_loan(ref).version - 2)
    assert not audit.verify_loan(app, ref).clean
    version = app.get_loan(ref).version
    with pytest.raises(Quarantined, match="quarantined"):
        app.execute(lambda: app.prepay(ref, app.get_loan(ref).next_open_day))
    last = app.get_loan(open_refs[-1]).closed_through
    report = app.close_days(last + timedelta(days=5))
    assert report.failures == [] and report.last_closed == last + timedelta(days=5)
    assert app.get_loan(ref).version == version  # nothing was added to the tampered loan
    others = [app.get_loan(r) for r in open_refs[1:]]
    assert all(o.is_closed or o.closed_through == last + timedelta(days=5) for o in others)
    assert integrity.release(app, app.get_loan(ref).id)
    assert app.get_loan(ref).id not in integrity.held(app)


def test_an_edited_snapshot_is_ignored_reported_and_its_loan_quarantined(
    app: LedgerApp,
) -> None:
    refs = random_book(app, seed=92, loans=4, days=120)
    snapshotted = [r for r in refs if list(app.snapshots.get(app.get_loan(r).id))]  # type: ignore[union-attr]
    assert snapshotted, "the book has no snapshot"
    ref = snapshotted[0]
    loan = app.get_loan(ref)
    truth = loan.principal_outstanding
    table = Sql(app).table(app.snapshots.recorder.events_table_name)  # type: ignore[union-attr]
    rows = Sql(app).query(
        f"SELECT originator_version, state FROM {table} WHERE originator_id = ? "
        "ORDER BY originator_version DESC",
        [_key(app, loan.id)],
    )
    version, raw = rows[0]
    state: dict[str, Any] = json.loads(bytes(raw))
    state["state"]["principal_not_due"] = {"_type_": "decimal_str", "_data_": "1.00"}
    with Sql(app).transaction() as c:
        c.execute(
            f"UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            [json.dumps(state).encode(), _key(app, loan.id), version],
        )
    reread = app.get_loan(ref)  # read from its events instead
    assert reread.principal_outstanding == truth
    assert ref in {q.reference or str(q.loan_id) for q in app_quarantined(app)} or (
        str(loan.id) in {str(q.loan_id) for q in app_quarantined(app)}
    )
    result = audit.verify_loan(app, ref)
    assert any("snapshot" in p and "seal" in p for p in result.integrity), result.integrity


def test_a_chain_recomputed_without_the_key_does_not_verify(app: LedgerApp) -> None:
    refs = a_book(app, days=30)
    ref = open_ref(app, refs)
    loan = app.get_loan(ref)
    events = app.loan_events(ref)
    target = len(events) - 2
    attacker = keyring_of({"k1": b"not the ledger's key, same id".ljust(32, b"!")})
    for kind in ("keyed", "unkeyed"):
        previous = events[target - 2].chain
        for version in range(target, len(events) + 1):
            state = stored_state(app, loan.id, version)
            if version == target:
                state["recorded_by"] = "someone-else"
            fields = {**vars(events[version - 1]), "recorded_by": state["recorded_by"]}
            text = previous + canonical(
                type(events[version - 1]).__name__, loan.id, version, fields
            )
            previous = attacker.seal(text) if kind == "keyed" else unkeyed(text)
            state["chain"] = previous
            overwrite_state(app, loan.id, version, state)
        result = audit.verify_loan(app, ref)
        assert result.broken_link is not None and result.broken_link[0] == target, kind
        integrity.release(app, loan.id)


def test_an_altered_checkpoint_or_anchor_is_reported_and_an_exported_copy_shows_what(
    app: LedgerApp,
) -> None:
    refs = a_book(app, days=20)
    for _ in range(3):  # close-of-business takes one a pass; the CLI's `take` adds more
        integrity.take_checkpoint(app, app.get_loan(refs[0]).closed_through)
    copy = integrity.export_lines(app)
    assert len(copy) >= 4 and integrity.checkpoint_problems(app) == []
    assert integrity.compare_with_copy(app, copy) == []
    sql = Sql(app)
    with sql.transaction() as c:
        c.execute(f"UPDATE {sql.table('ledger_checkpoints')} SET loans = loans + 1 WHERE seq = 3")
        c.execute(f"UPDATE {sql.table('ledger_anchors')} SET version = version - 1")
    problems = integrity.checkpoint_problems(app)
    assert any("checkpoint 3" in p and "does not match" in p for p in problems), problems
    assert any("anchors" in p for p in problems), problems
    assert integrity.compare_with_copy(app, copy) == ["checkpoint 3 differs from the copy in loans"]


def app_quarantined(app: LedgerApp) -> list[Any]:
    return [q for q in Quarantine(Sql(app)).all() if q.projection == INTEGRITY]


def test_the_cli_and_the_api_show_checkpoints_and_release_a_quarantined_loan(
    app: LedgerApp, ledger: Ledger, http: Api, tmp_path: Path
) -> None:
    refs = a_book(app, days=20)
    ref = open_ref(app, refs)
    copy = tmp_path / "checkpoints.jsonl"
    assert ledger("audit", "checkpoint", "export", "--out", str(copy)).code == 0
    assert ledger.ok("audit", "checkpoint", "verify", "--copy", str(copy))["clean"] is True
    delete_after(app, ref, app.get_loan(ref).version - 1)
    dirty = ledger("audit", "verify", "--all", "--json")
    assert dirty.code == 1 and "events were removed" in dirty.out
    refused = ledger("loan", "prepay", ref, "--on", str(app.get_loan(ref).next_open_day), "--full")
    assert refused.code != 0 and "quarantined" in refused.err and "\n" not in refused.err.strip()
    api = http
    shown = api.get("/audit/checkpoints").json()
    assert shown["clean"] is True
    assert len(shown["checkpoints"]) == len(copy.read_text().splitlines())
    body = {"reason": "events restored from the backup"}
    assert api.post(f"/loans/{ref}/release", body).status_code == 200
    again = api.post(f"/loans/{ref}/release", body)
    assert again.status_code == 422 and "not quarantined" in again.json()["detail"]
    assert ledger("audit", "release", ref, "--reason", "x").code == 2  # not quarantined now
