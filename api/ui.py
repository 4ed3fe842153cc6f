"""The audit page: ``/ui/loans/{id}`` and ``/ui/portfolio``, server-rendered HTML.

No build step and no script: the balance-over-time chart is an inline SVG drawn here. A browser
signs in once at ``/ui/login`` with an API key (kept in an HttpOnly, SameSite=Strict cookie).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.domain.loan import Loan
from ledger.domain.money import fmt
from ledger.read import views
from ledger.read.report_render import CSS as REPORT_CSS
from ledger.read.report_render import is_number

CSS = REPORT_CSS + "nav a{margin-right:1em} .legend span{margin-right:1.2em}\n"
COLOURS = {"principal": "#1f6feb", "interest": "#2da44e", "penalty": "#cf222e"}


def page(title: str, body: str) -> str:
    e = html.escape
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
        "<nav><a href='/ui/portfolio'>Portfolio</a><a href='/ui/login'>Sign in</a></nav>"
        f"<h1>{e(title)}</h1>{body}</body></html>"
    )


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class=num>{e(str(v))}</td>"
            if is_number(v)
            else f"<td>{e('' if v is None else str(v))}</td>"
            for v in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def login_page(message: str = "") -> str:
    note = f"<p>{html.escape(message)}</p>" if message else ""
    form = (
        "<form method=post action='/ui/login'><label>API key "
        "<input name=key type=password size=50 autocomplete=off></label> "
        "<button type=submit>Sign in</button></form>"
    )
    return page("Sign in", note + form)


def balance_series(events: Sequence[Any]) -> list[tuple[date, Decimal, Decimal, Decimal]]:
    """(day, principal, interest, penalty) owed at the end of each business day, from the
    events as recorded (interest: fixed and unpaid plus accrued, rounded as a payoff would)."""
    series: list[tuple[date, Decimal, Decimal, Decimal]] = []
    loan: Any = None
    for i, event in enumerate(events):
        loan = event.mutate(loan)
        last_of_day = i + 1 == len(events) or events[i + 1].on != event.on
        if last_of_day and isinstance(loan, Loan):
            series.append(
                (event.on, loan.principal_outstanding, loan.interest_owed, loan.penalty_owed)
            )
    return series


def chart(series: Sequence[tuple[date, Decimal, Decimal, Decimal]]) -> str:
    """Two SVG line charts over the business days: principal owed, and interest and penalty
    owed (each with its own scale, so the smaller amounts stay readable)."""
    if not series:
        return "<p>No business day has run yet.</p>"
    return _panel(series, ("principal",), "balance-chart") + _panel(
        series, ("interest", "penalty"), "charges-chart"
    )


INDEX = {"principal": 1, "interest": 2, "penalty": 3}


def _panel(
    series: Sequence[tuple[date, Decimal, Decimal, Decimal]], names: tuple[str, ...], ident: str
) -> str:
    width, height, left, bottom, top = 900, 180, 70, 30, 10
    first, last = series[0][0], series[-1][0]
    span = max((last - first).days, 1)
    top_value = max(_amount(row, INDEX[n]) for row in series for n in names) or Decimal(1)

    def x(day: date) -> float:
        return left + (width - left - 10) * (day - first).days / span

    def y(value: Decimal) -> float:
        return top + (height - top - bottom) * (1 - float(value / top_value))

    lines = []
    for name in names:
        points = " ".join(f"{x(row[0]):.1f},{y(_amount(row, INDEX[name])):.1f}" for row in series)
        lines.append(
            f"<polyline class='series {name}' fill=none stroke='{COLOURS[name]}' "
            f"stroke-width=2.5 points='{points}'/>"
        )
    axis = (
        f"<line x1={left} y1={height - bottom} x2={width - 10} y2={height - bottom} stroke='#888'/>"
        f"<line x1={left} y1={top} x2={left} y2={height - bottom} stroke='#888'/>"
        f"<text x={left - 6} y={top + 10} font-size=11 text-anchor=end>{fmt(top_value)}</text>"
        f"<text x={left - 6} y={height - bottom} font-size=11 text-anchor=end>0</text>"
        f"<text x={left} y={height - 8} font-size=11>{first}</text>"
        f"<text x={width - 10} y={height - 8} font-size=11 text-anchor=end>{last}</text>"
    )
    legend = "".join(f"<span style='color:{COLOURS[n]}'>&#9632; {n}</span>" for n in names)
    return (
        f"<svg id={ident} role=img aria-label='{' and '.join(names)} over time' width={width} "
        f"height={height} viewBox='0 0 {width} {height}' xmlns='http://www.w3.org/2000/svg'>"
        f"{axis}{''.join(lines)}</svg><div class=legend>{legend}</div>"
    )


def _amount(row: tuple[date, Decimal, Decimal, Decimal], index: int) -> Decimal:
    value = row[index]
    assert isinstance(value, Decimal)
    return value


def loan_page(
    loan: Loan,
    events: Sequence[Any],
    state: dict[str, Any],
    schedule: list[dict[str, Any]],
) -> str:
    e = html.escape
    t = loan.terms
    terms = [
        ("product", t.product), ("principal", fmt(t.principal)), ("term", t.term),
        ("disbursed on", t.disbursed_on), ("rate", t.daily_rate or t.annual_rate),
        ("method", t.method.value), ("prepayment fee rate", t.prepayment_fee_rate),
        ("penalty multiplier", t.penalty_multiplier), ("grace days", t.grace_days),
    ]  # fmt: skip
    timeline = [
        (
            event.originator_version,
            event.on.isoformat(),
            type(event).__name__,
            views.describe(event),
        )
        for event in events
    ]
    body = [
        f"<p>Status <b>{e(state['status'])}</b> as of {e(state['as_of'])}: principal "
        f"{e(state['principal_outstanding'])}, interest {e(state['interest_accrued'])}, penalty "
        f"{e(state['penalty_accrued'])}, overdue {e(state['overdue_amount'])}, "
        f"{e(str(state['days_past_due']))} days past due.</p>",
        f"<p><a id=report-link href='/loans/{e(loan.label)}/report?format=html'>Dispute report "
        f"(HTML)</a> &middot; <a href='/loans/{e(loan.label)}/report?format=md'>Markdown</a>"
        f" &middot; <a href='/loans/{e(loan.label)}/report?format=json'>JSON</a></p>",
        "<h2>Terms</h2>",
        table(["term", "value"], terms),
        "<h2>Balance over time</h2>",
        "<p class=axis>Drawn by the business date of each event, in the order the events were "
        "recorded: a back-dated correction shows on the day it was recorded, not on the day "
        "it took effect.</p>",
        chart(balance_series(list(events))),
        "<h2>Schedule, planned and actual</h2>",
        table(
            [
                "k",
                "due",
                "planned principal",
                "planned interest",
                "principal",
                "interest",
                "penalty",
                "paid",
                "status",
            ],
            [
                (
                    r["k"],
                    r["due_date"],
                    r["planned_principal"],
                    r["planned_interest"],
                    r["principal"] if not r["estimated"] else "",
                    r["interest"] if not r["estimated"] else "",
                    r["penalty"],
                    r["paid"],
                    r["status"],
                )
                for r in schedule
            ],
        ),
        "<h2>Timeline of events</h2>",
        table(["version", "date", "event", "what and how"], timeline),
    ]
    return page(f"Loan {loan.label}", "".join(body))


def portfolio_page(report: dict[str, Any]) -> str:
    buckets = [
        (
            b["bucket"],
            b["loans"],
            b["principal_outstanding"],
            b["overdue_amount"],
            b["share_of_principal"],
        )
        for b in report["buckets"]
    ]
    products = [
        (r["product"], r["status"], r["loans"], r["principal_outstanding"], r["overdue_amount"])
        for r in report["by_product"]
    ]
    body = (
        f"<p>As of {html.escape(str(report['as_of']))}: {report.get('open_loans', 0)} open loans, "
        f"principal {report.get('principal_outstanding', '0.00')}.</p>"
        "<h2>Delinquency buckets (days past due)</h2>"
        + table(["bucket", "loans", "principal", "overdue", "share of principal"], buckets)
        + "<h2>By product and status</h2>"
        + table(["product", "status", "loans", "principal", "overdue"], products)
    )
    return page("Portfolio", body)
