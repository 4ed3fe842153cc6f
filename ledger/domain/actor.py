"""Who is asking: recorded with every loan event it causes (``recorded_by``).

The interfaces set it once per request or run (``with acting_as("ops-desk"): ...``): the CLI
from ``--actor``/``$LEDGER_ACTOR``/the user, the HTTP API from the caller's key, the worker as
``worker``. The domain reads it when it records an event; it never decides anything with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

UNKNOWN = ""
_actor: ContextVar[str] = ContextVar("ledger_actor", default=UNKNOWN)


def current_actor() -> str:
    return _actor.get()


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)
