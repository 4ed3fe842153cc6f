"""Auditing a loan: explain a balance, time travel, verify by replay, what-if.

Thin application services over the store: they load a loan's events and hand them to the
domain (:mod:`ledger.domain.replay`, :mod:`ledger.domain.chain`) or read them line by line to
show where every figure of a balance came from.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.application import LedgerApp
from ledger.domain import rules
from ledger.domain.chain import chain_summary, first_broken_link, unchained_count
from ledger.domain.charges import PARTS, charges
from ledger.domain.errors import CommandRefused
from ledger.domain.loan import Loan
from ledger.domain.replay import Discrepancy, facts_of, replay, run_facts, terms_of
from ledger.money import FEN, ZERO, fmt, round_to
from ledger.products import terms_from_input

WHAT_IF_TERMS = (
    "daily_rate",
    "annual_rate",
    "day_count",
    "method",
    "prepayment_fee_rate",
    "penalty_multiplier",
    "grace_days",
    "installment_multiple",
    "rounding",
)


# --------------------------------------------------------------------------- time travel


def events_until(app: LedgerApp, loan_id: UUID, *, known_at: datetime | None = None) -> list[Any]:
    """The loan's events recorded by ``known_at`` (all of them without it)."""
    result = []
    event: Any
    for event in app.events.get(loan_id):
        if known_at is not None and event.timestamp > known_at:
            break
        result.append(event)
    return result


def loan_at(
    app: LedgerApp, reference: str, *, as_of: date | None = None, known_at: datetime | None = None
) -> Loan:
    """The loan at the end of business day ``as_of`` as the ledger knew it at ``known_at``
    (either may be omitted)."""
    return history_at(app, reference, as_of=as_of, known_at=known_at)[0]


def history_at(
    app: LedgerApp, reference: str, *, as_of: date | None = None, known_at: datetime | None = None
) -> tuple[Loan, list[Any], bool]:
    """The loan, the events that built it, and whether they were recomputed from corrected
    facts (a correction known at ``known_at`` changes the past of business time)."""
    loan = app.get_loan(reference)
    known: list[Any] = events_until(app, loan.id, known_at=known_at)
    if not known:
        raise CommandRefused(
            f"loan {loan.label}: nothing was recorded by {known_at} "
            f"(its first event was recorded at {_first_recorded(app, loan.id)})"
        )
    if any(isinstance(e, Loan.Corrected) for e in known):
        if as_of is not None:
            _check_as_of(loan, as_of)
        run = run_facts(known[0], facts_of(known), until=as_of)
        return run.loan, run.events, True
    if as_of is None and known_at is None:
        return loan, known, False
    if as_of is not None:
        _check_as_of(loan, as_of)
        known = [e for e in known if e.on <= as_of]
    past: Any = app.repository.get(loan.id, version=known[-1].originator_version)
    assert isinstance(past, Loan)
    return past, known, False


def _check_as_of(loan: Loan, as_of: date) -> None:
    if as_of < loan.terms.disbursed_on:
        raise CommandRefused(
            f"loan {loan.label}: {as_of} is before its disbursement on {loan.terms.disbursed_on}"
        )
    if as_of > loan.closed_through and not loan.is_closed:
        raise CommandRefused(
            f"loan {loan.label}: business day {as_of} is not closed yet "
            f"(closed through {loan.closed_through}); run close-day --through {as_of}"
        )


def _first_recorded(app: LedgerApp, loan_id: UUID) -> str:
    first: Any = next(iter(app.events.get(loan_id)))
    return str(first.timestamp.isoformat())


# --------------------------------------------------------------------------- verify


@dataclass
class Verification:
    loan_id: UUID
    label: str
    events: int
    discrepancies: list[Discrepancy] = field(default_factory=list)
    broken_link: tuple[int, str] | None = None
    unchained: int = 0  # leading events recorded before the hash chain existed

    @property
    def clean(self) -> bool:
        return not self.discrepancies and self.broken_link is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "loan_id": self.label,
            "uuid": str(self.loan_id),
            "events": self.events,
            "clean": self.clean,
            "unchained_events": self.unchained,
            "hash_chain": (
                chain_summary(self.unchained, self.events)
                if self.broken_link is None
                else {"first_broken_version": self.broken_link[0], "why": self.broken_link[1]}
            ),
            "discrepancies": [d.as_dict() for d in self.discrepancies],
        }


def verify_events(loan_id: UUID, label: str, events: Sequence[Any]) -> Verification:
    result = Verification(loan_id, label, len(events))
    result.broken_link = first_broken_link(events)
    result.unchained = unchained_count(events)
    try:
        result.discrepancies = replay(events).discrepancies
    except Exception as error:  # a history the rules cannot even start to replay
        result.discrepancies = [Discrepancy(1, "Disbursed", "replay", "", repr(error))]
    return result


def verify_loan(app: LedgerApp, reference: str) -> Verification:
    loan = app.get_loan(reference)
    return verify_events(loan.id, loan.label, list(app.events.get(loan.id)))


def verify_all(app: LedgerApp) -> Iterator[Verification]:
    """Every loan, read a batch of loans at a time (one query per batch, not per loan)."""
    app.directory.catch_up()
    loan_ids = sorted(app.directory.all_loan_ids())
    for start in range(0, len(loan_ids), app.batch_size):
        batch = loan_ids[start : start + app.batch_size]
        for loan_id, events in app.reader.events_of(batch).items():
            label = getattr(events[0], "reference", None) or str(loan_id)
            yield verify_events(loan_id, label, events)


# --------------------------------------------------------------------------- what-if


def what_if(app: LedgerApp, reference: str, settings: dict[str, str]) -> dict[str, Any]:
    """Replay the loan's facts under other terms; charged vs would-have-been, per installment
    and in total. Nothing is written."""
    unknown = sorted(set(settings) - set(WHAT_IF_TERMS))
    if unknown:
        raise CommandRefused(
            f"--set {unknown[0]}: not a term that can be changed "
            f"(one of: {', '.join(WHAT_IF_TERMS)})"
        )
    loan = app.get_loan(reference)
    events = list(app.events.get(loan.id))
    own = terms_of(events[0])
    fields: dict[str, Any] = {**own.as_event_fields(), **settings}
    if "annual_rate" in settings and "daily_rate" not in settings:
        fields["daily_rate"] = None
    if "daily_rate" in settings and "annual_rate" not in settings:
        fields["annual_rate"] = None
        fields["day_count"] = None
    other = terms_from_input(**{k: v for k, v in fields.items() if v not in ("", None)})
    facts = facts_of(events)
    actual = run_facts(events[0], facts, terms=own)
    alternative = run_facts(events[0], facts, terms=other)
    a_rows, a_total = charges(actual.loan, actual.events)
    b_rows, b_total = charges(alternative.loan, alternative.events)
    ks = sorted(set(a_rows) | set(b_rows))
    return {
        "loan_id": loan.label,
        "changed": {k: str(v) for k, v in settings.items()},
        "installments": [
            {
                "k": k,
                "charged": _shown(a_rows.get(k)),
                "would_have_been": _shown(b_rows.get(k)),
                "difference": fmt(
                    _total(b_rows.get(k)) - _total(a_rows.get(k)),
                ),
            }
            for k in ks
        ],
        "total": {
            "charged": _shown(a_total),
            "would_have_been": _shown(b_total),
            "difference": fmt(_total(b_total) - _total(a_total)),
        },
        "notes": alternative.notes,
        "refund_due": fmt(alternative.refund_due),
    }


def charged(events: Sequence[Any]) -> tuple[dict[int, dict[str, Decimal]], dict[str, Decimal]]:
    """What the loan charged, from the history its facts give under its own terms (the same
    replay what-if compares against): :func:`ledger.domain.charges.charges`."""
    actual = run_facts(events[0], facts_of(events), terms=terms_of(events[0]))
    return charges(actual.loan, actual.events)


def _total(row: dict[str, Decimal] | None) -> Decimal:
    return sum(row.values(), ZERO) if row else ZERO


def _shown(row: dict[str, Decimal] | None) -> dict[str, str]:
    row = row or {p: ZERO for p in PARTS}
    return {**{p: fmt(row[p]) for p in PARTS}, "total": fmt(_total(row))}


# --------------------------------------------------------------------------- explain


RECOMPUTED = "recomputed"


def _line(event: Any, amount: Decimal, what: str, rule: str) -> dict[str, Any]:
    recomputed = getattr(event, RECOMPUTED, False)
    return {
        "version": None if recomputed else event.originator_version,
        "date": event.on.isoformat(),
        "recorded_at": None if recomputed else event.timestamp.isoformat(),
        "event": type(event).__name__ + (" (recomputed)" if recomputed else ""),
        "amount": str(amount),
        "arithmetic": what,
        "rule": rule,
    }


def explain(
    app: LedgerApp, reference: str, *, as_of: date | None = None, known_at: datetime | None = None
) -> dict[str, Any]:
    """Every figure of the balance broken into the events that built it, with the arithmetic;
    the parts are added up and compared with the figure to the fen."""
    loan, events, recomputed = history_at(app, reference, as_of=as_of, known_at=known_at)
    if recomputed:  # lines from the corrected history carry no recorded version or time
        for e in events:
            object.__setattr__(e, RECOMPUTED, True)
    r = loan.terms.rounding
    mode = r.value
    principal_lines: list[dict[str, Any]] = []
    interest_lines: list[dict[str, Any]] = []
    per_k: dict[int, dict[str, list[dict[str, Any]]]] = {}

    def k_lines(k: int) -> dict[str, list[dict[str, Any]]]:
        return per_k.setdefault(k, {"interest": [], "penalty": [], "principal": []})

    for e in events:
        if isinstance(e, Loan.Disbursed):
            principal_lines.append(_line(e, e.terms["principal"], "principal disbursed", "§1"))
        elif isinstance(e, Loan.InstallmentFellDue):
            interest_lines = []  # section 5: the accrued interest became installment k's
            k_lines(e.k)["interest"].append(
                _line(
                    e,
                    e.interest,
                    f"round_{mode}({e.interest_accrued}) = {e.interest} interest of #{e.k}",
                    "§5",
                )
            )
            k_lines(e.k)["principal"].append(
                _line(e, e.principal, f"principal part of #{e.k} ({e.method})", "§5")
            )
        elif isinstance(e, Loan.InterestAccrued):
            arithmetic = f"{e.base} x {e.rate} x {e.days} = {e.normal}"
            if e.into == "period":
                interest_lines.append(_line(e, e.normal, arithmetic, "§4"))
            else:
                k_lines(loan.last_k)["interest"].append(
                    _line(e, e.normal, arithmetic + " (after the last due date)", "§4")
                )
            for p in e.penalties:
                k_lines(int(p["k"]))["penalty"].append(
                    _line(
                        e,
                        p["amount"],
                        f"{p['base']} x {e.rate} x {e.days} x {e.penalty_multiplier} = "
                        f"{p['amount']} on #{p['k']}",
                        "§4",
                    )
                )
        elif isinstance(e, Loan.Waived):
            for a in e.allocations:
                k = int(a["k"])
                k_lines(k)[e.part].append(
                    _line(e, -a["amount"], f"{e.part} of #{k} waived: {e.reason}", "waiver")
                )
        elif isinstance(e, (Loan.InstallmentDeducted, Loan.Repaid, Loan.Prepaid)):
            for a in e.allocations:
                k = int(a["k"])
                for part in ("penalty", "interest", "principal"):
                    if a[part]:
                        k_lines(k)[part].append(
                            _line(e, -a[part], f"{part} of #{k} paid ({type(e).__name__})", "§6")
                        )
                if a["principal"]:
                    principal_lines.append(
                        _line(
                            e, -a["principal"], f"principal of #{k} paid ({type(e).__name__})", "§6"
                        )
                    )
            if isinstance(e, Loan.Prepaid):
                interest_lines = []
                if e.principal:
                    principal_lines.append(
                        _line(
                            e,
                            -e.principal,
                            f"principal prepaid ({e.kind}); fee {e.fee_rate} x ... = {e.fee}",
                            "§7",
                        )
                    )
    figures: dict[str, Any] = {}
    principal_sum = sum((Decimal(x["amount"]) for x in principal_lines), ZERO)
    figures["principal_outstanding"] = {
        "figure": fmt(loan.principal_outstanding),
        "sum_of_parts": fmt(principal_sum),
        "adds_up": principal_sum == loan.principal_outstanding,
        "lines": principal_lines,
    }
    accrued = sum((Decimal(x["amount"]) for x in interest_lines), ZERO)
    rounded = round_to(accrued, FEN, r)
    figures["interest_accrued"] = {
        "figure": fmt(loan.interest_accrued_rounded),
        "sum_of_parts": str(accrued),
        "rounded": f"round_{mode}({accrued}) = {fmt(rounded)} (§7: rounded once, as a payoff)",
        "adds_up": rounded == loan.interest_accrued_rounded,
        "lines": interest_lines,
    }
    penalty_total = ZERO
    overdue_total = ZERO
    installments = []
    for inst in loan.installments:
        if inst.settled_on is not None:
            continue
        lines = k_lines(inst.k)
        accrued_penalty = sum(
            (Decimal(x["amount"]) for x in lines["penalty"] if Decimal(x["amount"]) > 0), ZERO
        )
        paid_penalty = -sum(
            (Decimal(x["amount"]) for x in lines["penalty"] if Decimal(x["amount"]) < 0), ZERO
        )
        owed = rules.unpaid_penalty(accrued_penalty, paid_penalty, r)
        penalty_total += owed
        interest_owed = sum((Decimal(x["amount"]) for x in lines["interest"]), ZERO)
        interest_owed_rounded = round_to(interest_owed, FEN, r)  # after-due accruals rounded
        principal_owed = sum((Decimal(x["amount"]) for x in lines["principal"]), ZERO)
        if inst.overdue_from is not None:
            overdue_total += interest_owed_rounded + principal_owed
        installments.append(
            {
                "k": inst.k,
                "due_date": inst.due_date.isoformat(),
                "overdue_from": inst.overdue_from.isoformat() if inst.overdue_from else None,
                "penalty": f"round_{mode}({accrued_penalty}) - paid {fmt(paid_penalty)} = "
                f"{fmt(owed)} (§6)",
                "interest_owed": fmt(interest_owed_rounded),
                "principal_owed": fmt(principal_owed),
                "lines": lines,
            }
        )
    state = _state(loan, as_of)
    unsettled = [i for i in loan.installments if i.settled_on is None]
    figures["penalty_accrued"] = {
        "figure": state["penalty_accrued"],
        "sum_of_parts": fmt(penalty_total),
        "rounded": "per installment: round(sum of its daily penalties) - paid (§6)",
        "adds_up": fmt(penalty_total) == state["penalty_accrued"],
        "lines": [x for i in unsettled for x in k_lines(i.k)["penalty"]],
    }
    figures["overdue_amount"] = {
        "figure": state["overdue_amount"],
        "sum_of_parts": fmt(overdue_total),
        "adds_up": fmt(overdue_total) == state["overdue_amount"],
        "lines": [
            x
            for i in unsettled
            if i.overdue_from is not None
            for part in ("interest", "principal")
            for x in k_lines(i.k)[part]
        ],
    }
    fees = [x for x in events if isinstance(x, Loan.Prepaid) and x.fee]
    figures["fees_paid"] = {
        "figure": fmt(loan.fees_paid),
        "sum_of_parts": fmt(sum((x.fee for x in fees), ZERO)),
        "adds_up": sum((x.fee for x in fees), ZERO) == loan.fees_paid,
        "lines": [
            _line(
                x,
                x.fee,
                f"prepayment fee {x.fee_rate} of the prepaid principal {x.principal} = {x.fee}",
                "§7",
            )
            for x in fees
        ],
    }
    return {
        "loan_id": loan.label,
        "as_of": state["as_of"],
        "known_at": known_at.isoformat() if known_at else None,
        "recomputed_from_corrected_facts": recomputed,
        "version": loan.version,
        "status": state["status"],
        "figures": figures,
        "unsettled_installments": installments,
        "adds_up": all(f["adds_up"] for f in figures.values()),
    }


def _state(loan: Loan, as_of: date | None) -> dict[str, Any]:
    from ledger import views

    return views.loan_state(loan, as_of)
