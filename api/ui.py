"""The audit pages' frame: the page, its navigation, tables, sign-in and error pages.

Server-rendered HTML without scripts (:mod:`api.ui_loan`, :mod:`api.ui_portfolio`, charts in
:mod:`api.ui_chart`). A browser signs in once at ``/ui/login`` with an API key, kept in an
HttpOnly, SameSite=Strict cookie, and signs out at ``/ui/logout``. Every text is escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import date
from typing import Any
from urllib.parse import quote

from ledger.read.report_render import CSS as REPORT_CSS
from ledger.read.report_render import is_number

CSS = (
    REPORT_CSS
    + """
body{max-width:1240px}
nav{display:flex;gap:1.2em;align-items:center;font-size:.95em}
nav form{margin:0 0 0 auto} nav button{font:inherit;cursor:pointer}
td.date,th.date,.nowrap,#timeline th{white-space:nowrap}
td.num,th.num{white-space:nowrap}
.muted{color:#57606a;font-size:.88em}
dl.facts{display:grid;grid-template-columns:repeat(3,max-content minmax(8em,1fr));
gap:.25em .8em;margin:.6em 0 1em;font-size:.92em}
dl.facts dt{color:#57606a} dl.facts dd{margin:0;font-weight:600}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:1em}
figure{margin:0} figure svg{width:100%;height:auto;display:block}
figcaption{font-size:.85em;color:#57606a;margin:.3em 0}
.legend span{margin-right:1.2em;font-size:.85em}
table.compact{line-height:1.25} table.compact td,table.compact th{padding:.16em .45em}
h2{margin-top:1.4em}
tfoot td{font-weight:600;border-top:2px solid #1d2733;background:#f3f5f7}
tr.period>td{background:#f6f8fa;padding:.25em .5em}
tr.period summary{cursor:pointer} tr.period summary b{margin-right:.6em}
tr.period details[open] summary{margin-bottom:.3em}
tr.superseded td{color:#8c959f}
tr.correction td{background:#fff8c5}
td.note{font-size:.9em} td.what{white-space:nowrap}
td.est{font-style:italic;color:#57606a}
form.filters{display:flex;flex-wrap:wrap;gap:.6em 1.2em;align-items:end;margin:.6em 0}
form.filters label{display:flex;flex-direction:column;font-size:.85em;color:#57606a}
p.error{color:#b42318;font-weight:600}
.pager a{margin-right:1.2em}
"""
)
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def e(value: object) -> str:
    """Text for HTML: escaped, ``None`` as nothing."""
    return html.escape("" if value is None else str(value))


def page(title: str, body: str, *, signed_in: bool = True) -> str:
    sign_out = (
        "<form method=post action='/ui/logout'><button type=submit id=sign-out>Sign out"
        "</button></form>"
        if signed_in
        else "<a href='/ui/login'>Sign in</a>"
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
        f"<nav><a href='/ui/portfolio'>Portfolio</a>{sign_out}</nav>"
        f"<h1>{e(title)}</h1>{body}</body></html>"
    )


def cell(value: Any, tag: str = "td", extra: str = "") -> str:
    """One cell: numbers right-aligned, dates never wrapped, everything escaped."""
    text = "" if value is None else str(value)
    kind = (
        "num"
        if is_number(value)
        else "date"
        if isinstance(value, date) or ISO_DAY.fullmatch(text)
        else ""
    )
    classes = " ".join(c for c in (kind, extra) if c)
    return f"<{tag} class='{classes}'>{e(text)}</{tag}>" if classes else f"<{tag}>{e(text)}</{tag}>"


def table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    foot: Sequence[Any] | None = None,
    ident: str = "",
    css: str = "",
) -> str:
    head = "".join(f"<th>{e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    tail = "<tfoot><tr>" + "".join(cell(v) for v in foot) + "</tr></tfoot>" if foot else ""
    attributes = (f" id={e(ident)}" if ident else "") + (f" class='{e(css)}'" if css else "")
    return f"<table{attributes}><thead><tr>{head}</tr></thead><tbody>{body}</tbody>{tail}</table>"


def facts(pairs: Sequence[tuple[str, Any]], ident: str = "") -> str:
    """Short labelled values in a grid of three columns (terms, figures)."""
    items = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in pairs)
    return f"<dl class=facts{f' id={e(ident)}' if ident else ''}>{items}</dl>"


def login_page(message: str = "", next_path: str = "") -> str:
    note = f"<p class=error>{e(message)}</p>" if message else ""
    target = f"<input type=hidden name=next value='{e(next_path)}'>" if next_path else ""
    form = (
        "<form method=post action='/ui/login'><label>API key "
        "<input name=key type=password size=50 autocomplete=off></label> "
        f"{target}<button type=submit>Sign in</button></form>"
    )
    return page("Sign in", note + form, signed_in=False)


def login_url(next_path: str) -> str:
    return "/ui/login?next=" + quote(next_path, safe="/")


def signed_out_page() -> str:
    return page(
        "Signed out",
        "<p>You are signed out. <a href='/ui/login'>Sign in again</a>.</p>",
        signed_in=False,
    )


def error_page(status: int, title: str, detail: str, *, signed_in: bool = True) -> str:
    body = (
        f"<p class=error id=problem>{e(detail)}</p>"
        f"<p class=muted>HTTP {status}. <a href='/ui/portfolio'>Back to the portfolio</a>.</p>"
    )
    return page(title, body, signed_in=signed_in)
