"""``ledger serve``, ``ledger api-key new`` and ``ledger api openapi``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ledger.adapters.api_keys import ROLES, new_key
from ledger.cli.common import CliError, db_option, store_url, wiring


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
    type=click.Choice(ROLES),
    required=True,
    help="operator: commands and reads; approver: the same, and approving another person's "
    "request (four-eyes); auditor: reads, explain, verify, reports, no command.",
)
@click.option(
    "--add-to",
    "add_to",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Append the hashed line to FILE (a $LEDGER_API_KEYS_FILE; made with mode 0600 if "
    "missing) and print only the key, for `KEY=$(ledger api-key new ... --add-to FILE)`.",
)
def api_key_new(name: str, role: str, add_to: Path | None) -> None:
    """Make a key for NAME (who will use it): print it once, and the hashed line to put in
    $LEDGER_API_KEYS (or, with --add-to, append that line to a keys file)."""
    key, stored = new_key(name, role)
    if add_to is None:
        click.echo(f"key (shown once, give it to {name}): {key}")
        click.echo(f"configure (add to LEDGER_API_KEYS): {stored.line()}")
        return
    try:
        held = add_to.read_text() if add_to.exists() else ""
        if any(line.split(":", 1)[0] == name for line in held.splitlines()):
            raise CliError(f"{add_to} already holds a key named {name}")
        fd = os.open(add_to, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as keys_file:
            keys_file.write(("" if not held or held.endswith("\n") else "\n") + stored.line())
            keys_file.write("\n")
    except OSError as error:
        raise CliError(f"cannot write {add_to}: {error.strerror}") from None
    click.echo(key)


@click.group("api")
def api_group() -> None:
    """The HTTP API's documents."""


@api_group.command("openapi")
@click.pass_context
def openapi(ctx: click.Context) -> None:
    """Print the OpenAPI document (kept in the repository as api/openapi.json)."""
    click.echo(wiring(ctx).openapi_document(), nl=False)
