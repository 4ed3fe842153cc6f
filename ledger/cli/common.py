"""What every ``ledger`` command module shares: the one-line error, opening the store, the
strict parameter types (each with a metavar that says what to type) and the common options.
Printing is :mod:`ledger.cli.output`, progress bars :mod:`ledger.cli.progress`."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, TextIO, TypeVar

import click
from click.core import ParameterSource

from ledger.adapters.config import Settings
from ledger.adapters.persistence import parse_database_url
from ledger.domain.errors import InvalidInput, StoreUnavailable
from ledger.domain.restructure import MAX_HOLIDAY
from ledger.services import parsing

if TYPE_CHECKING:
    from ledger.services.application import LedgerApp


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


def store_url(ctx: click.Context, db: str | None) -> str | None:
    """The store asked for: ``--db`` given to the command, else to the ``ledger`` group, else
    ``$LEDGER_DATABASE_URL`` (click reads it for both options), else None (the default)."""
    if db is not None and ctx.get_parameter_source("db") is ParameterSource.COMMANDLINE:
        return db
    given: str | None = (ctx.find_root().obj or {}).get("db")
    return given or db


def resolved_url(ctx: click.Context, db: str | None) -> str:
    """The URL of the store :func:`open_for` opens (for a command that opens it again, in
    other processes)."""
    return Settings.from_env(store_url(ctx, db)).database_url


def open_for(ctx: click.Context, db: str | None, *, creates: bool = False) -> LedgerApp:
    """The store of ``--db`` (on the command or the group), closed when the command ends;
    the business date is ``--today`` (on the group), else ``$LEDGER_TODAY``, else the clock.
    Only a command that ``creates`` a store may be given a SQLite file that does not exist
    yet: a read of a mistyped path is one line, not a new empty store."""
    root = ctx.find_root().obj or {}
    url = resolved_url(ctx, db)
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


def _month(value: str, what: str) -> str:
    try:
        date.fromisoformat(f"{value}-01")
    except ValueError:
        raise InvalidInput(f"{what}: {value!r} is not a month (expected YYYY-MM)") from None
    return value


# Each type's name is the metavar its options show. TEXT (free text: a reason, a name) is
# the one exception: every option of that type gives a metavar of its own (REASON, NAME).
MONEY = StrictType("AMOUNT", lambda v, w: parsing.money_text(v, w, positive=True))
DATE = StrictType("DATE", parsing.date_text)
MONTH = StrictType("YYYY-MM", _month)
LOAN_REF = StrictType("LOAN_ID", parsing.loan_reference)
NEW_LOAN_ID = StrictType("LOAN_ID", parsing.identifier)
TEXT = StrictType("TEXT", parsing.text)
RATE = StrictType("RATE", parsing.decimal_text)
FACTOR = StrictType("FACTOR", parsing.decimal_text)
STEP = StrictType("AMOUNT", parsing.decimal_text)  # checked as an amount by the products
TERM = StrictType("MONTHS", _integer(1, 360))
HOLIDAY = StrictType("INSTALLMENTS", _integer(1, MAX_HOLIDAY))  # a payment holiday (rules 16)
DAYS = StrictType("DAYS", _integer(0, 90))
VERSION = StrictType("VERSION", _integer(1, 2_000_000_000))


def parse_optional_date(value: str | None, what: str) -> date | None:
    return None if value is None else parse_date(value, what)


F = TypeVar("F", bound=Callable[..., Any])


def db_option(f: F) -> F:
    return click.option(
        "--db",
        "db",
        default=None,
        metavar="URL",
        envvar="LEDGER_DATABASE_URL",
        show_envvar=True,
        help="The store: sqlite:///path/ledger.db or postgresql://user@host:port/db "
        "(default sqlite:///./ledger.db).",
    )(f)


def actor_option(f: F) -> F:
    return click.option(
        "--actor",
        type=TEXT,
        metavar="NAME",
        envvar="LEDGER_ACTOR",
        show_envvar=True,
        help="Who asks for it, recorded with the events (default: your user name).",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(f)


def write_new_file(path: str, text: str, *, replace: bool) -> None:
    """Write ``text`` to ``path``: refused if it exists (unless ``replace``) and never
    through a symbolic link (``O_NOFOLLOW``), so a report cannot clobber another file."""
    with open_new_file(path, replace=replace) as handle:
        handle.write(text)


def open_new_file(path: str, *, replace: bool, newline: str | None = None) -> TextIO:
    """``path`` opened for writing as :func:`write_new_file` does (``newline=""``: the text's
    own line ends, as the ``csv`` module wants)."""
    if os.path.islink(path):
        raise CliError(f"--out: {path} is a symbolic link; give the real path")
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    flags |= os.O_TRUNC if replace else os.O_EXCL
    try:
        descriptor = os.open(path, flags, 0o644)
    except FileExistsError:
        raise CliError(f"--out: {path} exists; add --force to replace it") from None
    except OSError as error:
        raise CliError(f"--out: cannot write {path}: {error.strerror}") from None
    return os.fdopen(descriptor, "w", encoding="utf-8", newline=newline)
