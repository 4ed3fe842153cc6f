"""Command groups whose sub-commands are imported when they are called, not when ``ledger``
starts: ``ledger loan show`` loads the modules of ``loan show`` only, not the worker's
scheduler, the HTTP API or the exports (issue 18, item 4: the CLI's start time).

A lazy sub-command is named by where it lives, ``"ledger.cli.module:attribute"``; listing the
commands (``--help``) imports them all, running one imports its own module only.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click


class LazyGroup(click.Group):
    """A :class:`click.Group` with sub-commands imported on first use."""

    def __init__(self, *args: Any, lazy: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, str] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(load_command(self.lazy[cmd_name]), cmd_name)
        return super().get_command(ctx, cmd_name)


def load_command(where: str) -> click.Command:
    """The command at ``"module:attribute"``."""
    module_name, attribute = where.split(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{where} is not a click command")
    return command
