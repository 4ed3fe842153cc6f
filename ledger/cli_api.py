"""``ledger serve``, ``ledger api-key new`` and ``ledger api openapi``."""

from __future__ import annotations

import json
import logging
import os

import click

from ledger.cli_common import CliError
from ledger.config import RateCaps, open_app


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--db", "db", default=None, metavar="URL", help="The store.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, db: str | None) -> None:
    """Serve the HTTP API (keys from $LEDGER_API_KEYS or $LEDGER_API_KEYS_FILE)."""
    import uvicorn

    from api.app import create_app
    from api.keys import keys_from_env

    keys = keys_from_env(dict(os.environ))
    if not keys:
        raise CliError(
            "no API keys configured: make one with `ledger api-key new NAME --role operator` "
            "and put the line it prints in $LEDGER_API_KEYS"
        )
    root = ctx.find_root().obj or {}
    app = open_app(db or root.get("db"), today=root.get("today"))
    logging.getLogger("uvicorn.access").addFilter(RedactQuery())
    uvicorn.run(create_app(app, keys, RateCaps.from_env()), host=host, port=port, log_level="info")


class RedactQuery(logging.Filter):
    """The access log never holds a query string: a key sent as ``?api_key=`` (refused) or
    any other secret in a URL is cut before the line is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = str(args[2]).split("?", 1)[0]  # uvicorn: (client, method, path, ...)
            record.args = tuple(args)
        return True


@click.group("api-key")
def api_key() -> None:
    """API keys for `ledger serve`."""


@api_key.command("new")
@click.argument("name")
@click.option("--role", type=click.Choice(["operator", "auditor"]), required=True)
def api_key_new(name: str, role: str) -> None:
    """Make a key: print it once, and the hashed line to configure."""
    from api.keys import new_key

    key, stored = new_key(name, role)
    click.echo(f"key (shown once, give it to {name}): {key}")
    click.echo(f"configure (add to LEDGER_API_KEYS): {stored.line()}")


@click.group("api")
def api_group() -> None:
    """The HTTP API's documents."""


@api_group.command("openapi")
def openapi() -> None:
    """Print the OpenAPI document (kept in the repository as api/openapi.json)."""
    click.echo(openapi_document())


def openapi_document() -> str:
    return json.dumps(_spec(), indent=2, sort_keys=True) + "\n"


def _spec() -> dict[str, object]:
    import tempfile

    from api.app import create_app
    from ledger.application import LedgerApp

    with tempfile.TemporaryDirectory() as folder:
        ledger = LedgerApp.from_url(f"sqlite:///{folder}/openapi.db")
        try:
            spec: dict[str, object] = create_app(ledger, []).openapi()
            return spec
        finally:
            ledger.close()
