"""``ledger serve``, ``ledger api-key new`` and ``ledger api openapi``."""

from __future__ import annotations

import click

from ledger.adapters.api_keys import new_key
from ledger.cli.common import wiring


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--db", "db", default=None, metavar="URL", help="The store.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, db: str | None) -> None:
    """Serve the HTTP API (keys from $LEDGER_API_KEYS or $LEDGER_API_KEYS_FILE)."""
    root = ctx.find_root().obj or {}
    wiring(ctx).serve(db or root.get("db"), today=root.get("today"), host=host, port=port)


@click.group("api-key")
def api_key() -> None:
    """API keys for `ledger serve`."""


@api_key.command("new")
@click.argument("name")
@click.option("--role", type=click.Choice(["operator", "auditor"]), required=True)
def api_key_new(name: str, role: str) -> None:
    """Make a key: print it once, and the hashed line to configure."""
    key, stored = new_key(name, role)
    click.echo(f"key (shown once, give it to {name}): {key}")
    click.echo(f"configure (add to LEDGER_API_KEYS): {stored.line()}")


@click.group("api")
def api_group() -> None:
    """The HTTP API's documents."""


@api_group.command("openapi")
@click.pass_context
def openapi(ctx: click.Context) -> None:
    """Print the OpenAPI document (kept in the repository as api/openapi.json)."""
    click.echo(wiring(ctx).openapi_document(), nl=False)
