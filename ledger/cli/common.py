"""What every ``ledger`` command module shares: the one-line error, opening the store, JSON
output, and a progress bar on a terminal."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from ledger.adapters.config import Settings
from ledger.adapters.persistence import parse_database_url
from ledger.domain.errors import InvalidInput, StoreUnavailable
from ledger.services import parsing

if TYPE_CHECKING:
    from ledger.services.application import LedgerApp

out = Console()
err = Console(stderr=True)


class Wiring(Protocol):
    """What the command line is given by the one place that wires the ledger
    (:mod:`ledger.bootstrap`): it never builds the application or the HTTP service itself."""

    def open_app(
        self, database_url: str | None = None, *, today: str | None = None
    ) -> LedgerApp: ...

    def serve(
        self, database_url: str | None, *, today: str | None, host: str, port: int
    ) -> None: ...

    def openapi_document(self) -> str: ...


def wiring(ctx: click.Context) -> Wiring:
    found: Wiring = (ctx.find_root().obj or {})["wiring"]
    return found


class CliError(click.ClickException):
    """Bad input: one line on stderr, exit status 2, nothing written."""

    exit_code = 2


def open_for(ctx: click.Context, db: str | None, *, creates: bool = False) -> LedgerApp:
    """The store of ``--db`` (on the command or the group), closed when the command ends;
    the business date is ``--today`` (on the group), else ``$LEDGER_TODAY``, else the clock.
    Only a command that ``creates`` a store may be given a SQLite file that does not exist
    yet: a read of a mistyped path is one line, not a new empty store."""
    root = ctx.find_root().obj or {}
    url = Settings.from_env(db or root.get("db")).database_url
    if not creates:
        store = parse_database_url(url)
        path = store.env.get("SQLITE_DBNAME")
        if store.kind == "sqlite" and path is not None and not os.path.exists(path):
            raise StoreUnavailable(
                f"no store at {path}: nothing has been recorded there (`ledger loan open` "
                "creates it); check --db or $LEDGER_DATABASE_URL"
            )
    app = wiring(ctx).open_app(url, today=root.get("today"))
    ctx.call_on_close(app.close)
    return app


def parse_date(value: str, what: str = "date") -> date:
    try:
        return parsing.date_text(value, what)
    except InvalidInput as error:
        raise CliError(str(error)) from None


class StrictType(click.ParamType):  # type: ignore[type-arg]
    """A click parameter read by one of :mod:`ledger.services.parsing`'s strict readers; a bad value
    is one line that names the flag (exit 2)."""

    def __init__(self, name: str, read: Callable[[str, str], Any]) -> None:
        self.name = name
        self.read = read

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value  # a default already converted
        what = param.opts[0] if param is not None and param.opts else self.name
        if param is not None and param.param_type_name == "argument":
            what = (param.name or self.name).replace("_", " ")
        try:
            return self.read(value, what)
        except InvalidInput as error:
            raise CliError(str(error)) from None


def _integer(low: int, high: int) -> Callable[[str, str], int]:
    return lambda value, what: parsing.integer_text(value, what, low=low, high=high)


MONEY = StrictType("AMOUNT", lambda v, w: parsing.money_text(v, w, positive=True))
DATE = StrictType("YYYY-MM-DD", parsing.date_text)
LOAN_REF = StrictType("LOAN_ID", parsing.loan_reference)
NEW_LOAN_ID = StrictType("LOAN_ID", parsing.identifier)
TEXT = StrictType("TEXT", parsing.text)
DECIMAL = StrictType("DECIMAL", parsing.decimal_text)
TERM = StrictType("MONTHS", _integer(1, 360))
DAYS = StrictType("DAYS", _integer(0, 90))
VERSION = StrictType("VERSION", _integer(1, 2_000_000_000))


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


F = TypeVar("F", bound=Callable[..., Any])


def db_option(f: F) -> F:
    return click.option(
        "--db",
        "db",
        default=None,
        metavar="URL",
        help="sqlite:///path/ledger.db or postgresql://user@host:port/db "
        "(default: $LEDGER_DATABASE_URL or sqlite:///./ledger.db)",
    )(f)


def actor_option(f: F) -> F:
    return click.option(
        "--actor",
        type=TEXT,
        help="Who asks for it (default: $LEDGER_ACTOR or your user name).",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(f)


def rows_table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="right" if c not in ("status", "type", "data") else "left")
    for r in rows:
        table.add_row(*[str(r.get(c, "")) if r.get(c) is not None else "" for c in columns])
    out.print(table)


def kv_table(title: str, data: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False)
    table.add_column("field")
    table.add_column("value", justify="right")
    for k, v in data.items():
        if isinstance(v, (list, dict)):
            continue
        table.add_row(k, "" if v is None else str(v))
    out.print(table)
