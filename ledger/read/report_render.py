"""The dispute report rendered: Markdown (HTML escaped) and one self-contained HTML page,
from the data :func:`ledger.read.report.build` gathers."""

from __future__ import annotations

import html
from decimal import Decimal, InvalidOperation
from typing import Any


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


APPROVAL_COLUMNS = ["approval_id", "what", "requested_by", "requested_on", "reason", "rule",
                    "status", "decided_by"]  # fmt: skip


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
    disputes = [("Dispute cases", _disputes(report["disputes"]))] if report.get("disputes") else []
    if report.get("approvals"):  # four eyes (loan-rules §12.5): who asked, the rule, who decided
        rows = [{**a, "rule": a["rule_text"]} for a in report["approvals"]]
        disputes.append(("Approvals (four eyes)", [_table(rows, APPROVAL_COLUMNS)]))
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
        *disputes,
    ]


def _disputes(cases: list[dict[str, Any]]) -> list[Any]:
    """Each dispute case of the loan: the claim, the findings, the decision and the closing,
    each with who and when."""
    parts: list[Any] = []
    for case in cases:
        c = case["claim"]
        ref = f" (ref {c['channel_ref']})" if c["channel_ref"] else ""
        parts.append(
            f"{case['dispute_id']} ({case['status']}): {c['charge']} {c['amount']} disputed, "
            f'{c["from"]} to {c["to"]}: "{c["text"]}". Received by {c["received_by"]} over '
            f"{c['channel']}{ref}; opened on {c['on']} by {c['actor']}."
        )
        findings = [{**f, "finding": f["summary"]} for f in case["findings"]]
        parts.append(_table(findings, ["n", "on", "actor", "finding", "note"]))
        d = case["decision"]
        if d is not None:
            amount = f" ({d['remedy_amount']})" if d["remedy_amount"] else ""
            remedy = f" Remedy: {d['remedy']}{amount}." if d["remedy"] else ""
            parts.append(
                f"Decision: {d['outcome']}, on {d['on']} by {d['actor']}: {d['reasons']}.{remedy}"
            )
        if case["closure"] is not None:
            x = case["closure"]
            parts.append(f"Closed on {x['on']} by {x['actor']}: {x['note']}.")
    return parts


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
