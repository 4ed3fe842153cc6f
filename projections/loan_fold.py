"""One loan folded from its events, for the read models: a :class:`LoanState` moved by the
domain's own :func:`~ledger.domain.loan.evolve`, plus what a projection stores with it.

The fold keeps only its storage here: its figures are the state's (one home for each
figure), and it is saved as canonical JSON (sorted keys, amounts as strings), so rebuilding a
projection from the first event gives byte-identical rows.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, get_type_hints
from uuid import UUID

import orjson

from ledger.domain.credit import credit_defaults
from ledger.domain.evolve import evolve
from ledger.domain.installment import Installment
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO, Rounding, fraction_text
from ledger.domain.state import LoanState
from ledger.domain.terms import Method, Terms
from projections.facts import Fact

INSTALLMENT_FIELDS = tuple(Installment.__dataclass_fields__)
STATE_TYPES = get_type_hints(LoanState)
# the state's own amounts and dates, stored as exact strings and ISO dates
AMOUNT_TYPES = (Decimal, Decimal | Fraction)  # exact accruals are fractions
DECIMAL_FIELDS = sorted(name for name, kind in STATE_TYPES.items() if kind in AMOUNT_TYPES)
DATE_FIELDS = sorted(name for name, kind in STATE_TYPES.items() if kind in (date, date | None))


class LoanFold(LoanState):
    """The state of one loan, built from its events in version order, with the loan's id,
    the version folded to, and a projection's own working state (``extra``)."""

    loan_id: UUID
    version: int
    extra: dict[str, Any]  # JSON values, or objects with ``as_json()``; saved with the fold

    @classmethod
    def disbursed(cls, fact: Fact) -> LoanFold:
        if not isinstance(fact.event, Loan.Disbursed):
            raise ValueError(f"loan {fact.loan_id}: starts with {fact.kind}, not Disbursed")
        fold = cls()
        fold.loan_id = fact.loan_id
        fold.version = fact.version
        fold.extra = {}
        evolve(fold, fact.event)
        return fold

    def apply(self, fact: Fact) -> None:
        """Move the fold by one event, with the aggregate's own :func:`evolve`."""
        if fact.version != self.version + 1:
            raise ValueError(
                f"loan {self.loan_id}: event version {fact.version} after {self.version}"
            )
        evolve(self, fact.event)
        self.version = fact.version

    # the terms the read models name often
    @property
    def product(self) -> str:
        return self.terms.product

    @property
    def method(self) -> Method:
        return self.terms.method

    @property
    def rounding(self) -> Rounding:
        return self.terms.rounding

    @property
    def principal(self) -> Decimal:
        return self.terms.principal

    @property
    def term(self) -> int:
        return self.terms.term

    @property
    def disbursed_on(self) -> date:
        return self.terms.disbursed_on

    # ------------------------------------------------------------------ storage

    def to_json(self) -> str:
        """The fold as canonical JSON (keys sorted, no spaces), written by ``orjson`` in one
        pass: amounts as exact strings (:func:`_json_default`), dates ISO, enums by value."""
        state: dict[str, Any] = {
            "loan_id": str(self.loan_id),
            "version": self.version,
            "reference": self.reference,
            "chain_head": self.chain_head,
            "terms": self.terms.as_event_fields(),
            "last_k": self.last_k,
            "status": self.status,
            "installments": [_row(i) for i in self.installments],
            "extra": self.extra,
        }
        for name in (*DECIMAL_FIELDS, *DATE_FIELDS):
            state[name] = getattr(self, name)
        if self.holiday_through:  # section 16, only where a payment holiday set it
            state["holiday_through"] = self.holiday_through
        return orjson.dumps(state, default=_json_default, option=FOLD_JSON).decode()

    @classmethod
    def from_json(cls, text: str) -> LoanFold:
        d = json.loads(text)
        fold = cls()
        fold.loan_id = UUID(d["loan_id"])
        fold.version = int(d["version"])
        fold.reference = d["reference"]
        fold.chain_head = d["chain_head"]
        terms = d["terms"]
        fold.terms = Terms.from_event_fields(
            {
                **terms,
                **{k: Decimal(terms[k]) for k in TERM_DECIMALS if terms[k] is not None},
                "disbursed_on": date.fromisoformat(terms["disbursed_on"]),
            }
        )
        fold.last_k = int(d["last_k"])
        fold.status = d["status"]
        absent = credit_defaults()  # a fold saved before credit existed (section 12): none
        for name in DECIMAL_FIELDS:  # section 13's handling_fees_charged: absent before, 0
            setattr(fold, name, amount_of(d[name]) if name in d else absent.get(name, ZERO))
        for name in DATE_FIELDS:  # section 10's piece_from: absent from older folds, None
            setattr(fold, name, _day(d[name]) if name in d else absent.get(name))
        fold.installments = [_installment(row) for row in d["installments"]]
        fold.holiday_through = int(d.get("holiday_through", 0))
        fold.extra = d["extra"]
        return fold


TERM_DECIMALS = (
    "principal",
    "daily_rate",
    "annual_rate",
    "prepayment_fee_rate",
    "penalty_multiplier",
    "installment_multiple",
)
INSTALLMENT_DATES = {"due_date", "overdue_from", "settled_on", "last_paid_on"}


FOLD_JSON = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _json_default(value: Any) -> Any:
    """What ``orjson`` does not write itself: amounts, exact accruals, a projection's
    objects with ``as_json()``."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Fraction):  # an exact accrual, always with its denominator
        return fraction_text(value)
    if hasattr(value, "as_json"):
        return value.as_json()
    raise TypeError(f"a fold cannot hold {type(value).__name__}")


def plain(value: Any) -> Any:
    """A JSON value: amounts as exact strings, dates ISO."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Fraction):  # an exact accrual, always with its denominator
        return fraction_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None


def _row(i: Installment) -> list[Any]:
    """An installment's fields in order; ``holiday`` (section 16, the last) only when true,
    so a fold of every other loan is saved as before it existed."""
    row = [getattr(i, name) for name in INSTALLMENT_FIELDS]
    return row if i.holiday else row[:-1]


def _installment(row: list[Any]) -> Installment:
    values: dict[str, Any] = {}
    if len(row) > len(INSTALLMENT_FIELDS):
        raise ValueError(f"an installment of {len(row)} fields, more than {INSTALLMENT_FIELDS}")
    # a fold saved before section 11 has no compound fields at the end: they are zero
    for name, value in zip(INSTALLMENT_FIELDS, row, strict=False):
        if name in INSTALLMENT_DATES:
            values[name] = _day(value)
        elif name == "k":
            values[name] = int(value)
        elif name == "holiday":  # section 16
            values[name] = bool(value)
        else:
            values[name] = amount_of(value)
    return Installment(**values)


def amount_of(text: str) -> Decimal | Fraction:
    """An amount as :func:`plain` wrote it: ``"12.34"``, or ``"27/360"`` (exact accrual)."""
    return Fraction(text) if "/" in text else Decimal(text)
