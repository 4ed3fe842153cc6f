"""Dispute cases (issue 14, point 1): open a case about a loan's charge, attach findings
computed from the ledger, decide it, close it; show one case, list cases.

Each command loads what it needs, lets the domain (:class:`~ledger.domain.dispute.Dispute`)
decide, and asks the store to save the case; run through ``LedgerApp.execute`` it is one unit
of work, so a refused command writes nothing. A finding is computed by the audit services
(:func:`ledger.services.audit.verify_loan`, :func:`~ledger.services.audit.what_if`,
:func:`ledger.services.explain.explain`) when it is attached and stored in its event: it
says what the ledger said then, whatever the loan does later.

Cases are listed from the notification log: its dispute events (selected by topic, a page at
a time, on SQLite and PostgreSQL alike) folded into cases in memory, with no table of their
own to keep. A case's reference is ``DSP-`` and its number in the store (one more than the
cases opened before it); two processes that open one at the same moment would make the same
id, and the second one's save fails the store's version check and is rerun with the next
number (``LedgerApp.execute``).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.domain.dispute import (
    STATUSES,
    Dispute,
    dispute_id_for,
    reference_for,
)
from ledger.domain.errors import CommandRefused, NotFound
from ledger.domain.money import fmt
from ledger.services import audit, explain
from ledger.services.application import LedgerApp
from ledger.services.event_log import count_of, created_as, events_by_originator
from ledger.services.parsing import UUID_FORM, loan_reference

EVENT_CLASSES = (Dispute.Opened, Dispute.FindingAttached, Dispute.Decided, Dispute.Closed)


def dispute_uuid(reference: str) -> UUID:
    """A case named by its reference (``DSP-000001``) or its UUID."""
    reference = loan_reference(reference, "dispute id")
    if UUID_FORM.fullmatch(reference):
        return UUID(reference)
    return dispute_id_for(reference)


def get_dispute(app: LedgerApp, reference: str) -> Dispute:
    """The case, or :class:`NotFound`; another aggregate's UUID (a loan's) is not read: its
    first event is not a case's."""
    found = created_as(app, dispute_uuid(reference), Dispute.Opened)
    if not isinstance(found, Dispute):
        raise NotFound(f"unknown dispute {reference}")
    return found


def _today(app: LedgerApp) -> date:
    return app.business_date.today().day


# --------------------------------------------------------------------------- commands


def open_dispute(
    app: LedgerApp,
    loan: str,
    *,
    charge: str,
    amount: Decimal,
    period: tuple[date, date],
    claim: str,
    received_by: str,
    channel: str,
    channel_ref: str,
    actor: str,
) -> Dispute:
    """A new case about loan ``loan`` (its reference or UUID); the dates concerned must lie
    between the loan's disbursement and the business date."""
    disputed = app.get_loan(loan)
    app.business_date.check(period[1], "--to")
    if period[0] < disputed.terms.disbursed_on:
        raise CommandRefused(
            f"--from {period[0]} is before loan {disputed.label} was disbursed "
            f"({disputed.terms.disbursed_on})"
        )
    case = Dispute.open(
        reference_for(count_of(app, Dispute.Opened) + 1),
        loan_id=disputed.id,
        loan_reference=disputed.label,
        charge=charge,
        amount=amount,
        period=period,
        claim=claim,
        received_by=received_by,
        channel=channel,
        channel_ref=channel_ref,
        actor=actor,
        on=_today(app),
    )
    app.save(case)
    return case


def attach(
    app: LedgerApp,
    reference: str,
    kind: str,
    *,
    settings: dict[str, str] | None = None,
    figure: str | None = None,
    note: str = "",
    actor: str,
) -> Dispute:
    """Attach a finding of ``kind`` (``verify``, ``what_if`` with ``settings``, ``explain``
    of ``figure``), computed now from the case's loan and stored with the case."""
    case = get_dispute(app, reference)
    case.check_open("attach a finding")
    loan = app.get_loan(case.loan_id)
    loan_ref = str(case.loan_id)
    subject: dict[str, Any] = {}
    if kind == "verify":
        result = audit.verify_loan(app, loan_ref).as_dict()
    elif kind == "what_if":
        if not settings:
            raise CommandRefused("a what-if finding needs at least one TERM=VALUE")
        subject = {"set": dict(settings)}
        result = audit.what_if(app, loan_ref, dict(settings))
    elif kind == "explain":
        result = _explained(app, loan_ref, figure)
        subject = {"figure": figure}
    else:
        raise CommandRefused(f"finding: {kind!r} is not one of verify, what_if, explain")
    case.attach(
        kind,
        subject=subject,
        loan_version=loan.version,
        result=_plain(result),
        note=note,
        actor=actor,
        on=_today(app),
    )
    app.save(case)
    return case


def _explained(app: LedgerApp, loan_ref: str, figure: str | None) -> dict[str, Any]:
    explained = explain.explain(app, loan_ref)
    figures: dict[str, Any] = explained["figures"]
    if figure not in figures:
        raise CommandRefused(
            f"--explain {figure}: not a figure of the loan (one of: {', '.join(figures)})"
        )
    return {
        "loan_id": explained["loan_id"],
        "as_of": explained["as_of"],
        "version": explained["version"],
        "status": explained["status"],
        **figures[figure],
    }


def _plain(result: dict[str, Any]) -> dict[str, Any]:
    """The finding as plain JSON (text, numbers, booleans, lists, objects), as stored."""
    plain: dict[str, Any] = json.loads(json.dumps(result, default=str))
    return plain


def decide(
    app: LedgerApp,
    reference: str,
    outcome: str,
    *,
    reasons: str,
    remedy: str = "",
    remedy_amount: Decimal | None = None,
    actor: str,
) -> Dispute:
    case = get_dispute(app, reference)
    case.decide(
        outcome,
        reasons=reasons,
        remedy=remedy,
        remedy_amount=remedy_amount,
        actor=actor,
        on=_today(app),
    )
    app.save(case)
    return case


def close(app: LedgerApp, reference: str, *, note: str, actor: str) -> Dispute:
    case = get_dispute(app, reference)
    case.close(note=note, actor=actor, on=_today(app))
    app.save(case)
    return case


# --------------------------------------------------------------------------- reads


def show(app: LedgerApp, reference: str) -> dict[str, Any]:
    """The case with every step: the claim, the findings, the decision, the closing."""
    case = get_dispute(app, reference)
    return case_view(list(app.events.get(case.id)))


def shown(app: LedgerApp, case: Dispute) -> dict[str, Any]:
    """A case just changed by a command (its new events not saved yet), as :func:`show`."""
    return case_view(app.history(case))


def _when(event: Any) -> dict[str, Any]:
    return {
        "on": event.on.isoformat(),
        "recorded_at": event.timestamp.isoformat(),
        "actor": event.actor,
    }


def case_view(events: list[Any]) -> dict[str, Any]:
    """A case from its events, as the CLI prints it (``--json``) and the API answers it."""
    opened: Dispute.Opened = events[0]
    view: dict[str, Any] = {
        "dispute_id": opened.reference,
        "uuid": str(opened.originator_id),
        "loan_id": opened.loan_reference,
        "loan_uuid": str(opened.loan_id),
        "status": "open",
        "version": events[-1].originator_version,
        "claim": {
            "charge": opened.charge,
            "amount": fmt(opened.amount),
            "from": opened.period_from.isoformat(),
            "to": opened.period_to.isoformat(),
            "text": opened.claim,
            "received_by": opened.received_by,
            "channel": opened.channel,
            "channel_ref": opened.channel_ref,
            **_when(opened),
        },
        "findings": [],
        "decision": None,
        "closure": None,
    }
    for e in events[1:]:
        if isinstance(e, Dispute.FindingAttached):
            view["findings"].append(_finding(e, len(view["findings"]) + 1))
        elif isinstance(e, Dispute.Decided):
            view["status"] = "decided"
            view["decision"] = {
                "outcome": e.outcome,
                "reasons": e.reasons,
                "remedy": e.remedy,
                "remedy_amount": None if e.remedy_amount is None else fmt(e.remedy_amount),
                **_when(e),
            }
        elif isinstance(e, Dispute.Closed):
            view["status"] = "closed"
            view["closure"] = {"note": e.note, **_when(e)}
    return view


def _finding(e: Dispute.FindingAttached, n: int) -> dict[str, Any]:
    finding = {
        "n": n,
        "kind": e.kind,
        "note": e.note,
        "subject": e.subject,
        "loan_version": e.loan_version,
        "result": e.result,
        **_when(e),
    }
    return {**finding, "summary": finding_summary(finding)}


def finding_summary(finding: dict[str, Any]) -> str:
    """One line saying what a finding found."""
    r = finding["result"]
    if finding["kind"] == "verify":
        verdict = "clean" if r.get("clean") else f"{len(r.get('discrepancies', []))} differences"
        chain = r.get("hash_chain")
        chain_text = chain if isinstance(chain, str) else "BROKEN"
        return f"verify: {r.get('events')} events replayed, hash chain {chain_text}: {verdict}"
    if finding["kind"] == "what_if":
        total = r.get("total", {})
        changed = ", ".join(f"{k}={v}" for k, v in finding["subject"].get("set", {}).items())
        return (
            f"what-if {changed}: charged {total.get('charged', {}).get('total')}, would have "
            f"been {total.get('would_have_been', {}).get('total')}, difference "
            f"{total.get('difference')}"
        )
    figure = finding["subject"].get("figure")
    adds_up = "adds up" if r.get("adds_up") else "DOES NOT ADD UP"
    return (
        f"explain {figure} at {r.get('as_of')}: {r.get('figure')} from "
        f"{len(r.get('lines', []))} lines, sum {r.get('sum_of_parts')}: {adds_up}"
    )


def _cases(app: LedgerApp) -> dict[UUID, list[Any]]:
    """Every case's events, from the notification log (dispute topics only), in order."""
    return events_by_originator(app, EVENT_CLASSES)


def cases_of_loan(app: LedgerApp, loan_id: UUID) -> list[dict[str, Any]]:
    """The loan's cases, each in full, oldest first (for the dispute report)."""
    views = [case_view(events) for events in _cases(app).values()]
    return sorted(
        (v for v in views if v["loan_uuid"] == str(loan_id)), key=lambda v: v["dispute_id"]
    )


def list_disputes(
    app: LedgerApp, *, loan: str | None = None, status: str | None = None
) -> dict[str, Any]:
    """The cases, of one loan and in one status if asked, oldest first."""
    if status is not None and status not in STATUSES:
        raise CommandRefused(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    loan_uuid = str(app.get_loan(loan).id) if loan is not None else None
    rows = []
    for events in _cases(app).values():
        v = case_view(events)
        if (loan_uuid is None or v["loan_uuid"] == loan_uuid) and (
            status is None or v["status"] == status
        ):
            rows.append(_row(v))
    rows.sort(key=lambda r: r["dispute_id"])
    return {"disputes": rows, "total": len(rows)}


def _row(v: dict[str, Any]) -> dict[str, Any]:
    return {
        "dispute_id": v["dispute_id"],
        "loan_id": v["loan_id"],
        "status": v["status"],
        "charge": v["claim"]["charge"],
        "amount": v["claim"]["amount"],
        "opened_on": v["claim"]["on"],
        "findings": len(v["findings"]),
        "outcome": v["decision"]["outcome"] if v["decision"] else None,
    }
