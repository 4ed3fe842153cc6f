"""``/ui/portfolio``: the book's totals as of a business day, and its loans a page at a time,
each linked to its audit page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from api.ui import cell, e, page, table
from projections.balances import shown as balance_shown
from projections.loan_list import STATUSES, LoanPage

LIST_COLUMNS = (
    "loan",
    "product",
    "status",
    "principal outstanding",
    "overdue",
    "days past due",
    "amount due",
    "next due",
    "as of",
)


@dataclass(frozen=True)
class ListQuery:
    """What the page was asked for: the day of its totals and the list's filters and page."""

    as_of: date | None = None
    status: str | None = None
    product: str | None = None
    after: str | None = None
    limit: int = 50

    def link(self, **changes: Any) -> str:
        values = {
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "status": self.status,
            "product": self.product,
            "after": self.after,
            "limit": str(self.limit) if self.limit != 50 else None,
        }
        values.update(changes)
        query = urlencode({k: v for k, v in values.items() if v})
        return "/ui/portfolio" + (f"?{query}" if query else "")


def portfolio_page(
    report: dict[str, Any], loans: LoanPage, asked: ListQuery, products: Sequence[str]
) -> str:
    body = _totals(report) + _loan_list(loans, asked, products, report.get("as_of"))
    return page("Portfolio", body)


def _totals(report: dict[str, Any]) -> str:
    buckets = [
        (b["bucket"], b["loans"], b["principal_outstanding"], b["overdue_amount"],
         b["share_of_principal"])
        for b in report["buckets"]
    ]  # fmt: skip
    products = [
        (r["product"], r["status"], r["loans"], r["principal_outstanding"], r["overdue_amount"])
        for r in report["by_product"]
    ]
    day = report["as_of"]
    heading = f"at the end of business day {day}" if day else "before any business day has run"
    return (
        f"<p id=totals>Totals {e(heading)}: {e(report.get('open_loans', 0))} of "
        f"{e(report.get('loans', 0))} loans open, principal outstanding "
        f"{e(report.get('principal_outstanding', '0.00'))}, overdue "
        f"{e(report.get('overdue_amount', '0.00'))}.</p>"
        "<h2>Delinquency buckets (days past due)</h2>"
        + table(["bucket", "loans", "principal", "overdue", "share of principal"], buckets,
                css="compact")
        + "<h2>By product and status</h2>"
        + table(["product", "status", "loans", "principal", "overdue"], products, css="compact")
    )  # fmt: skip


def _filters(asked: ListQuery, products: Sequence[str]) -> str:
    def options(values: Sequence[str], chosen: str | None) -> str:
        items = ["<option value=''>any</option>"] + [
            f"<option value='{e(v)}'{' selected' if v == chosen else ''}>{e(v)}</option>"
            for v in values
        ]
        return "".join(items)

    day = asked.as_of.isoformat() if asked.as_of else ""
    return (
        "<form class=filters method=get action='/ui/portfolio'>"
        f"<label>status <select name=status>{options(STATUSES, asked.status)}</select></label>"
        f"<label>product <select name=product>{options(products, asked.product)}</select>"
        "</label><label>totals as of (YYYY-MM-DD) "
        f"<input name=as_of value='{e(day)}' size=11 placeholder='last day'></label>"
        "<button type=submit>Show</button> <a href='/ui/portfolio'>clear</a></form>"
    )


def _loan_list(
    loans: LoanPage, asked: ListQuery, products: Sequence[str], totals_day: str | None
) -> str:
    rows = []
    for raw in loans.rows:
        row = balance_shown(raw)
        ref = str(row["loan_id"])
        link = f"<a class=loan-link href='/ui/loans/{e(quote(ref, safe=''))}'>{e(ref)}</a>"
        values = [
            row["product"], row["status"], row["principal_outstanding"], row["overdue_amount"],
            row["days_past_due"], row["amount_due"], row["next_due_date"], row["as_of"],
        ]  # fmt: skip
        rows.append(f"<tr><td>{link}</td>{''.join(cell(v) for v in values)}</tr>")
    head = "".join(f"<th>{e(c)}</th>" for c in LIST_COLUMNS)
    listed = (
        f"<table id=loans class=compact><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else "<p id=loans>No loan matches.</p>"
    )
    current = (
        "<p class=muted id=current-note>The list shows each loan's current balances (as of "
        f"its latest business day), not those at the end of {e(totals_day)} like the totals "
        "above.</p>"
        if asked.as_of is not None
        else ""
    )
    return (
        "<h2>Loans</h2>"
        + _filters(asked, products)
        + f"<p>{e(loans.total)} loans match; showing {e(len(loans.rows))}"
        + (", after the previous page" if asked.after else "")
        + ".</p>"
        + current
        + listed
        + _pager(loans, asked)
    )


def _pager(loans: LoanPage, asked: ListQuery) -> str:
    links = []
    if asked.after:
        links.append(f"<a id=first-page href='{e(asked.link(after=None))}'>First page</a>")
    if loans.next_after:
        links.append(
            f"<a id=next-page href='{e(asked.link(after=loans.next_after))}'>Next page</a>"
        )
    return f"<p class=pager>{''.join(links)}</p>" if links else ""
