"""Every surface shows a loan's figures equal to the fen (issue 11, point 7).

For seeded random books (every product; empty and short linked accounts; repayments; partial
prepayments both ways; payoffs; back-dated repayments; reversed payments; waivers; 60 to 400
business days), each loan's figures are read through every surface that shows them, and must
be equal to the fen, the date they belong to (``as_of``) included:

- ``aggregate``: the ``Loan`` (``LoanState.figures``), with its balance and interest owed;
  at an earlier day, the loan rebuilt from its events up to that day (replayed from its facts
  once a correction changed the past);
- ``balances``: the balances projection's row (``projections.balances.shown``);
- ``cli``: ``ledger loan show --json`` and ``--as-of`` (a sample of loans per book);
- ``api``: ``GET /loans/{id}`` and ``?as_of=``;
- ``explain`` and ``explain parts``: explain's figures, and the sums of the lines it lists;
- ``report``: the dispute report's balance; its charged totals and money received;
- ``statement``: the latest statement's closing balance by part (principal + interest +
  penalty owed), and every earlier statement's closing balance against the balance recorded
  at the end of its cycle (statements are not reissued after a correction);
- ``ui``: the figures the audit page ``/ui/loans/{id}`` prints;
- ``replay``: a corrected loan replayed from its facts (for the others, the report's
  verification by replay must find no discrepancy);
- ``events``: sums over the loan's history: what was paid, what was charged (interest, penalty,
  fees) and the money received (less payments that bounced);
- ``what-if``: ``what-if`` with no change: ``total.charged``.

A failure lists, grouped by figure and by which surfaces disagree with which, every loan,
date and value, with the loan's history.
"""

from __future__ import annotations

import html
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.adapters.api_keys import new_key
from ledger.adapters.gateway import GatewaySettings
from ledger.domain.accounting import positions_of
from ledger.domain.collection import GatewayResult
from ledger.domain.errors import CommandRefused, LedgerError
from ledger.domain.loan import Loan
from ledger.domain.money import FEN, ZERO, fmt, round_to
from ledger.domain.replay import facts_of, run_facts, terms_of
from ledger.services.application import LedgerApp
from projections import Projections
from projections.balances import shown as balance_shown
from tests.conftest import Ledger
from tests.store.test_projections import _random_payment, random_book

# (seed, loans, business days): 200 random loans per store, books of 60 to 400 days; an even
# number of books of about the same cost, so two workers share them evenly
BOOKS = [
    (101, 94, 60),
    (102, 62, 100),
    (103, 28, 180),
    (104, 16, 400),
]
CLI_SAMPLE = 10  # loans per book also read through ``ledger loan show`` (every call opens
# the store and catches the balances projection up)

FIGURES = (
    "as_of",
    "day_closed",  # whether as_of's end of day has run (shown where a surface says so)
    "status",
    "principal_outstanding",
    "interest_accrued",
    "penalty_accrued",
    "overdue_amount",
    "amount_due",
    "days_past_due",
    "principal_repaid",
    "interest_paid",
    "penalty_paid",
    "fees_paid",
    "credit",  # owed to the borrower (loan-rules section 12), shown by every balance
    "next_due_date",
    "closed_on",
)

Shown = dict[str, str]  # figure -> value as shown (amounts with two decimals, dates ISO)


# --------------------------------------------------------------------------- the book


def book(app: LedgerApp, *, seed: int, loans: int, days: int) -> list[str]:
    """``random_book`` for the first two thirds of the days (every product, empty and short
    accounts, repayments, partial prepayments both ways, payoffs), then the rest with
    corrections mixed in: back-dated repayments, reversed payments, waivers. The last day is
    left open with payments on it, so some loans' newest figures belong to a day not closed."""
    start = date(2026, 1, 1)
    first = max(days * 2 // 3, 40)
    refs = random_book(app, seed=seed, loans=loans, days=first, newer_terms=True)
    rng = random.Random(seed * 7919)
    end = start + timedelta(days=days)
    day = start + timedelta(days=first + 1)
    # from here on the bank is asynchronous (loan-rules section 17): requests answered one to
    # three days later, a fifth of them bounced; the results are polled as each pass ends
    app.gateway_settings = GatewaySettings(delay_days=rng.randint(1, 3), bounce_rate=Decimal("0.2"))
    app.non_accrual_after = 15  # and loans 15 days past due stop accruing income (section 15)
    while True:
        app.close_days(day - timedelta(days=1))
        app.poll_gateway(day - timedelta(days=1))
        still_open = [ref for ref in refs if not app.get_loan(ref).is_closed]
        k = max(3, len(refs) // 6)
        # mostly open loans (a long book has few left), some closed ones (a reversal reopens)
        picked = rng.sample(still_open, k=min(k, len(still_open))) + rng.sample(refs, k=k // 3)
        for ref in picked:
            if rng.random() < 0.45:
                _random_correction(app, rng, ref, day)
            else:
                _random_payment(app, rng, ref, day)
        if day >= end:  # the last day stays open; one bounce and one write-off at least
            next((ref for ref in refs if _bounce_a_settlement(app, rng, ref)), None)
            _write_off_the_latest_payer(app, refs, day)
            _restructure_and_waive_once(app, refs, day)
            return refs
        day = min(day + timedelta(days=rng.randint(5, 25)), end)


def _random_correction(app: LedgerApp, rng: random.Random, ref: str, day: date) -> None:
    """A back-dated repayment, a reversed payment or a waiver (a closed loan: a reversal)."""
    loan = app.get_loan(ref)
    first = loan.terms.disbursed_on
    if loan.is_written_off:  # section 14: money may still come, as a recovery
        amount = min(loan.written_off_outstanding, Decimal(rng.randint(10_00, 500_00)) / 100)
        app.recover(ref, amount, on=day, actor="agency", reason="recovered")
        return
    choice = 0.5 if loan.is_closed else rng.random()
    if choice >= 0.9:  # a decision: a write-off (section 14) or a restructuring (section 16)
        _random_decision(app, rng, loan, ref)
        return
    try:
        if choice < 0.35:
            last = loan.closed_through
            if last < first:
                return
            on = first + timedelta(days=rng.randint(0, (last - first).days))
            amount = Decimal(rng.randint(20_00, 1500_00)) / 100
            app.repay_backdated(ref, amount, on, actor="teller", reason="paid at the counter")
        elif choice < 0.42:
            _bounce_a_settlement(app, rng, ref)
        elif choice < 0.65:
            recorded = app.loan_events(ref)
            reversed_ = {
                e.reverses for e in recorded if isinstance(e, Loan.Corrected) and e.reverses
            }
            payments = [
                e.originator_version
                for e in recorded
                if isinstance(e, Loan.InstallmentDeducted | Loan.Repaid)
                and e.originator_version not in reversed_
            ]
            if payments:
                app.reverse(ref, rng.choice(payments), actor="ops", reason="returned unpaid")
        else:
            part = rng.choice(["penalty", "interest"])
            owed = sum((o.penalty if part == "penalty" else o.interest for o in loan.owed()), ZERO)
            if owed <= ZERO:
                return
            share = Decimal(rng.choice([25, 50, 100])) / 100
            amount = max(round_to(owed * share, FEN), FEN)
            app.waive(ref, part=part, amount=amount, on=day, actor="cs", reason="goodwill")
    except CommandRefused:
        pass  # e.g. a waiver of more than the morning left owed


def _random_decision(app: LedgerApp, rng: random.Random, loan: Loan, ref: str) -> None:
    """A loan 60 days past due is written off; another is restructured: a longer term, a
    lower rate, or a payment holiday (four eyes are the service's; here the decision is
    carried out as the approval would)."""
    try:
        if loan.figures().days_past_due >= 20:
            app.write_off(ref, on=None, actor="collections", reason="uncollectable")
            return
        asked = rng.choice(["term", "rate", "holiday"])
        rate = loan.terms.daily_rate or loan.terms.annual_rate or ZERO
        app.restructure(
            ref,
            on=None,
            term=loan.last_k + rng.randint(1, 6) if asked == "term" else None,
            rate=(rate * Decimal("0.8")).quantize(Decimal("0.000001")) if asked == "rate" else None,
            holiday=rng.randint(1, 2) if asked == "holiday" else None,
            actor="hardship-desk",
            reason="hardship",
        )
    except LedgerError:
        pass  # e.g. a rate on a bank_installment loan, a holiday with nothing left to move


def _write_off_the_latest_payer(app: LedgerApp, refs: list[str], day: date) -> None:
    """Unless the book has one, the loan most days past due is written off, and 10.00 of it
    recovered (section 14)."""
    written_off = [ref for ref in refs if app.get_loan(ref).is_written_off]
    if written_off:
        if not any(app.get_loan(ref).recovered for ref in written_off):
            app.recover(written_off[0], Decimal("10.00"), on=day, actor="agency", reason="paid")
        return
    overdue = sorted(
        (-app.get_loan(ref).figures().days_past_due, ref)
        for ref in refs
        if not app.get_loan(ref).is_closed and app.get_loan(ref).figures().days_past_due
    )
    for _, ref in overdue:
        try:
            app.write_off(ref, on=None, actor="collections", reason="uncollectable")
        except LedgerError:
            continue  # e.g. a deduction awaiting the bank's result
        app.recover(ref, Decimal("10.00"), on=day, actor="agency", reason="recovered")
        return


def _restructure_and_waive_once(app: LedgerApp, refs: list[str], day: date) -> None:
    """Unless the book has them, one open loan is restructured (a longer term) and one has
    1.00 (at most what it owes) of penalty or interest waived."""
    kinds = {type(e) for ref in refs for e in app.loan_events(ref)}
    open_refs = [ref for ref in refs if not app.get_loan(ref).is_closed]
    for ref in open_refs if Loan.Restructured not in kinds else []:
        loan = app.get_loan(ref)
        try:
            app.restructure(ref, on=None, term=loan.last_k + 2, rate=None, actor="desk", reason="r")
            break
        except LedgerError:
            continue
    for ref in open_refs if Loan.Waived not in kinds else []:
        owed = app.loan_as_of(ref).owed()
        for part in ("penalty", "interest"):
            amount = sum((getattr(o, part) for o in owed), ZERO)
            if amount > ZERO:
                try:
                    app.waive(ref, part=part, amount=min(amount, Decimal("1.00")), on=day,
                              actor="cs", reason="goodwill")  # fmt: skip
                    return
                except LedgerError:
                    continue


def _bounce_a_settlement(app: LedgerApp, rng: random.Random, ref: str) -> bool:
    """A request the gateway settled comes back bounced (section 17: the money never came)."""
    results: list[tuple[str, dict[str, Any]]] = [
        (e.kind, e.result)
        for e in app.loan_events(ref)
        if isinstance(e, Loan.Corrected) and e.kind in ("settlement", "bounce") and e.result
    ]
    bounced = {r["request_id"] for kind, r in results if kind == "bounce"}
    settled = [
        r
        for kind, r in results
        if kind == "settlement" and r["collected"] and r["request_id"] not in bounced
    ]
    if not settled or app.get_loan(ref).is_written_off:
        return False
    r = rng.choice(settled)
    returned = GatewayResult(f"return-{r['result_id']}", r["request_id"], "bounced", ZERO)
    app.execute(lambda: app.record_results([returned], channel="file"))
    return True


# --------------------------------------------------------------------------- the surfaces


@dataclass
class Read:
    """What is read once per loan: the aggregate, its recorded events, its dispute report, and
    the loan rebuilt in memory from its events at the end of each day asked for."""

    ref: str
    loan: Loan
    recorded: list[Any]
    dispute: dict[str, Any]
    days: list[date]
    at_end_of: dict[date, Shown] = field(default_factory=dict)
    balance_after_event: list[tuple[date, Decimal]] = field(default_factory=list)
    history: list[Any] = field(default_factory=list)  # the events the figures come from
    replayed: Loan | None = None  # a corrected loan, replayed from all its facts

    @property
    def corrected(self) -> bool:
        return any(isinstance(e, Loan.Corrected) for e in self.recorded)


@dataclass
class Surfaces:
    """Everything that shows a loan's figures, over one store."""

    app: LedgerApp
    projections: Projections
    api: TestClient
    auditor: dict[str, str]
    ledger: Ledger

    def read(self, ref: str, rng: random.Random) -> Read:
        loan = self.app.get_loan(ref)
        recorded = self.app.loan_events(ref)
        read = Read(ref, loan, recorded, self.get(f"/loans/{ref}/report"), [])
        read.days = earlier_days(rng, loan, recorded)
        wanted = set(read.days)
        figures = loan.figures()
        if figures.day_closed or loan.is_closed:
            wanted.add(figures.as_of)
        read.at_end_of, read.balance_after_event = day_ends(recorded, wanted)
        read.history = recorded
        if read.corrected:  # business time: the past as the corrected facts give it
            facts = facts_of(recorded)
            run = run_facts(recorded[0], facts)
            read.history, read.replayed = run.events, run.loan
            for day in wanted:
                read.at_end_of[day] = figures_of(run_facts(recorded[0], facts, until=day).loan, day)
        return read

    def latest(self, read: Read, *, cli: bool) -> dict[str, Shown]:
        """The loan's newest figures, per surface."""
        ref, loan = read.ref, read.loan
        result: dict[str, Shown] = {}
        result["aggregate"] = {
            **figures_of(loan),
            "interest_owed": fmt(loan.interest_owed),
            "balance": fmt(loan.balance),
        }
        row = self.projections.balances.read(loan.id)
        assert row is not None, ref
        result["balances"] = comparable(balance_shown(row))
        if cli:
            result["cli"] = comparable(self.ledger.ok("loan", "show", ref))
        result["api"] = comparable(self.get(f"/loans/{ref}"))
        explained = self.get(f"/loans/{ref}/explain")
        result["explain"], result["explain parts"] = explain_figures(explained, loan)
        result["report"] = comparable(read.dispute["balance"])
        if "day_closed" in read.dispute:  # what its summary says: "at the end of D" or "on D"
            result["report summary"] = {"day_closed": str(read.dispute["day_closed"])}
        result["statement"] = latest_statement(self.projections, loan)
        result["ui"] = ui_figures(self.api.get(f"/ui/loans/{ref}"), ref)
        if read.replayed is not None:
            result["replay"] = figures_of(read.replayed)
        result["events"] = paid_from_events(read.history, loan)
        as_of = loan.figures().as_of
        if as_of in read.at_end_of:  # the day the figures say they belong to, at its end
            result["aggregate at the end of as_of"] = read.at_end_of[as_of]
        return result

    def as_of(self, read: Read, day: date, *, cli: bool) -> dict[str, Shown]:
        """The loan's figures at the end of business day ``day``, per surface that takes one."""
        ref = read.ref
        result: dict[str, Shown] = {"aggregate": read.at_end_of[day]}
        if cli:
            result["cli"] = comparable(self.ledger.ok("loan", "show", ref, "--as-of", str(day)))
        result["api"] = comparable(self.get(f"/loans/{ref}?as_of={day}"))
        explained = self.get(f"/loans/{ref}/explain?as_of={day}")
        result["explain"], result["explain parts"] = explain_figures(explained, read.loan)
        return result

    def charges(self, read: Read) -> dict[str, Shown]:
        """What the loan charged and the money received, per surface."""
        loan = read.loan
        totals = read.dispute["totals"]
        what_if = self.api.post(f"/loans/{read.ref}/what-if", json={}, headers=self.auditor)
        assert what_if.status_code == 200, (read.ref, what_if.text)
        charged = what_if.json()["total"]["charged"]
        paid = positions_of(loan).paid  # every part, compound interest and handling fees too
        verification = read.dispute["verification"]
        return {
            "report": {
                "charged_interest": totals["interest"],
                "charged_penalty": totals["penalty"],
                "charged_fees": totals["fees"],
                "received": totals["received"],
                "discrepancies found by replay": str(len(verification["discrepancies"])),
            },
            "what-if": {
                "charged_interest": charged["interest"],
                "charged_penalty": charged["penalty"],
                "charged_fees": charged["fee"],
            },
            "events": {
                **charged_from_events(read.history),
                "received": fmt(money_received(read.recorded)),
                "discrepancies found by replay": "0",
            },
            "aggregate (paid + refunds due)": {
                "received": fmt(paid + loan.refunds_due + loan.recovered)
            },
        }

    def get(self, path: str) -> Any:
        response = self.api.get(path, headers=self.auditor)
        assert response.status_code == 200, (path, response.text)
        return response.json()


def figures_of(loan: Loan, as_of: date | None = None) -> Shown:
    """The aggregate's own figures (``LoanState.figures``), as text."""
    f = loan.figures(as_of)
    shown: Shown = {}
    for name in FIGURES:
        value = getattr(f, name)
        if isinstance(value, Decimal):
            shown[name] = fmt(value)
        elif isinstance(value, date):
            shown[name] = value.isoformat()
        else:
            shown[name] = str(value)
    return shown


def comparable(state: dict[str, Any]) -> Shown:
    """The figures of a ``loan show``-shaped dict, as text."""
    return {k: str(state[k]) for k in FIGURES if k in state}


def explain_figures(explained: dict[str, Any], loan: Loan) -> tuple[Shown, Shown]:
    """Explain's figures, and the sums of the parts it lists for each."""
    figures = explained["figures"]
    shown = {"as_of": str(explained["as_of"]), "status": str(explained["status"])}
    parts = dict(shown)
    for name in (
        "principal_outstanding",
        "penalty_accrued",
        "overdue_amount",
        "fees_paid",
        "credit",
    ):
        shown[name] = str(figures[name]["figure"])
        parts[name] = fmt(Decimal(figures[name]["sum_of_parts"]))
    shown["interest_accrued"] = str(figures["interest_accrued"]["figure"])
    accrued = Fraction(figures["interest_accrued"]["sum_of_parts_exact"])
    parts["interest_accrued"] = fmt(round_to(accrued, FEN, loan.terms.rounding))
    return shown, parts


def latest_statement(projections: Projections, loan: Loan) -> Shown:
    """The latest statement's closing balance, by part, and whether its cycle holds as_of."""
    rows = projections.statements.read(loan.id)
    assert rows, loan.label
    last = rows[-1]
    as_of = loan.figures().as_of
    inside = (
        date.fromisoformat(last["period_start"]) <= as_of <= date.fromisoformat(last["period_end"])
    )
    return {
        "principal_outstanding": fen(last["closing_principal"]),
        "interest_owed": fen(last["closing_interest"]),
        # a split loan's statement counts its compound interest with the penalty (section 11)
        "penalty_accrued": fmt(
            Decimal(int(last["closing_penalty"])).scaleb(-2) - loan.compound_owed
        ),
        "balance": fen(last["closing_balance"]),
        # the latest cycle is the one the newest figures belong to
        "as_of": as_of.isoformat()
        if inside
        else f"outside {last['period_start']}..{last['period_end']}",
    }


def fen(value: int) -> str:
    return fmt(Decimal(int(value)).scaleb(-2))


UI_SENTENCE = re.compile(
    r"Status <b>(?P<status>\w+)</b> (?P<phrase>[a-z ]+?) (?P<as_of>\d{4}-\d{2}-\d{2}):"
    r" principal (?P<principal_outstanding>-?[\d.]+),"
    r" interest (?P<interest_accrued>-?[\d.]+),"
    r" penalty (?P<penalty_accrued>-?[\d.]+),"
    r" overdue (?P<overdue_amount>-?[\d.]+),"
    r" (?P<days_past_due>\d+) days past due"
)


def ui_figures(response: Any, ref: str) -> Shown:
    """The figures the audit page prints in its first paragraph."""
    assert response.status_code == 200, (ref, response.text[:300])
    text = html.unescape(response.text)
    found = UI_SENTENCE.search(text)
    assert found, f"{ref}: the audit page prints no figures: {text[:600]}"
    shown = dict(found.groupdict())
    claim = {"at the end of": "True", "on": "False"}.get(shown.pop("phrase"))
    if claim is not None:  # "as of" says nothing about the day being closed
        shown["day_closed"] = claim
    return shown


# --------------------------------------------------------------------------- from the events


def paid_from_events(events: list[Any], loan: Loan) -> Shown:
    """Paid totals and principal outstanding, summed over the payments' allocations (credit
    the morning used pays like money received, loan-rules §12)."""
    paid = {"principal": ZERO, "interest": ZERO, "penalty": ZERO, "fee": ZERO}
    written_off = ZERO  # section 14: principal taken off the book is not outstanding
    for e in events:
        if isinstance(e, Loan.WrittenOff):
            written_off += e.principal
        if isinstance(
            e, Loan.InstallmentDeducted | Loan.Repaid | Loan.Prepaid | Loan.CreditApplied
        ):
            for a in e.allocations:
                for part in ("principal", "interest", "penalty"):
                    paid[part] += a[part]
        if isinstance(e, Loan.Prepaid):
            paid["principal"] += e.principal
            paid["interest"] += e.interest
            paid["fee"] += e.fee
    return {
        "principal_outstanding": fmt(loan.terms.principal - paid["principal"] - written_off),
        "principal_repaid": fmt(paid["principal"]),
        "interest_paid": fmt(paid["interest"]),
        "penalty_paid": fmt(paid["penalty"]),
        "fees_paid": fmt(paid["fee"]),
    }


def charged_from_events(events: list[Any]) -> Shown:
    """Charged, summed over the history (loan-rules sections 4 to 7): interest fixed into the
    installments, accrued after the last due date (rounded once), collected with prepayments,
    and, while the loan is open, accrued since the last due date rounded as a payoff would;
    penalty rounded per installment; prepayment fees."""
    r = terms_of(events[0]).rounding
    fixed = after_due = since_due = prepaid = fees = ZERO
    penalties: dict[int, Decimal] = defaultdict(lambda: ZERO)
    compounds: dict[int, Decimal] = defaultdict(lambda: ZERO)
    closed = False
    for e in events:
        if isinstance(e, Loan.InstallmentFellDue):
            fixed += e.interest
            if not getattr(e, "holiday", None):  # a holiday's accrual goes on (section 16)
                since_due = ZERO
        elif isinstance(e, Loan.InterestAccrued):
            if e.into == "period":
                since_due += e.normal
            else:
                after_due += e.normal
            for p in e.penalties:  # a split entry's penalty and compound are rounded apart
                penalties[int(p["k"])] += p["penalty"] if "compound" in p else p["amount"]
                compounds[int(p["k"])] += p.get("compound", ZERO)
        elif isinstance(e, Loan.Prepaid):
            prepaid += e.interest
            fees += e.fee
            since_due = ZERO
        elif isinstance(e, Loan.HandlingFeeFellDue):  # section 13
            fees += e.fee
        elif isinstance(e, Loan.RemainingFeesAssessed):
            fees += e.charged
        elif isinstance(e, Loan.Closed):
            closed = True
    interest = fixed + round_to(after_due, FEN, r) + prepaid
    if not closed:
        interest += round_to(since_due, FEN, r)
    penalty = sum((round_to(v, FEN, r) for v in [*penalties.values(), *compounds.values()]), ZERO)
    return {
        "charged_interest": fmt(interest),
        "charged_penalty": fmt(penalty),
        "charged_fees": fmt(fees),
    }


def money_received(recorded: list[Any]) -> Decimal:
    """Money the borrower paid: deductions, repayments, prepayments and back-dated
    repayments, less the payments that bounced (reversed)."""
    total = ZERO
    amounts: dict[int, Decimal] = {}
    for e in recorded:
        if isinstance(e, Loan.InstallmentDeducted):
            amounts[e.originator_version] = e.collected
            total += e.collected
        elif isinstance(e, Loan.Repaid):
            amounts[e.originator_version] = e.amount
            total += e.amount
        elif isinstance(e, Loan.Prepaid):
            total += e.total
        elif isinstance(e, Loan.Recovered):  # section 14: money after the write-off
            total += e.amount
        elif isinstance(e, Loan.Corrected):
            if e.kind == "backdated_repayment" and e.amount is not None:
                total += e.amount
            elif e.kind == "reversal" and e.reverses is not None:
                total -= amounts[e.reverses]
            elif e.kind == "settlement":  # section 17: the request's money, taken
                amounts[int(e.reverses or 0)] = (e.result or {})["collected"]
                total += (e.result or {})["collected"]
            elif e.kind == "bounce":  # and given back
                total -= amounts[int(e.reverses or 0)]
    return total


def day_ends(
    recorded: list[Any], days: set[date]
) -> tuple[dict[date, Shown], list[tuple[date, Decimal]]]:
    """The loan rebuilt from its events as recorded (the aggregate's own ``mutate``): its
    figures at the end of each of ``days``, and (business date, balance owed) after each
    event."""
    figures: dict[date, Shown] = {}
    balances: list[tuple[date, Decimal]] = []
    loan: Any = None
    for i, e in enumerate(recorded):
        loan = e.mutate(loan)
        balances.append((e.on, loan.balance))
        following = recorded[i + 1].on if i + 1 < len(recorded) else date.max
        for day in days:
            if e.on <= day < following:
                figures[day] = figures_of(loan, day)
    return figures, balances


def finished_statements(projections: Projections, read: Read) -> list[tuple[date, str, str]]:
    """(cycle end, closing balance, balance recorded by then), for every statement but the
    latest. A statement is closed by the first event of a later day and never reissued: its
    closing balance is the balance after the events recorded before that one (a correction
    recorded later, even one dated earlier, goes on the statement current then)."""
    checked = []
    for row in projections.statements.read(read.loan.id)[:-1]:
        end = date.fromisoformat(row["period_end"])
        owed = ZERO
        for on, balance in read.balance_after_event:
            if on > end:
                break
            owed = balance
        checked.append((end, fen(row["closing_balance"]), fmt(owed)))
    return checked


# --------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Disagreement:
    """One figure of one loan at one date that the surfaces showing it do not show alike."""

    loan: str
    when: str  # "latest", "as of D", "charged", "cycle ending D"
    figure: str
    groups: tuple[tuple[str, tuple[str, ...]], ...]  # (value, surfaces), largest group first
    history: str

    @property
    def cause(self) -> str:
        """Which surfaces disagree with which, on which figure: the minority groups against
        the largest (named "the others" when it is more than two surfaces)."""
        (_, largest), *rest = self.groups
        others = " + ".join(largest) if len(largest) <= 2 else "the others"
        odd = " | ".join(" + ".join(s) for _, s in rest)
        when = self.when.split(" ")[0]
        return f"{self.figure} ({when}): {odd} vs {others}"

    def line(self) -> str:
        values = "; ".join(f"{' + '.join(s)} = {v}" for v, s in self.groups)
        return f"    {self.loan} {self.when}: {values}  [{self.history}]"


def disagreements(
    surfaces: dict[str, Shown], loan: str, when: str, history: str
) -> list[Disagreement]:
    """Every figure that not all the surfaces showing it show alike."""
    found = []
    names = sorted({f for shown in surfaces.values() for f in shown})
    for figure in names:
        by_value: dict[str, list[str]] = defaultdict(list)
        for surface, shown in surfaces.items():
            if figure in shown:
                by_value[shown[figure]].append(surface)
        if len(by_value) > 1:
            groups = sorted(by_value.items(), key=lambda kv: (-len(kv[1]), kv[1]))
            found.append(
                Disagreement(loan, when, figure, tuple((v, tuple(s)) for v, s in groups), history)
            )
    return found


def history_of(recorded: list[Any]) -> str:
    """A loan's history in one line: terms, then what happened (not the daily accruals)."""
    first = recorded[0]
    t = first.terms
    kinds: Counter[str] = Counter()
    for e in recorded[1:]:
        name = type(e).__name__
        if isinstance(e, Loan.InterestAccrued | Loan.InstallmentFellDue | Loan.Overdue):
            continue
        if isinstance(e, Loan.Prepaid):
            name = f"Prepaid {e.kind}" + (f" {e.replan}" if e.replan else "")
        elif isinstance(e, Loan.Corrected):
            name = f"Corrected {e.kind} eff. {e.effective_on}"
        elif isinstance(e, Loan.Waived):
            name = f"Waived {e.part} {fmt(e.amount)}"
        elif isinstance(e, Loan.Closed):
            name = f"Closed {e.reason} {e.on}"
        kinds[name] += 1
    events = ", ".join(f"{n} x{c}" if c > 1 else n for n, c in kinds.items())
    return f"{t['product']} {t['principal']} x{t['term']} from {first.on}: {events}"


def kinds_of(recorded: list[Any]) -> set[str]:
    """What happened to a loan, by kind (for the book's coverage)."""
    kinds = set()
    for e in recorded:
        name = type(e).__name__
        if isinstance(e, Loan.Prepaid):
            name = f"Prepaid {e.kind}" + (f" {e.replan}" if e.replan else "")
        elif isinstance(e, Loan.Corrected):
            name = f"Corrected {e.kind}"
        elif isinstance(e, Loan.Waived | Loan.Closed):
            name = type(e).__name__
        kinds.add(name)
    return kinds


COVERED = {
    "DeductionFailed",  # empty and short accounts
    "Overdue",
    "Repaid",
    "Prepaid partial reduce_installment",
    "Prepaid partial reduce_term",
    "Prepaid full",
    "Closed",
    "Corrected backdated_repayment",
    "Corrected reversal",
    "Waived",
    "WrittenOff",  # section 14
    "Recovered",
    "NonAccrualStarted",  # section 15
    "Restructured",  # section 16
    "DeductionRequested",  # section 17: an asynchronous gateway
    "Corrected settlement",
    "Corrected bounce",
}


def report_of(found: list[Disagreement], loans: int) -> str:
    """The disagreements grouped by cause, the most frequent first, three examples each."""
    by_cause: dict[str, list[Disagreement]] = defaultdict(list)
    for d in found:
        by_cause[d.cause].append(d)
    lines = [f"{len(found)} disagreements over {loans} loans:"]
    for cause, items in sorted(by_cause.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        affected = len({d.loan for d in items})
        lines.append(f"  {cause}: {len(items)} times on {affected} loans, e.g.")
        lines += [d.line() for d in items[:3]]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the test


@pytest.fixture
def surfaces(app: LedgerApp, ledger: Ledger) -> Iterator[Surfaces]:
    key, stored = new_key("agreement", "auditor")
    client = TestClient(create_app(app, [stored]), base_url="https://testserver")
    with client:
        signed_in = client.post("/ui/login", data={"key": key}, follow_redirects=False)
        assert signed_in.status_code == 303, signed_in.text  # the page is read with the cookie
        yield Surfaces(app, Projections(app), client, {"Authorization": f"Bearer {key}"}, ledger)


def earlier_days(rng: random.Random, loan: Loan, recorded: list[Any]) -> list[date]:
    """A business day already closed for the loan, besides its latest: half the time one on
    which something happened to it (a payment, a waiver, an installment falling due or
    overdue, a correction), else any (every surface with an as_of costs reads of the whole
    history, so one earlier day per loan; the book has hundreds)."""
    first = loan.terms.disbursed_on
    last = loan.closed_on if loan.closed_on is not None else loan.closed_through
    if last < first:
        return []
    eventful = sorted(
        {
            e.on
            for e in recorded
            if first <= e.on <= last and not isinstance(e, Loan.InterestAccrued | Loan.Disbursed)
        }
    )
    if eventful and rng.random() < 0.5:
        return [rng.choice(eventful)]
    return [first + timedelta(days=rng.randint(0, (last - first).days))]


@pytest.mark.parametrize(
    ("seed", "loans", "days"), BOOKS, ids=[f"seed{s}-{n}loans-{d}days" for s, n, d in BOOKS]
)
def test_every_surface_shows_each_loans_figures_equal_to_the_fen_on_every_day_asked(
    app: LedgerApp, surfaces: Surfaces, seed: int, loans: int, days: int
) -> None:
    refs = book(app, seed=seed, loans=loans, days=days)
    surfaces.projections.catch_up(["balances", "statements"])
    rng = random.Random(seed)
    sample = set(rng.sample(refs, k=min(CLI_SAMPLE, len(refs))))
    found: list[Disagreement] = []
    covered: set[str] = set()
    for ref in refs:
        read = surfaces.read(ref, rng)
        cli = ref in sample
        history = history_of(read.recorded)
        covered |= kinds_of(read.recorded) | {read.loan.figures().status}
        # statuses compared on earlier days count too: credit (loan-rules §12) now pays what a
        # correction or a waiver left over, so fewer loans of a long book end overdue
        covered |= {shown["status"] for shown in read.at_end_of.values()}
        found += disagreements(surfaces.latest(read, cli=cli), ref, "latest", history)
        for day in read.days:
            found += disagreements(surfaces.as_of(read, day, cli=cli), ref, f"as of {day}", history)
        found += disagreements(surfaces.charges(read), ref, "charged", history)
        for end, closing, owed in finished_statements(surfaces.projections, read):
            compared = {
                "statement": {"closing balance": closing},
                "recorded": {"closing balance": owed},
            }
            found += disagreements(compared, ref, f"cycle ending {end}", history)
    missing = sorted((COVERED | {"active", "overdue", "closed"}) - covered)
    lacks = f"the book has no {', '.join(missing)}\n" if missing else ""
    assert not found and not missing, lacks + report_of(found, len(refs))
