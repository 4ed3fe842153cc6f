"""The compact stored form of events (issue 18, point 5; :mod:`ledger.adapters.codec`).

Each stored event of a random book (every product, corrections, snapshots) is written again
in the library's tagged form; both forms must read back to the same event, value for value
and type for type, and the compact form must be much smaller.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent

from ledger.adapters.codec import LedgerTranscoder, stored_text
from ledger.adapters.persistence import register_transcodings
from ledger.services.application import LedgerApp
from tests.store.test_projections import random_book


def typed(value: Any) -> Any:
    """A value with the type of every part of it, for comparisons that see ``"1"`` != 1."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [type(value).__name__, *(typed(v) for v in value)]
    return (type(value).__name__, value)


def library_mapper() -> Mapper[UUID]:
    transcoder = JSONTranscoder()
    register_transcodings(transcoder)
    return Mapper(transcoder=transcoder)


def stored_rows(app: LedgerApp) -> list[StoredEvent]:
    notifications = app.recorder.select_notifications(start=None, limit=10**6)
    return [
        StoredEvent(n.originator_id, n.originator_version, n.topic, n.state) for n in notifications
    ]


def test_every_event_reads_back_the_same_from_the_compact_and_the_tagged_form(
    app: LedgerApp,
) -> None:
    refs = random_book(app, seed=18, loans=12, days=75, newer_terms=True)
    app.repay_backdated(refs[0], Decimal("50.00"), date(2026, 2, 10), actor="t", reason="late")
    library = library_mapper()
    compact = tagged = 0
    kinds = set()
    for row in stored_rows(app):
        event = app.mapper.to_domain_event(row)
        old_form = library.to_stored_event(event)
        assert typed(app.mapper.to_domain_event(old_form).__dict__) == typed(event.__dict__)
        assert typed(library.to_domain_event(old_form).__dict__) == typed(event.__dict__)
        again = app.mapper.to_stored_event(event)
        assert again.state == row.state  # the compact form is what the store holds
        compact, tagged = compact + len(row.state), tagged + len(old_form.state)
        kinds.add(row.topic.rsplit(".", 1)[-1])
    assert {"Disbursed", "InterestAccrued", "InstallmentFellDue", "Corrected"} <= kinds
    assert compact < 0.7 * tagged, (compact, tagged)


def test_snapshots_read_back_the_same_from_the_compact_and_the_tagged_form(
    app: LedgerApp,
) -> None:
    random_book(app, seed=19, loans=3, days=120)
    assert app.snapshots is not None
    library = library_mapper()
    rows = app.snapshots.recorder.select_events(_a_loan_id(app))
    assert rows, "the book takes snapshots"
    for row in rows:
        snapshot = app.mapper.to_domain_event(row)
        old_form = library.to_stored_event(snapshot)
        assert typed(app.mapper.to_domain_event(old_form).__dict__) == typed(snapshot.__dict__)
        assert typed(library.to_domain_event(old_form).__dict__) == typed(snapshot.__dict__)


def _a_loan_id(app: LedgerApp) -> UUID:
    """The loan with the most events (the first to have crossed a snapshot interval)."""
    counts: dict[UUID, int] = {}
    for row in stored_rows(app):
        if row.topic.endswith("Loan.InterestAccrued"):
            loan_id = UUID(str(row.originator_id))
            counts[loan_id] = counts.get(loan_id, 0) + 1
    return max(counts, key=lambda i: counts[i])


def test_nested_values_carry_short_tags_and_the_librarys_tags_still_read() -> None:
    transcoder = LedgerTranscoder()
    register_transcodings(transcoder)
    data = transcoder.encode({"penalties": [{"k": 1, "amount": Decimal("0.056784")}]})
    assert data == b'{"penalties":[{"k":1,"amount":{"#dec":"0.056784"}}]}'
    old = b'{"on":{"_type_":"date_iso","_data_":"2026-01-01"},"x":{"#not-a-tag":"1"}}'
    assert transcoder.decode(old) == {"on": date(2026, 1, 1), "x": {"#not-a-tag": "1"}}
    assert [stored_text(v) for v in ("2026-01-01", {"#date": "2026-01-01"})] == ["2026-01-01"] * 2
