"""``/ui/loans/{id}``: one loan's audit page, short however long the loan.

Its figures are the loan's own (:func:`ledger.read.views.loan_state`); the timeline shows every
money event as a row with its amounts and effective date, and groups the routine days (daily
accruals, failed deductions) into one expandable row per installment period with the period's
totals (:mod:`ledger.read.event_summary`). The only sums made here add up shown amounts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from api.ui import cell, e, facts, page, table
from api.ui_chart import balance_series, chart
from ledger.domain.loan import Loan
from ledger.domain.money import ZERO, fmt, to_decimal
from ledger.read.event_summary import (
    PARTS,
    EventSummary,
    Period,
    amount_text,
    method_label,
    percent,
    periods,
    rate_text,
)

TIMELINE = ("event", "effective date", "what", "amount", *PARTS, "note")
SCHEDULE = (
    ("k", "k"),
    ("due", "due_date"),
    ("planned principal", "planned_principal"),
    ("planned interest", "planned_interest"),
    ("principal", "principal"),
    ("interest", "interest"),
    ("penalty", "penalty"),
    ("paid", "paid"),
    ("waived", "waived"),
    ("status", "status"),
)
SUMMED = {"planned_principal", "planned_interest", "principal", "interest", "penalty", "paid",
          "waived"}  # fmt: skip


def loan_page(
    loan: Loan,
    events: Sequence[Any],
    state: dict[str, Any],
    schedule: list[dict[str, Any]],
    cases: Sequence[dict[str, Any]] = (),
    requests: Sequence[dict[str, Any]] = (),
) -> str:
    label = e(loan.label)
    body = [
        _status(state),
        f"<p><a id=report-link href='/loans/{label}/report?format=html'>Dispute report "
        f"(HTML)</a> &middot; <a href='/loans/{label}/report?format=md'>Markdown</a>"
        f" &middot; <a href='/loans/{label}/report?format=json'>JSON</a>"
        f" &middot; <a id=postings-link href='/ui/loans/{label}/postings'>Postings (journal)"
        "</a></p>",
        "<h2>Terms</h2>",
        _terms(loan),
        "<h2>Balance over time</h2>",
        chart(balance_series(list(events)), _marks(events)),
        "<h2>Schedule, planned and actual</h2>",
        schedule_table(schedule),
        "<h2>Timeline of events</h2>",
        "<p class=muted>Every money event is a row with its amounts as recorded. The routine "
        "days (the evening's accrual, a morning deduction that collected nothing) are grouped "
        "by installment period: open a period to see its days and their arithmetic.</p>",
        timeline(periods(events)),
        *_disputes_and_approvals(cases, requests),
    ]
    return page(f"Loan {loan.label}", "".join(body))


def _disputes_and_approvals(
    cases: Sequence[dict[str, Any]], requests: Sequence[dict[str, Any]]
) -> list[str]:
    """The loan's dispute cases and four-eyes requests (loan-rules §12.5), each in a line:
    who asked, the rule that applied, who decided."""
    parts = []
    if cases:
        rows = [
            (c["dispute_id"], c["status"], c["claim"]["charge"], c["claim"]["amount"],
             (c["decision"] or {}).get("outcome") or "", c["claim"]["on"])
            for c in cases
        ]  # fmt: skip
        parts += ["<h2>Dispute cases</h2>",
                  table(["case", "status", "charge", "amount", "outcome", "opened"], rows,
                        ident="disputes")]  # fmt: skip
    if requests:
        rows = [
            (r["approval_id"], r["what"], r["requested_by"], r["rule_text"], r["status"],
             r["decided_by"] or "")
            for r in requests
        ]  # fmt: skip
        parts += ["<h2>Four-eyes requests</h2>",
                  table(["request", "what", "asked by", "rule", "status", "decided by"], rows,
                        ident="approvals")]  # fmt: skip
    return parts


def _status(state: dict[str, Any]) -> str:
    phrase = "at the end of" if state.get("day_closed") else "on"
    first = (
        f"<p id=figures>Status <b>{e(state['status'])}</b> {phrase} {e(state['as_of'])}: "
        f"principal {e(state['principal_outstanding'])}, interest "
        f"{e(state['interest_accrued'])}, penalty {e(state['penalty_accrued'])}, overdue "
        f"{e(state['overdue_amount'])}, {e(state['days_past_due'])} days past due.</p>"
    )
    more = [
        ("amount due", state["amount_due"]),
        ("next due date", state.get("next_due_date") or "none"),
        ("closed on", state.get("closed_on") or "open"),
        ("principal repaid", state["principal_repaid"]),
        ("interest paid", state["interest_paid"]),
        ("penalty paid", state["penalty_paid"]),
        ("fees paid", state["fees_paid"]),
    ]
    if "written_off" in state:  # section 14: off the book, and what came back since
        more[2] = ("closed on", "written off")
        more += [
            ("written off", state["written_off"]),
            ("written off, not recovered", state["written_off_outstanding"]),
        ]
    return first + facts(more, "balance")


def _terms(loan: Loan) -> str:
    t = loan.terms
    penalty = [("penalty rate", f"{t.penalty_multiplier} x the rate")]
    if t.compound_multiplier is not None:  # section 11: two charges on what is overdue
        penalty = [
            ("penalty rate", f"{t.penalty_multiplier} x the rate on overdue principal"),
            ("compound rate", f"{t.compound_multiplier} x the rate on overdue interest"),
        ]
    return facts(
        [
            ("product", t.product),
            ("method", method_label(t.method)),
            (
                "interest",
                t.interest_method.value.replace("_", " ") + " (section 10)"
                if t.per_transaction
                else "daily balance",
            ),
            ("principal", fmt(t.principal)),
            ("term", f"{t.term} months"),
            ("disbursed on", t.disbursed_on.isoformat()),
            ("first due", t.due_date(1).isoformat() + (" (named)" if t.first_due_date else "")),
            ("rate", rate_text(t, loan.monthly_rate)),
            ("prepayment fee", f"{percent(t.prepayment_fee_rate)} % of principal prepaid"),
            *penalty,
            *_bank_terms(t, loan.handling_fee),
            ("grace days", t.grace_days),
        ],
        "terms",
    )


def _bank_terms(t: Any, fee: Any) -> list[tuple[str, Any]]:
    """Section 13: a bank_installment loan's handling fee and its remaining-fees rule."""
    if t.fee_rate_per_period is None:
        return []
    rule = t.remaining_fees.value if t.remaining_fees else "charge"
    return [
        ("handling fee", f"{percent(t.fee_rate_per_period)} % of principal = {fmt(fee)} a month"),
        ("remaining fees", f"{rule} on a full prepayment"),
    ]


def _marks(events: Sequence[Any]) -> list[tuple[date, str]]:
    """The days a correction or a prepayment was recorded: flagged on the charts."""
    return [
        (ev.on, f"event {ev.originator_version}: {type(ev).__name__} recorded {ev.on}")
        for ev in events
        if isinstance(ev, (Loan.Corrected, Loan.Prepaid))
    ]


def schedule_table(schedule: list[dict[str, Any]]) -> str:
    """The installments, fixed (or as planned, in italics, before they fall due), with a
    totals row adding up each amount column as shown."""
    totals = {key: ZERO for key in SUMMED}
    rows = []
    for r in schedule:
        cells = []
        for _, key in SCHEDULE:
            value = r.get(key)
            estimated = r.get("estimated") and key in ("principal", "interest")
            if key in SUMMED and value is not None and not estimated:
                totals[key] += to_decimal(value, key)
            cells.append(cell(value, extra="est" if estimated else ""))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    foot = ["total", ""] + [fmt(totals[key]) if key in SUMMED else "" for _, key in SCHEDULE[2:]]
    head = "".join(f"<th>{e(name)}</th>" for name, _ in SCHEDULE)
    return (
        f"<table id=schedule class=compact><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody><tfoot><tr>"
        + "".join(cell(v) for v in foot)
        + "</tr></tfoot></table><p class=muted>Principal and interest in italics are as "
        "planned (not due yet); the totals add up the fixed amounts shown.</p>"
    )


def timeline(grouped: Sequence[Period]) -> str:
    head = "".join(f"<th>{e(c)}</th>" for c in TIMELINE)
    rows = []
    for period in grouped:
        if period.routine:
            rows.append(_period_row(period))
        rows += [_event_row(s) for s in period.events]
    return (
        f"<table id=timeline class=compact><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _event_row(s: EventSummary) -> str:
    css = "money"
    note = s.note
    if s.event == "Corrected":
        css += " correction"
    if s.superseded_by is not None:
        css += " superseded"
        note = f"superseded by the correction, event {s.superseded_by}; {note}"
    cells = [
        cell(s.version),
        cell(s.effective_on),
        cell(s.what, extra="what"),
        cell(amount_text(s.amount) if s.amount is not None else ""),
        *(cell(_part(s, p)) for p in PARTS),
        cell(note, extra="note"),
    ]
    return f"<tr class='{css}' data-event='{e(s.event)}'>{''.join(cells)}</tr>"


def _part(s: EventSummary, name: str) -> str:
    value = s.part(name)
    return amount_text(value) if value is not None else ""


def _period_row(period: Period) -> str:
    span = (
        f"{period.first_day} to {period.last_day}, {period.days} days accrued"
        if period.first_day
        else "no day accrued"
    )
    totals = f"interest {fmt(period.interest)}, penalty {fmt(period.penalty)}"
    extra = []
    if period.failed_deductions:
        extra.append(f"{period.failed_deductions} failed deductions")
    if period.superseded:
        by = sorted({s.superseded_by for s in period.routine if s.superseded_by is not None})
        extra.append(f"{period.superseded} days superseded by event {', '.join(map(str, by))}")
    summary = (
        f"<summary><b>Period {e(period.title)}</b><span class=nowrap>{e(span)}</span>: "
        f"<span class=totals>{e(totals)}</span>"
        + "".join(f"; {e(x)}" for x in extra)
        + "</summary>"
    )
    return (
        f"<tr class=period><td colspan={len(TIMELINE)}><details>{summary}"
        f"{_days(period.routine)}</details></td></tr>"
    )


def _days(routine: Sequence[EventSummary]) -> str:
    rows = [
        (
            s.version,
            s.on,
            s.what,
            _part(s, "interest"),
            _part(s, "penalty"),
            (f"superseded by event {s.superseded_by}; " if s.superseded_by else "") + s.note,
        )
        for s in routine
    ]
    return table(["event", "day", "what", "interest", "penalty", "arithmetic"], rows, css="compact")
