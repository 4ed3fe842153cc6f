"""What the ``ledger`` commands print: one JSON document (``--json``) or rich tables.

On a terminal the tables take the terminal's width. Anywhere else (a pipe, a file, a test's
capture) they are as wide as their contents: a table never cuts an amount to fit 80 columns
("20000.…"), so ``ledger loan show X | grep principal`` sees every digit.
"""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console, ConsoleDimensions
from rich.rule import Rule
from rich.table import Table

# Wider than any table the ledger prints; a table only takes the width its contents need.
UNCUT_WIDTH = 10_000
TEXT_COLUMNS = frozenset(
    {"loan_id", "status", "type", "data", "product", "bucket", "name", "description"}
)


class Stdout(Console):
    """Standard output: the terminal's width on a terminal, else :data:`UNCUT_WIDTH`.
    Decided at each print (not when the module is imported), so it follows where standard
    output goes at the time."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(UNCUT_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


out = Stdout()
err = Console(stderr=True)


def emit(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2, ensure_ascii=False))


def rule(console: Console, title: str) -> None:
    """A heading line at most 80 columns wide (off a terminal the console is much wider)."""
    console.print(Rule(title), width=min(console.width, 80))


def add_columns(table: Table, columns: list[str], text: frozenset[str] = TEXT_COLUMNS) -> None:
    """Columns of figures right-aligned; on a narrow terminal a figure too long for its
    column is folded onto the next line, never cut with an ellipsis."""
    for c in columns:
        if c in text:
            table.add_column(c, justify="left")
        else:
            table.add_column(c, justify="right", overflow="fold")


def rows_table(
    title: str,
    rows: list[dict[str, Any]],
    columns: list[str],
    text: frozenset[str] = TEXT_COLUMNS,
) -> None:
    table = Table(title=title)
    add_columns(table, columns, text)
    for r in rows:
        table.add_row(*[str(r.get(c, "")) if r.get(c) is not None else "" for c in columns])
    out.print(table)


def kv_table(title: str, data: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False)
    table.add_column("field")
    table.add_column("value", justify="right", overflow="fold")
    for k, v in data.items():
        if isinstance(v, (list, dict)):
            continue
        table.add_row(k, "" if v is None else str(v))
    out.print(table)
