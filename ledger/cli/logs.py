"""The log of ``ledger worker``: one JSON object a line on stderr, or readable lines on a
terminal.

Each JSON line carries ``time`` (ISO 8601, UTC), ``level``, ``logger`` and ``message``, then the
record's own fields (``log.info("pass done", extra={"fields": {...}})``) and, for an error
with its exception, ``exception`` (the trace as one string). Nothing precedes the JSON: a line
is ready for ``jq`` or a log shipper as it is.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from rich.logging import RichHandler

from ledger.cli.output import err

LEVELS = ("debug", "info", "warning", "error")
RESERVED = ("time", "level", "logger", "message")


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a record was logged with (``extra={"fields": {...}}``)."""
    fields = getattr(record, "fields", None)
    return dict(fields) if isinstance(fields, dict) else {}


class JsonLines(logging.Formatter):
    """A record as one line of JSON (see the module's docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((k, v) for k, v in fields_of(record).items() if k not in RESERVED)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class Readable(logging.Formatter):
    """A record on a terminal: its message, then its fields as ``name=value``."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{k}={v if isinstance(v, str) else json.dumps(v, default=str)}"
            for k, v in fields_of(record).items()
        )
        text = f"{record.getMessage()} {fields}".rstrip()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _Stderr(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a record comes (not when it was made)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


@contextmanager
def logging_on_stderr(level: str, *, interactive: bool) -> Iterator[None]:
    """While in the block, every logger (the ledger's, the scheduler's, the database
    driver's) writes through one handler on stderr at ``level``: JSON lines, or rich lines
    on a terminal (``interactive``). Handlers installed by others (a test's capture) are
    left in place; on leaving, the logging is as it was (a command run in-process leaves
    nothing behind)."""
    handler: logging.Handler
    if interactive:
        handler = RichHandler(console=err, show_path=False, markup=False)
        handler.setFormatter(Readable())
    else:
        handler = _Stderr()
        handler.setFormatter(JsonLines())
    root, ledger = logging.getLogger(), logging.getLogger("ledger")
    before = (root.level, ledger.level, ledger.propagate, list(ledger.handlers))
    root.addHandler(handler)
    root.setLevel(level.upper())
    ledger.handlers[:] = []
    ledger.setLevel(logging.NOTSET)
    ledger.propagate = True
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(before[0])
        ledger.setLevel(before[1])
        ledger.propagate = before[2]
        ledger.handlers[:] = before[3]
