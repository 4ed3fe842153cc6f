"""Auditing on a real store (SQLite and PostgreSQL): verify by replay, the hash chain, explain,
time travel on both axes, what-if, and event versioning."""

from __future__ import annotations

import json
import random
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from ledger.adapters.sql import Sql
from ledger.domain.chain import GENESIS, link, sealed_forms
from ledger.domain.loan import Loan
from ledger.domain.terms import Arithmetic
from ledger.read import views
from ledger.services import audit
from ledger.services.application import LedgerApp
from ledger.services.explain import explain
from ledger.services.products import terms_from_input
from ledger.services.store import loan_id_for
from tests.conftest import Ledger
from tests.interface.test_refused_commands_cli import assert_refused
from tests.store.test_projections import random_book
from tests.unit.test_exact_accruals import TIE, lived


def _key(app: LedgerApp, loan_id: UUID) -> Any:
    return loan_id if Sql(app).is_postgres else loan_id.hex


def stored_state(app: LedgerApp, loan_id: UUID, version: int) -> dict[str, Any]:
    sql = Sql(app)
    table = sql.table(app.recorder.events_table_name)  # type: ignore[attr-defined]
    rows = sql.query(
        f"SELECT state FROM {table} WHERE originator_id = ? AND originator_version = ?",
        [_key(app, loan_id), version],
    )
    assert len(rows) == 1
    state: dict[str, Any] = json.loads(bytes(rows[0][0]))
    return state


def overwrite_state(app: LedgerApp, loan_id: UUID, version: int, state: dict[str, Any]) -> None:
    """Tamper with the store behind the ledger's back, as an attacker or a bad script would."""
    sql = Sql(app)
    table = sql.table(app.recorder.events_table_name)  # type: ignore[attr-defined]
    with sql.transaction() as c:
        changed = c.execute(
            f"UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            [json.dumps(state, separators=(",", ":")).encode(), _key(app, loan_id), version],
        )
    assert changed == 1


def as_before_checkpoints(app: LedgerApp, loan_id: UUID) -> None:
    """The store as it was before sealed snapshots and checkpoints: the loan's snapshots
    and anchor go (they were taken of the events as this test first recorded them)."""
    sql = Sql(app)
    snapshots = sql.table(app.snapshots.recorder.events_table_name)  # type: ignore[union-attr]
    with sql.transaction() as c:
        c.execute(f"DELETE FROM {snapshots} WHERE originator_id = ?", [_key(app, loan_id)])
        c.execute(f"DELETE FROM {sql.table('ledger_anchors')} WHERE loan_id = ?", [str(loan_id)])


def first_version_of(app: LedgerApp, ref: str, kind: str, after: int = 0) -> int:
    for e in app.loan_events(ref):
        if type(e).__name__ == kind and e.originator_version > after:
            return int(e.originator_version)
    raise AssertionError(f"no {kind} in {ref}")


def test_verify_is_clean_on_an_honest_book(app: LedgerApp) -> None:
    refs = random_book(app, seed=53, loans=20, days=120)
    results = list(audit.verify_all(app))
    assert len(results) == len(refs)
    assert [r.as_dict() for r in results if not r.clean] == []
    assert all(r.events > 20 for r in results)


def test_verify_catches_an_amount_changed_in_the_store_and_the_broken_hash_chain(
    app: LedgerApp, ledger: Ledger
) -> None:
    [ref] = random_book(app, seed=59, loans=1, days=70)
    loan = app.get_loan(ref)
    version = first_version_of(app, ref, "InterestAccrued", after=10)
    state = stored_state(app, loan.id, version)
    state["normal"] = str(Decimal(state["normal"]) + Decimal("0.01"))
    overwrite_state(app, loan.id, version, state)

    result = audit.verify_loan(app, ref)
    assert not result.clean
    assert result.broken_link is not None and result.broken_link[0] == version
    first = result.discrepancies[0]
    assert (first.version, first.event, first.field) == (version, "InterestAccrued", "normal")
    assert Decimal(first.recorded) - Decimal(first.recomputed) == Decimal("0.01")

    run = ledger("audit", "verify", ref, "--json")
    assert run.code == 1
    assert run.json["results"][0]["hash_chain"]["first_broken_version"] == version


def test_verify_all_in_pages_and_in_two_jobs_reports_what_one_job_reports(
    app: LedgerApp, ledger: Ledger
) -> None:
    """The book read a page of loans at a time, and ``--jobs 2`` (two processes, a partition
    each), give the same report as one page and one job: clean, then with a tampered loan
    (exit status 1, the loan named, in both the text and ``--json``)."""
    refs = random_book(app, seed=61, loans=9, days=50)
    whole = [r.as_dict() for r in audit.verify_all(app, page=100)]
    assert [r.as_dict() for r in audit.verify_all(app, page=2)] == whole
    assert ledger.ok("audit", "verify", "--all", "--jobs", "2") == ledger.ok(
        "audit", "verify", "--all"
    )
    tampered = app.get_loan(refs[4])
    version = first_version_of(app, refs[4], "InterestAccrued", after=5)
    state = stored_state(app, tampered.id, version)
    state["normal"] = str(Decimal(state["normal"]) + Decimal("0.01"))
    overwrite_state(app, tampered.id, version, state)

    one, two = (ledger("audit", "verify", "--all", "--jobs", n) for n in ("1", "2"))
    assert (one.code, two.code) == (1, 1)
    assert two.out == one.out
    assert f"loan {refs[4]}: NOT clean" in two.out
    assert "9 loan(s) verified, 1 with discrepancies" in two.out
    as_json = [ledger("audit", "verify", "--all", "--json", "--jobs", n) for n in ("1", "2")]
    assert [r.code for r in as_json] == [1, 1]
    assert as_json[1].json == as_json[0].json
    assert [r["loan_id"] for r in as_json[1].json["results"]] == [refs[4]]
    assert as_json[1].json["loans"] == 9


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--all", "--jobs", "0"], "--jobs: 0 is outside 1 to 16"),
        (["--all", "--jobs", "abc"], "--jobs: 'abc' is not a whole number"),
        (["--all", "--jobs", "17"], "--jobs: 17 is outside 1 to 16"),
        (["EX5", "--jobs", "2"], "--jobs goes with --all"),
    ],
)
def test_bad_jobs_is_one_line_and_exit_status_2(
    ledger: Ledger, args: list[str], error: str
) -> None:
    ledger.ok("loan", "open", "--product", "equal_principal", "--principal", "1000.00",
              "--term", "2", "--disbursed-on", "2026-03-01", "--daily-rate", "0.0005",
              "--loan-id", "EX5")  # fmt: skip
    result = ledger("audit", "verify", *args)
    assert (result.code, result.out, result.err) == (2, "", f"error: {error}\n")


def test_verify_catches_a_wrongly_computed_event_even_with_an_intact_chain(
    app: LedgerApp,
) -> None:
    [ref] = random_book(app, seed=61, loans=1, days=20)
    loan = app.get_loan(ref)
    day = loan.next_open_day
    loan.fix_due_installments(day)
    rate = Decimal("0.0005")
    base = loan.principal_not_due
    # a buggy accrual: a rate ten times too high, recorded through the aggregate itself, so
    # its hash is linked correctly: only the replay can tell
    loan.trigger_event(
        Loan.InterestAccrued,
        on=day,
        base=base,
        rate=rate * 10,
        divisor=1,
        days=1,
        normal=base * rate * 10,
        penalty_multiplier=loan.terms.penalty_multiplier,
        penalties=[],
        penalty=Decimal("0"),
        into="period",
    )
    app.save(loan)
    result = audit.verify_loan(app, ref)
    assert result.broken_link is None
    fields = {(d.version, d.field) for d in result.discrepancies}
    assert (loan.version, "normal") in fields and (loan.version, "rate") in fields


def test_a_tampered_hash_alone_is_named_as_the_first_broken_link(app: LedgerApp) -> None:
    [ref] = random_book(app, seed=67, loans=1, days=30)
    loan = app.get_loan(ref)
    state = stored_state(app, loan.id, 5)
    state["chain"] = "0" * 64
    overwrite_state(app, loan.id, 5, state)
    result = audit.verify_loan(app, ref)
    assert result.discrepancies == []  # the amounts are all right...
    assert result.broken_link is not None and result.broken_link[0] == 5  # ...the chain is not


def test_old_events_without_a_chain_stay_readable_and_verify_as_unchained(
    app: LedgerApp,
) -> None:
    """Event versioning: version 1 of every loan event had no ``chain`` (added by version 2)
    and no ``recorded_by`` (version 3); stored v1 events are upcast on reading
    (``upcast_v1_v2``, ``upcast_v2_v3``) and the loan loads and verifies."""
    [ref] = random_book(app, seed=71, loans=1, days=15)
    loan = app.get_loan(ref)
    for version in range(1, loan.version + 1):
        state = stored_state(app, loan.id, version)
        assert state.pop("class_version") in (3, 4)  # InterestAccrued is at version 4
        del state["recorded_by"]
        del state["chain"]
        overwrite_state(app, loan.id, version, state)  # now exactly what v1 wrote
    as_before_checkpoints(app, loan.id)
    events = app.loan_events(ref)
    assert {e.chain for e in events} == {GENESIS}
    assert {e.recorded_by for e in events} == {""}
    assert app.get_loan(ref).principal_outstanding == loan.principal_outstanding
    assert audit.verify_loan(app, ref).clean


def test_a_loan_recorded_before_exact_accruals_reads_and_verifies_as_recorded(
    app: LedgerApp,
) -> None:
    """Before exact accruals, ``InterestAccrued`` (version 3) had the day's rate already
    divided and no ``divisor``, and the terms no ``arithmetic``. Such a loan is read with
    ``decimal28`` arithmetic for life: its figures stay the ones it showed (penalty 0.07,
    not the exact 0.08) and its history verifies clean."""
    legacy = replace(TIE, arithmetic=Arithmetic.DECIMAL28)
    loan = lived(legacy, date(2024, 8, 4), loan_id=loan_id_for("TIE"))
    app.save(loan)
    for version in range(1, loan.version + 1):
        state = stored_state(app, loan.id, version)
        state.pop("class_version", None)  # as version 1 wrote them: no chain, no asker
        for name in ("chain", "recorded_by", "divisor"):
            state.pop(name, None)
        if "terms" in state:
            del state["terms"]["arithmetic"]
        overwrite_state(app, loan.id, version, state)
    as_before_checkpoints(app, loan.id)
    read = app.get_loan("TIE")
    assert read.terms.arithmetic is Arithmetic.DECIMAL28
    assert read.figures().penalty_accrued == Decimal("0.07")
    assert read.derived_state() == loan.derived_state()
    verified = audit.verify_loan(app, "TIE")
    assert verified.clean and verified.unchained == loan.version


def test_events_sealed_before_their_class_gained_fields_still_verify(app: LedgerApp) -> None:
    """A store written by version 2 of the event classes: chained and sealed with the key,
    but without ``recorded_by`` (version 3), ``divisor`` and the terms' ``arithmetic``
    (version 4). Read today, the upcasts add those fields; the seals still check, as they
    are checked against the form they were made of, and a changed amount still breaks."""
    legacy = replace(TIE, arithmetic=Arithmetic.DECIMAL28)
    loan = lived(legacy, date(2024, 8, 4), loan_id=loan_id_for("OLD"))
    app.save(loan)
    previous = GENESIS
    for event in app.loan_events("OLD"):
        version = int(event.originator_version)
        as_sealed = sealed_forms({k: v for k, v in vars(event).items() if k != "chain"})[2]
        previous = link(previous, type(event).__name__, loan.id, version, as_sealed)
        state = stored_state(app, loan.id, version)
        state["class_version"] = 2
        for name in ("recorded_by", "divisor"):
            state.pop(name, None)
        if "terms" in state:
            del state["terms"]["arithmetic"]
        state["chain"] = previous
        overwrite_state(app, loan.id, version, state)
    as_before_checkpoints(app, loan.id)
    verified = audit.verify_loan(app, "OLD")
    assert verified.clean and verified.unchained == 0 and verified.unkeyed == 0
    accrual = first_version_of(app, "OLD", "InterestAccrued")
    state = stored_state(app, loan.id, accrual)
    state["days"] = int(state["days"]) + 1
    overwrite_state(app, loan.id, accrual, state)
    assert not audit.verify_loan(app, "OLD").clean


def test_explain_adds_up_to_the_fen_for_random_loans_on_any_day(app: LedgerApp) -> None:
    refs = random_book(app, seed=73, loans=15, days=100)
    rng = random.Random(73)
    checked = 0
    for ref in refs:
        loan = app.get_loan(ref)
        for as_of in (None, loan.terms.disbursed_on + timedelta(days=rng.randint(30, 70))):
            if as_of is not None and (as_of > loan.closed_through or loan.is_closed):
                continue
            result = explain(app, ref, as_of=as_of)
            assert result["adds_up"], (ref, as_of, result["figures"])
            state = views.loan_state(app.loan_as_of(ref, as_of), as_of)
            for name in ("principal_outstanding", "interest_accrued", "penalty_accrued"):
                assert result["figures"][name]["figure"] == state[name]
            checked += 1
    assert checked >= 20


def test_state_as_known_at_a_time_differs_from_state_as_of_a_business_day(
    app: LedgerApp,
) -> None:
    [ref] = random_book(app, seed=79, loans=1, days=10)
    loan = app.get_loan(ref)
    day = loan.next_open_day
    before_repayment = datetime.now(UTC)
    time.sleep(0.01)
    loan_now = app.loan_as_of(ref)
    app.close_days(day)  # another business day is recorded later
    as_known = audit.loan_at(app, ref, known_at=before_repayment)
    assert as_known.version == loan_now.version
    assert as_known.closed_through == day - timedelta(days=1)
    as_of = audit.loan_at(app, ref, as_of=day)
    assert as_of.closed_through == day and as_of.version > as_known.version
    both = audit.loan_at(app, ref, as_of=day, known_at=before_repayment)
    assert both.version == as_known.version
    with pytest.raises(Exception, match="nothing was recorded by"):
        audit.loan_at(app, ref, known_at=datetime(2000, 1, 1, tzinfo=UTC))


def test_what_if_with_the_loans_own_terms_shows_no_difference(app: LedgerApp) -> None:
    refs = random_book(app, seed=83, loans=10, days=100)
    for ref in refs:
        same = audit.what_if(app, ref, {})
        assert same["total"]["difference"] == "0.00", ref
        assert all(row["difference"] == "0.00" for row in same["installments"])


def test_what_if_without_penalty_removes_exactly_the_penalty_charged(app: LedgerApp) -> None:
    app.open_loan(
        terms_from_input(
            product="equal_principal",
            principal="1000.00",
            term=2,
            disbursed_on=date(2026, 3, 1),
            daily_rate="0.0005",
        ),
        "EX5",
    )
    app.set_balance("EX5", Decimal(0))
    app.close_days(date(2026, 4, 5))
    result = audit.what_if(app, "EX5", {"penalty_multiplier": "0"})
    charged = result["total"]["charged"]
    would = result["total"]["would_have_been"]
    assert charged["penalty"] == "1.55"  # spec example 5: 1.546500 through 2026-04-05
    assert would["penalty"] == "0.00"
    assert Decimal(result["total"]["difference"]) == -Decimal("1.55")


def test_the_audit_commands_work_through_the_cli(ledger: Ledger) -> None:
    ledger.ok("loan", "open", "--product", "equal_principal", "--principal", "1000.00",
              "--term", "2", "--disbursed-on", "2026-03-01", "--daily-rate", "0.0005",
              "--loan-id", "EX5")  # fmt: skip
    ledger.ok("bank", "set-balance", "EX5", "0")
    ledger.ok("close-day", "--through", "2026-04-05")
    explained = ledger.ok("loan", "explain", "EX5")
    assert explained["adds_up"] is True
    penalty = explained["figures"]["penalty_accrued"]
    assert penalty["figure"] == "1.55"
    assert [line["amount"] for line in penalty["lines"]] == ["0.386625"] * 4
    verified = ledger.ok("audit", "verify", "--all")
    assert verified == {"loans": 1, "clean": True, "checkpoints": [], "results": []}
    assert ledger("audit", "verify", "EX5").code == 0
    before = ledger.event_count()
    what = ledger.ok("audit", "what-if", "EX5", "--set", "penalty_multiplier=1.3")
    assert ledger.event_count() == before  # nothing is written
    assert what["total"]["would_have_been"]["penalty"] == "1.34"  # 515.50 x 0.0005 x 1.3 x 4
    human = ledger("loan", "explain", "EX5", "--as-of", "2026-04-03")
    assert human.code == 0 and "every figure adds up" in human.out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["audit", "verify"], "exactly one of LOAN_ID and --all"),
        (["audit", "verify", "EX5", "--all"], "exactly one of LOAN_ID and --all"),
        (["audit", "verify", "NOBODY"], "unknown loan NOBODY"),
        (["audit", "what-if", "EX5", "--set", "colour=blue"], "not a term that can be changed"),
        (["audit", "what-if", "EX5", "--set", "penalty_multiplier=lots"], "penalty_multiplier"),
        (["audit", "what-if", "EX5", "--set", "penalty_multiplier"], "expected TERM=VALUE"),
        (["audit", "what-if", "EX5", "--set", "penalty_multiplier=-1"], "penalty_multiplier"),
        (["loan", "explain", "EX5", "--known-at", "yesterday"], "not a timestamp"),
        (["loan", "explain", "EX5", "--as-of", "2026-02-30"], "not a date"),
        (["loan", "show", "EX5", "--known-at", "1999-01-01T00:00:00"], "nothing was recorded"),
    ],
)
def test_bad_input_to_the_audit_commands_is_one_line_and_writes_nothing(
    ledger: Ledger, args: list[str], needle: str
) -> None:
    ledger.ok("loan", "open", "--product", "equal_principal", "--principal", "1000.00",
              "--term", "2", "--disbursed-on", "2026-03-01", "--daily-rate", "0.0005",
              "--loan-id", "EX5")  # fmt: skip
    assert_refused(ledger, args, needle)


def test_a_loan_restored_from_a_snapshot_taken_before_the_new_state_still_works() -> None:
    """Snapshots are state too: one taken before ``chain_head`` and the waiver/refund totals
    existed restores with their defaults and the loan goes on."""
    from eventsourcing.domain import Snapshot

    loan = Loan.disburse(
        terms_from_input(
            product="equal_principal",
            principal="1000.00",
            term=2,
            disbursed_on=date(2026, 1, 1),
            daily_rate="0.0005",
        ),
        loan_id=UUID(int=7),
    )
    for offset in range(40):
        day = date(2026, 1, 1) + timedelta(days=offset)
        loan.fix_due_installments(day)
        loan.close_day(day)
    snapshot = Snapshot.take(loan)
    old_state = {
        k: v
        for k, v in snapshot.state.items()
        if k not in ("chain_head", "penalty_waived", "interest_waived", "refunds_due")
    }
    object.__setattr__(snapshot, "state", old_state)
    restored: Any = snapshot.mutate(None)
    assert (restored.penalty_waived, restored.refunds_due, restored.chain_head) == (0, 0, GENESIS)
    restored.close_day(date(2026, 2, 10))
    assert restored.version == loan.version + 1
