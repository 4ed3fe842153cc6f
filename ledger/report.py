"""``ledger audit report``: a dispute report a person can read without help.

Everything in it comes from the ledger: the terms, the schedule planned vs actual, every
charge with its arithmetic, the money received, corrections and waivers, the verification by
replay, and the loan's annualised cost from its actual cash flows (IRR on dates) compared
with the configured caps. Three renderings of one document: JSON, Markdown, and a single
self-contained HTML file (inline CSS, no scripts, no external resources).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ledger import audit, views
from ledger.application import LedgerApp
from ledger.config import RateCaps
from ledger.domain.cost import CashFlow, annual_irr, daily_rate
from ledger.domain.loan import Loan
from ledger.money import FEN, ZERO, fmt, round_to

PERCENT = Decimal("0.0001")
RECEIVED = {"deduction", "repayment", "repayment (back-dated)", "full prepayment",
            "partial prepayment"}  # fmt: skip


def _pct(rate: Decimal | None) -> str | None:
    return None if rate is None else f"{(rate * 100).quantize(PERCENT, ROUND_HALF_UP)} %"


def cash_flows(loan: Loan, events: list[Any]) -> list[CashFlow]:
    """Money that moved, seen from the lender; an open loan's balance counts as if paid on
    the last closed day (the cost to date)."""
    flows: list[CashFlow] = []
    for e in events:
        if isinstance(e, Loan.Disbursed):
            flows.append(CashFlow(e.on, -e.terms["principal"], "disbursed"))
        elif isinstance(e, Loan.InstallmentDeducted):
            flows.append(CashFlow(e.on, e.collected, "deduction"))
        elif isinstance(e, Loan.Repaid):
            flows.append(CashFlow(e.on, e.amount, "repayment"))
        elif isinstance(e, Loan.Prepaid):
            flows.append(CashFlow(e.on, e.total, f"{e.kind} prepayment"))
        elif isinstance(e, Loan.Corrected):
            if e.kind == "backdated_repayment" and e.amount is not None:
                flows.append(CashFlow(e.effective_on, e.amount, "repayment (back-dated)"))
            elif e.kind == "reversal":
                bounced = next(x for x in events if x.originator_version == e.reverses)
                paid: Decimal = (
                    bounced.collected
                    if isinstance(bounced, Loan.InstallmentDeducted)
                    else bounced.amount
                )
                flows.append(CashFlow(bounced.on, -paid, "reversed payment"))
            if e.refund_due:
                flows.append(CashFlow(e.on, -e.refund_due, "refund due to the borrower"))
    if not loan.is_closed:
        owed = loan.amount_due + loan.principal_not_due + loan.interest_accrued_rounded
        if owed > 0:
            flows.append(CashFlow(loan.closed_through, owed, "balance still owed (to date)"))
    return flows


def _group_penalties(events: list[Any], k: int) -> list[dict[str, Any]]:
    """Daily penalties of installment ``k``, consecutive days with the same base and rate as
    one line: days x base x rate x multiplier = amount."""
    lines: list[dict[str, Any]] = []
    for e in events:
        if not isinstance(e, Loan.InterestAccrued):
            continue
        for p in e.penalties:
            if int(p["k"]) != k:
                continue
            last = lines[-1] if lines else None
            if (
                last
                and last["base"] == p["base"]
                and last["rate"] == e.rate
                and last["multiplier"] == e.penalty_multiplier
                and (e.on - last["to"]).days == 1
            ):
                last["to"] = e.on
                last["days"] += e.days
                last["amount"] += p["amount"]
            else:
                lines.append(
                    {
                        "from": e.on,
                        "to": e.on,
                        "days": e.days,
                        "base": p["base"],
                        "rate": e.rate,
                        "multiplier": e.penalty_multiplier,
                        "amount": p["amount"],
                    }
                )
    return [
        {
            "from": x["from"].isoformat(),
            "to": x["to"].isoformat(),
            "arithmetic": f"{x['days']} days x {x['base']} x {x['rate']} x {x['multiplier']} "
            f"= {x['amount']}",
            "amount": str(x["amount"]),
        }
        for x in lines
    ]


def build(app: LedgerApp, reference: str, caps: RateCaps) -> dict[str, Any]:
    loan = app.get_loan(reference)
    events: list[Any] = list(app.events.get(loan.id))
    t = loan.terms
    r = t.rounding
    state = views.loan_state(loan)
    from projections import Projections
    from projections.schedule import shown as schedule_shown

    projections = Projections(app)
    projections.catch_up(["schedule"])
    schedule = [schedule_shown(row) for row in projections.schedule.read(loan.id)]
    charges = []
    for inst in loan.installments:
        fell_due = next(
            e for e in events if isinstance(e, Loan.InstallmentFellDue) and e.k == inst.k
        )
        penalty_lines = _group_penalties(events, inst.k)
        charges.append(
            {
                "k": inst.k,
                "due_date": inst.due_date.isoformat(),
                "interest": fmt(inst.interest + round_to(inst.interest_after_due, FEN, r)),
                "interest_arithmetic": f"round_{r.value}({fell_due.interest_accrued}) = "
                f"{fell_due.interest}: the normal interest accrued since the previous due date "
                "(loan-rules §4, §5)"
                + (
                    f"; plus round({inst.interest_after_due}) accrued after the last due date"
                    if inst.interest_after_due
                    else ""
                ),
                "penalty": fmt(round_to(inst.penalty_accrued, FEN, r)),
                "penalty_arithmetic": f"round_{r.value}({inst.penalty_accrued}) (§6); daily: "
                "(overdue principal + interest) x rate x multiplier (§4)",
                "penalty_lines": penalty_lines,
                "penalty_waived": fmt(inst.penalty_waived),
                "interest_waived": fmt(inst.interest_waived),
            }
        )
    charged_rows, charged_total = audit.charged(events)
    outside = charged_rows.get(0)
    if outside is not None and (outside["interest"] or outside["fee"]):
        charges.append(
            {
                "k": 0,
                "due_date": "",
                "interest": fmt(outside["interest"]),
                "interest_arithmetic": "interest collected with prepayments (§7)"
                + ("" if loan.is_closed else " + round(interest accrued since the last due date)"),
                "penalty": fmt(ZERO),
                "penalty_arithmetic": "",
                "penalty_lines": [],
                "penalty_waived": fmt(ZERO),
                "interest_waived": fmt(ZERO),
            }
        )
    fees = [
        {
            "on": e.on.isoformat(),
            "fee": fmt(e.fee),
            "arithmetic": f"{e.fee_rate} x prepaid principal {e.principal} = {e.fee} (§7)",
        }
        for e in events
        if isinstance(e, Loan.Prepaid)
    ]
    payments = []
    for e in events:
        if isinstance(e, (Loan.InstallmentDeducted, Loan.Repaid, Loan.Prepaid)):
            if isinstance(e, Loan.InstallmentDeducted):
                how, money = "deduction", e.collected
            elif isinstance(e, Loan.Repaid):
                how, money = "repayment", e.amount
            else:
                how, money = f"{e.kind} prepayment", e.total
            payments.append(
                {
                    "version": e.originator_version,
                    "on": e.on.isoformat(),
                    "how": how,
                    "amount": fmt(money),
                    "allocated": "; ".join(
                        f"#{a['k']}: penalty {fmt(a['penalty'])}, interest {fmt(a['interest'])}, "
                        f"principal {fmt(a['principal'])}"
                        for a in e.allocations
                    ),
                }
            )
        elif isinstance(e, Loan.DeductionFailed):
            payments.append(
                {
                    "version": e.originator_version,
                    "on": e.on.isoformat(),
                    "how": "deduction failed",
                    "amount": "0.00",
                    "allocated": f"asked {fmt(e.requested)}, collected nothing",
                }
            )
    corrections = [
        {
            "version": e.originator_version,
            "recorded_at": e.timestamp.isoformat(timespec="seconds"),
            "what": (
                f"{e.kind.replace('_', ' ')} effective {e.effective_on}"
                + (f", amount {fmt(e.amount)}" if e.amount is not None else "")
                + (f", reverses event {e.reverses}" if e.reverses else "")
                + (f", refund due {fmt(e.refund_due)}" if e.refund_due else "")
                if isinstance(e, Loan.Corrected)
                else f"waived {fmt(e.amount)} of {e.part}"
            ),
            "actor": e.actor,
            "reason": e.reason,
        }
        for e in events
        if isinstance(e, (Loan.Corrected, Loan.Waived))
    ]
    verified = audit.verify_events(loan.id, loan.label, events)
    flows = cash_flows(loan, events)
    annual = annual_irr(flows)
    daily = daily_rate(annual) if annual is not None else None
    cap_rows = [
        {
            "cap": name,
            "annual": _pct(limit),
            "within": None if annual is None else annual <= limit,
            "verdict": "n/a" if annual is None else "within" if annual <= limit else "ABOVE",
        }
        for name, limit in caps.named()
    ]
    return {
        "title": f"Dispute report: loan {loan.label}",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "loan_id": loan.label,
        "uuid": str(loan.id),
        "terms": {
            "product": t.product,
            "principal": fmt(t.principal),
            "term": t.term,
            "disbursed_on": t.disbursed_on.isoformat(),
            "rate": f"{t.daily_rate} a day"
            if t.daily_rate
            else f"{t.annual_rate} a year ({t.day_count.value if t.day_count else ''})",
            "method": t.method.value,
            "monthly_rate": str(loan.monthly_rate),
            "emi": fmt(loan.emi),
            "prepayment_fee_rate": str(t.prepayment_fee_rate),
            "penalty_multiplier": str(t.penalty_multiplier),
            "grace_days": t.grace_days,
            "rounding": r.value,
        },
        "balance": state,
        "day_closed": loan.figures().day_closed,
        "schedule": schedule,
        "charges": charges,
        "fees": fees,
        "totals": {
            "interest": fmt(charged_total["interest"]),
            "penalty": fmt(charged_total["penalty"]),
            "fees": fmt(charged_total["fee"]),
            "waived": fmt(loan.penalty_waived + loan.interest_waived),
            "received": fmt(
                sum((f.amount for f in flows[1:] if f.amount > 0 and "owed" not in f.what), ZERO)
            ),
        },
        "payments": payments,
        "corrections": corrections,
        "verification": verified.as_dict(),
        "cost": {
            "cash_flows": [
                {"on": f.on.isoformat(), "amount": fmt(f.amount), "what": f.what} for f in flows
            ],
            "annual_irr": _pct(annual),
            "daily_irr": _pct(daily),
            "to_date": not loan.is_closed,
            "caps": cap_rows,
            "method": "effective annual rate r with sum(cf / (1+r)^(days/365)) = 0 "
            "(IRR on dates); daily = (1+r)^(1/365) - 1",
        },
    }


# --------------------------------------------------------------------------- renderings


def _table(items: list[dict[str, Any]], columns: list[str]) -> dict[str, Any]:
    rows = [["" if i.get(c) is None else str(i.get(c)) for c in columns] for i in items]
    return {"columns": columns, "rows": rows}


def _summary(report: dict[str, Any]) -> list[str]:
    cost = report["cost"]
    totals = report["totals"]
    caps = "; ".join(f"{c['cap']}: {c['verdict']}" for c in cost["caps"])
    to_date = ", to date (the balance still owed counted as paid that day)"
    clean = report["verification"]["clean"]
    return [
        f"Loan {report['loan_id']} ({report['terms']['product']}), "
        f"{report['balance']['status']} "
        + ("at the end of " if report.get("day_closed", True) else "on ")
        + f"{report['balance']['as_of']}.",
        f"Charged: interest {totals['interest']}, penalty {totals['penalty']}, fees "
        f"{totals['fees']}; waived {totals['waived']}; received {totals['received']}.",
        f"Annualised cost from the actual cash flows: {cost['annual_irr'] or 'n/a'} a year "
        f"({cost['daily_irr'] or 'n/a'} a day)"
        + (to_date if cost["to_date"] else "")
        + f". Caps: {caps}.",
        "Verification by replay: "
        + (
            "every amount reproduced from the facts, hash chain "
            f"{report['verification']['hash_chain']}."
            if clean
            else "DISCREPANCIES FOUND (see Verification)."
        ),
    ]


def _verification(report: dict[str, Any]) -> list[str]:
    v = report["verification"]
    chain = v["hash_chain"]
    if not isinstance(chain, str):
        chain = f"broken first at version {chain['first_broken_version']} ({chain['why']})"
    lines = [f"{v['events']} events replayed from the facts; hash chain: {chain}."]
    lines += [
        f"version {d['version']} {d['event']}.{d['field']}: recorded {d['recorded']}, "
        f"recomputed {d['recomputed']}"
        for d in v["discrepancies"][:50]
    ]
    return lines


SCHEDULE_COLUMNS = [
    "k", "due_date", "planned_principal", "planned_interest", "principal", "interest",
    "penalty", "paid", "waived", "status", "last_paid_on",
]  # fmt: skip


def sections(report: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """The report as (heading, paragraphs and tables), shared by Markdown and HTML."""
    cost = report["cost"]
    charges = report["charges"]
    penalty_days = [{"k": c["k"], **x} for c in charges for x in c["penalty_lines"]]
    charge_rows = [
        {
            "k": c["k"],
            "due_date": c["due_date"],
            "interest": c["interest"],
            "interest, how": c["interest_arithmetic"],
            "penalty": c["penalty"],
            "penalty, how": c["penalty_arithmetic"],
        }
        for c in charges
    ]
    terms = [{"term": k, "value": v} for k, v in report["terms"].items()]
    balance = [{"figure": k, "value": v} for k, v in report["balance"].items()]
    return [
        ("Summary", _summary(report)),
        ("Terms", [_table(terms, ["term", "value"])]),
        ("Balance", [_table(balance, ["figure", "value"])]),
        ("Schedule, planned and actual", [_table(report["schedule"], SCHEDULE_COLUMNS)]),
        (
            "Charges and their arithmetic",
            [
                _table(
                    charge_rows,
                    ["k", "due_date", "interest", "interest, how", "penalty", "penalty, how"],
                )
            ],
        ),
        (
            "Penalty, day by day",
            [_table(penalty_days, ["k", "from", "to", "arithmetic", "amount"])],
        ),
        ("Fees", [_table(report["fees"], ["on", "fee", "arithmetic"])]),
        (
            "Money received",
            [_table(report["payments"], ["version", "on", "how", "amount", "allocated"])],
        ),
        (
            "Corrections and waivers",
            [_table(report["corrections"], ["version", "recorded_at", "what", "actor", "reason"])],
        ),
        ("Verification", _verification(report)),
        (
            "Annualised cost",
            [
                f"{cost['method']}.",
                f"Annual: {cost['annual_irr'] or 'n/a'}; daily: {cost['daily_irr'] or 'n/a'}.",
                _table(cost["cash_flows"], ["on", "amount", "what"]),
                _table(cost["caps"], ["cap", "annual", "verdict"]),
            ],
        ),
    ]


def md_text(value: object) -> str:
    """Text for Markdown: HTML escaped (a reason or an actor typed as ``<script>`` is shown,
    never run, when the report is rendered), table pipes escaped, one line."""
    escaped = html.escape(str(value), quote=False).replace("|", "\\|")
    return " ".join(escaped.splitlines())


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# {md_text(report['title'])}",
        "",
        f"Generated {report['generated_at']} from the ledger.",
        "",
    ]
    for heading, body in sections(report):
        lines += [f"## {md_text(heading)}", ""]
        for part in body:
            if isinstance(part, dict):
                if not part["rows"]:
                    lines += ["(none)", ""]
                    continue
                lines.append("| " + " | ".join(md_text(c) for c in part["columns"]) + " |")
                lines.append("|" + "---|" * len(part["columns"]))
                for row in part["rows"]:
                    lines.append("| " + " | ".join(md_text(c) for c in row) + " |")
                lines.append("")
            else:
                lines += [md_text(part), ""]
    return "\n".join(lines)


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#1d2733;line-height:1.45}
h1{font-size:1.6em;border-bottom:2px solid #1d2733;padding-bottom:.3em}
h2{font-size:1.2em;margin-top:2em;color:#243b53}
table{border-collapse:collapse;width:100%;font-size:.88em;margin:.6em 0 1.2em}
th,td{border:1px solid #d0d7de;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f5f7} td.num{text-align:right;font-variant-numeric:tabular-nums}
p.bad{color:#b42318;font-weight:600}
"""


def is_number(value: object) -> bool:
    """A table cell to right-align: an int, a Decimal, or text that reads as a decimal."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, Decimal)):
        return True
    if not isinstance(value, str) or not any(ch.isdigit() for ch in value):
        return False
    try:
        Decimal(value)
    except (InvalidOperation, ValueError):
        return False
    return True


def html_page(report: dict[str, Any]) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{e(report['title'])}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(report['title'])}</h1>",
        f"<p>Generated {e(report['generated_at'])} from the ledger.</p>",
    ]
    for heading, body in sections(report):
        parts.append(f"<h2>{e(heading)}</h2>")
        for part in body:
            if isinstance(part, dict):
                if not part["rows"]:
                    parts.append("<p>(none)</p>")
                    continue
                head = "".join(f"<th>{e(c)}</th>" for c in part["columns"])
                rows = "".join(
                    "<tr>"
                    + "".join(
                        f"<td class=num>{e(c)}</td>" if is_number(c) else f"<td>{e(c)}</td>"
                        for c in row
                    )
                    + "</tr>"
                    for row in part["rows"]
                )
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
            else:
                bad = "DISCREPANCIES" in str(part) or "ABOVE" in str(part)
                parts.append(
                    f"<p class=bad>{e(str(part))}</p>" if bad else f"<p>{e(str(part))}</p>"
                )
    parts.append("</body></html>")
    return "".join(parts)
