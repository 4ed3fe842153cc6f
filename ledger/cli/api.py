"""``ledger serve``, ``ledger api-key new`` and ``ledger api openapi``."""

from __future__ import annotations

import click

from ledger.adapters.api_keys import new_key
from ledger.cli.common import db_option, store_url, wiring


@click.command("serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, metavar="HOST", help="Address to listen on."
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    metavar="PORT",
    help="TCP port to listen on.",
)
@db_option
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, db: str | None) -> None:
    """Serve the HTTP API (keys from $LEDGER_API_KEYS or $LEDGER_API_KEYS_FILE)."""
    root = ctx.find_root().obj or {}
    wiring(ctx).serve(store_url(ctx, db), today=root.get("today"), host=host, port=port)


@click.group("api-key")
def api_key() -> None:
    """API keys for `ledger serve`."""


@api_key.command("new")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["operator", "auditor"]),
    required=True,
    help="operator: commands and reads; auditor: reads, explain, verify, reports, no command.",
)
def api_key_new(name: str, role: str) -> None:
    """Make a key for NAME (who will use it): print it once, and the hashed line to put in
    $LEDGER_API_KEYS."""
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
