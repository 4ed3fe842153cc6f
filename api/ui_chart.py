"""The loan page's charts: inline SVG (no script, nothing fetched), with gridlines, amounts on
the y axis and dates on the x axis, drawn from the loan's state at the end of each business day
as its recorded events leave it (the domain's own fold)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any

from api.ui import e
from ledger.domain.loan import Loan
from ledger.domain.money import fmt

COLOURS = {"principal": "#1f6feb", "interest": "#2da44e", "penalty": "#cf222e"}
Row = tuple[date, Decimal, Decimal, Decimal]
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 540, 230, 68, 14, 14, 34


def balance_series(events: Sequence[Any]) -> list[Row]:
    """(day, principal, interest, penalty) owed at the end of each business day, from the
    events as recorded (interest: fixed and unpaid plus accrued, rounded as a payoff would)."""
    series: list[Row] = []
    loan: Any = None
    for i, event in enumerate(events):
        loan = event.mutate(loan)
        last_of_day = i + 1 == len(events) or events[i + 1].on != event.on
        if last_of_day and isinstance(loan, Loan):
            series.append(
                (event.on, loan.principal_outstanding, loan.interest_owed, loan.penalty_owed)
            )
    return series


def chart(series: Sequence[Row], marks: Sequence[tuple[date, str]] = ()) -> str:
    """Two panels side by side: principal owed, and interest and penalty owed (each with its
    own scale, so the smaller amounts stay readable). ``marks``: days to flag (corrections,
    prepayments), drawn as dashed lines on the day they were recorded."""
    if not series:
        return "<p>No business day has run yet.</p>"
    caption = (
        "<figcaption>x: business days, each point the end of a business day (after its "
        f"close-of-business), {series[0][0]} to {series[-1][0]}; y: amounts owed, CNY. "
        "Drawn from the events as recorded: a back-dated correction shows on the day it was "
        "recorded (dashed line), not on the day it took effect.</figcaption>"
    )
    return (
        "<figure><div class=charts>"
        + _panel(series, ("principal",), "balance-chart", marks)
        + _panel(series, ("interest", "penalty"), "charges-chart", marks)
        + f"</div>{caption}</figure>"
    )


def nice_step(top: Decimal, count: int = 5) -> Decimal:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about ``count`` gridlines."""
    raw = top / count if top > 0 else Decimal(1)
    power = Decimal(10) ** raw.adjusted()
    for factor in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def tick_text(value: Decimal) -> str:
    """An axis value: whole amounts without decimals (``20000``), others with two."""
    whole = value == value.to_integral_value()
    return f"{value.quantize(Decimal(1)):f}" if whole else fmt(value)


def month_ticks(first: date, last: date) -> list[date]:
    """First days of months inside [first, last], thinned to at most eight."""
    months = (last.year - first.year) * 12 + last.month - first.month
    every = max(1, -(-months // 8))
    ticks: list[date] = []
    year, month = first.year, first.month
    while True:
        month += every
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        day = date(year, month, 1)
        if day > last:
            return ticks
        ticks.append(day)


def _value(row: Row, name: str) -> Decimal:
    return {"principal": row[1], "interest": row[2], "penalty": row[3]}[name]


def _panel(
    series: Sequence[Row], names: tuple[str, ...], ident: str, marks: Sequence[tuple[date, str]]
) -> str:
    first, last = series[0][0], series[-1][0]
    span = max((last - first).days, 1)
    highest = max(_value(row, n) for row in series for n in names)
    step = nice_step(highest)
    steps = max(1, int((highest / step).to_integral_value(rounding=ROUND_CEILING)))
    top_value = step * steps

    def x(day: date) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (day - first).days / span

    def y(value: Decimal) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - float(value / top_value))

    grid = []
    for i in range(steps + 1):
        value = step * i
        grid.append(
            f"<line class=grid x1={LEFT} x2={WIDTH - RIGHT} y1={y(value):.1f} y2={y(value):.1f} "
            f"stroke='#d8dee4' stroke-width='1'/><text x={LEFT - 6} y={y(value) + 4:.1f} "
            f"font-size=11 text-anchor=end fill='#57606a'>{e(tick_text(value))}</text>"
        )
    for day in month_ticks(first, last):
        if x(day) > WIDTH - RIGHT - 22:  # its label would run off the panel
            continue
        grid.append(
            f"<line class=grid x1={x(day):.1f} x2={x(day):.1f} y1={TOP} y2={HEIGHT - BOTTOM} "
            f"stroke='#eaeef2' stroke-width='1'/><text x={x(day):.1f} y={HEIGHT - BOTTOM + 16} "
            f"font-size=11 text-anchor=middle fill='#57606a'>{day:%Y-%m}</text>"
        )
    for day, label in marks:
        if first <= day <= last:
            grid.append(
                f"<line class=mark x1={x(day):.1f} x2={x(day):.1f} y1={TOP} y2={HEIGHT - BOTTOM} "
                f"stroke='#9a6700' stroke-dasharray='4 3'><title>{e(label)}</title></line>"
            )
    lines = []
    for name in names:
        points = " ".join(f"{x(row[0]):.1f},{y(_value(row, name)):.1f}" for row in series)
        lines.append(
            f"<polyline class='series {name}' fill=none stroke='{COLOURS[name]}' "
            f"stroke-width=2.5 points='{points}'/>"
        )
    axis = (
        f"<line x1={LEFT} y1={HEIGHT - BOTTOM} x2={WIDTH - RIGHT} y2={HEIGHT - BOTTOM} "
        f"stroke='#57606a'/><line x1={LEFT} y1={TOP} x2={LEFT} y2={HEIGHT - BOTTOM} "
        f"stroke='#57606a'/><text x={LEFT} y={HEIGHT - 3} font-size=11 fill='#57606a'>{first}"
        f"</text><text x={WIDTH - RIGHT} y={HEIGHT - 3} font-size=11 text-anchor=end "
        f"fill='#57606a'>{last}</text>"
    )
    legend = "".join(f"<span style='color:{COLOURS[n]}'>&#9632; {n} owed</span>" for n in names)
    return (
        f"<div><svg id={ident} role=img aria-label='{' and '.join(names)} owed by business day' "
        f"width={WIDTH} height={HEIGHT} viewBox='0 0 {WIDTH} {HEIGHT}' "
        f"xmlns='http://www.w3.org/2000/svg'>{''.join(grid)}{axis}{''.join(lines)}</svg>"
        f"<div class=legend>{legend}</div></div>"
    )
