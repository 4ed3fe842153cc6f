"""Section 11's per-installment compound fields stay out of what an installment of a loan that
does not split penalty writes: a snapshot's sealed text and a correction's recorded state read
as before they existed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledger.domain.chain import plain
from ledger.domain.installment import COMPOUND_FIELDS, Installment


def test_an_installment_without_compound_interest_writes_what_it_wrote_before() -> None:
    inst = Installment(1, date(2026, 4, 1), Decimal("500.00"), Decimal("15.50"))
    assert not set(COMPOUND_FIELDS) & set(inst.as_dict())
    assert not set(COMPOUND_FIELDS) & set(plain(inst))
    assert not set(COMPOUND_FIELDS) & set(inst.derived())
    assert Installment(**inst.as_dict()) == inst


def test_an_installment_with_compound_interest_keeps_all_three() -> None:
    inst = Installment(1, date(2026, 4, 1), Decimal("500.00"), Decimal("15.50"))
    inst.compound_paid = Decimal("0.02")
    assert {name: inst.as_dict()[name] for name in COMPOUND_FIELDS} == {
        "compound_accrued": Decimal("0"),
        "compound_paid": Decimal("0.02"),
        "compound_waived": Decimal("0"),
    }
    assert Installment(**inst.as_dict()) == inst
