"""Progress bars on standard error, shown only when it is a terminal.

A pass reports its progress as ``(key, done, total)`` after each batch of loans: ``key`` is
the business day (close-of-business) or the projection (a catch-up). :class:`days_progress`
turns the days of a close-of-business into one bar over the whole run (days done of the
days to run, with the time remaining); :class:`progress_bar` gives a bar per key or one
relabelled bar.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from ledger.cli.output import err

Callback = Callable[[str, int, int], None]


def _bar(console: Console, *columns: Any) -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        *columns,
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


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
        self.bar: Progress | None = _bar(err) if interactive else None
        self.describe = describe
        self.per_key = per_key
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Callback | None:
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


class days_progress:
    """One bar for a close-of-business over many days: business days done of the days to
    run (the first day reported through ``through``), the day in hand and how far into its
    loans, and the time remaining. On a terminal only (``interactive``); ``console`` is
    standard error unless a test gives another."""

    def __init__(self, interactive: bool, through: date, *, console: Console = err) -> None:
        self.through = through
        self.bar: Progress | None = None
        if interactive:
            self.bar = _bar(console, TextColumn("days"))
        self.task: TaskID | None = None
        self.first: date | None = None

    def update(self, key: str, done: int, total: int) -> None:
        """A batch of ``key``'s loans is done: ``done`` of ``total``. ``key`` is a day, or
        ``first..last``: a span of days each batch runs in one read and save."""
        if self.bar is None:
            return
        first_text, _, last_text = key.partition("..")
        day = date.fromisoformat(first_text)
        last = date.fromisoformat(last_text) if last_text else day
        if self.first is None:
            self.first = day
        days = (self.through - self.first).days + 1
        span = (last - day).days + 1
        completed = (day - self.first).days + span * (done / total if total else 1.0)
        shown = f"business day {day}" if span == 1 else f"business days {day} to {last}"
        label = f"{shown} ({done}/{total} loans)"
        if self.task is None:
            self.task = self.bar.add_task(label, total=days)
        self.bar.update(self.task, description=label, completed=completed, total=days)

    def __enter__(self) -> Callback | None:
        if self.bar is None:
            return None
        self.bar.__enter__()
        return self.update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
