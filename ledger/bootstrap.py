"""The one place that wires the ledger: the application from configuration, and the HTTP
service from the application. The entry points (the CLI, the worker, the HTTP API) get what
they run from here; none of them imports another."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from typing import TYPE_CHECKING

from ledger.adapters.config import FourEyes, RateCaps, Settings, one_line
from ledger.domain.errors import InvalidInput, LedgerError, StoreUnavailable
from ledger.services.application import LedgerApp
from ledger.services.business_date import BusinessDate

if TYPE_CHECKING:
    from fastapi import FastAPI


def open_app(database_url: str | None = None, *, today: str | None = None) -> LedgerApp:
    """The application for the configured store, with the business date of ``today``
    (``--today``), else ``$LEDGER_TODAY``, else the clock in ``$LEDGER_TIMEZONE``.

    A store that cannot be reached is one line (:class:`StoreUnavailable`), not a trace."""
    settings = Settings.from_env(database_url)
    business_date = BusinessDate.from_env(os.environ, today=today)
    try:
        return LedgerApp.from_url(
            settings.database_url,
            batch_size=settings.batch_size,
            business_date=business_date,
            catch_up_loan_days=settings.catch_up_loan_days,
            resident_loans=settings.resident_loans,
        )
    except LedgerError:
        raise
    except Exception as error:  # psycopg, sqlite3, OSError: the store is not usable
        raise StoreUnavailable(f"database: {one_line(error)}") from None


def http_app(ledger: LedgerApp, *, with_env_keys: bool = True) -> FastAPI:
    """The HTTP service over ``ledger``, with the keys of ``$LEDGER_API_KEYS`` (or
    ``$LEDGER_API_KEYS_FILE``) and the rate caps of the environment."""
    from api.app import create_app
    from ledger.adapters.api_keys import keys_from_env

    keys = keys_from_env(dict(os.environ)) if with_env_keys else []
    if with_env_keys and not keys:
        raise InvalidInput(
            "no API keys configured: make one with `ledger api-key new NAME --role operator` "
            "and put the line it prints in $LEDGER_API_KEYS"
        )
    return create_app(ledger, keys, RateCaps.from_env(), FourEyes.from_env())


def serve(database_url: str | None, *, today: str | None, host: str, port: int) -> None:
    """Serve the HTTP API with uvicorn; the access log never holds a query string."""
    import uvicorn

    ledger = open_app(database_url, today=today)
    app = http_app(ledger)
    logging.getLogger("uvicorn.access").addFilter(RedactQuery())
    uvicorn.run(app, host=host, port=port, log_level="info")


def openapi_document() -> str:
    """The OpenAPI document of the HTTP API (kept in the repository as api/openapi.json)."""
    with tempfile.TemporaryDirectory() as folder:
        ledger = LedgerApp.from_url(f"sqlite:///{folder}/openapi.db")
        try:
            spec = http_app(ledger, with_env_keys=False).openapi()
        finally:
            ledger.close()
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


class Wiring:
    """What the command line is given to build things with (:class:`ledger.cli.common.Wiring`)."""

    open_app = staticmethod(open_app)
    serve = staticmethod(serve)
    openapi_document = staticmethod(openapi_document)


def run(argv: list[str] | None = None) -> int:
    """The ``ledger`` command line, wired; returns the exit status."""
    from ledger.cli.main import run as run_cli

    return run_cli(argv, Wiring())


def main() -> None:
    sys.exit(run())


class RedactQuery(logging.Filter):
    """The access log never holds a query string: a key sent as ``?api_key=`` (refused) or
    any other secret in a URL is cut before the line is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = str(args[2]).split("?", 1)[0]  # uvicorn: (client, method, path, ...)
            record.args = tuple(args)
        return True


if __name__ == "__main__":
    main()
