"""What every ``ledger`` command module shares: the one-line error, opening the store, JSON
output, and a progress bar on a terminal."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from ledger.config import open_app

if TYPE_CHECKING:
    from ledger.application import LedgerApp

out = Console()
err = Console(stderr=True)


class CliError(click.ClickException):
    """Bad input: one line on stderr, exit status 2, nothing written."""

    exit_code = 2


def open_for(ctx: click.Context, db: str | None) -> LedgerApp:
    """The store of ``--db`` (on the command or the group), closed when the command ends."""
    app = open_app(db or (ctx.obj or {}).get("db"))
    ctx.call_on_close(app.close)
    return app


def parse_date(value: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise CliError(f"{what}: {value!r} is not a date (expected YYYY-MM-DD)") from None


def parse_optional_date(value: str | None, what: str) -> date | None:
    return None if value is None else parse_date(value, what)


def emit(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2, ensure_ascii=False))


class progress_bar:
    """A rich progress bar on a terminal; nothing otherwise. The callback it gives takes
    ``(key, done, total)``; with ``per_key`` every key gets a bar of its own (one per
    projection), otherwise one bar is relabelled (one business day after another)."""

    def __init__(
        self,
        interactive: bool,
        *,
        describe: Callable[[str], str] = lambda key: f"business day {key}",
        per_key: bool = False,
    ) -> None:
        self.bar: Progress | None = None
        if interactive:
            self.bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
        self.describe = describe
        self.per_key = per_key
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Callable[[str, int, int], None] | None:
        if self.bar is None:
            return None
        bar = self.bar
        bar.__enter__()

        def update(key: str, done: int, total: int) -> None:
            slot = key if self.per_key else ""
            if slot not in self.tasks:
                self.tasks[slot] = bar.add_task(self.describe(key), total=total)
            bar.update(
                self.tasks[slot], description=self.describe(key), completed=done, total=total
            )

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
