"""Errors the ledger reports. Each message is one line that names what was wrong.

The entry points map them by type, never by their text: the CLI prints ``error: <message>``
with the exit status below; the HTTP API answers the problem status below.

| error            | meaning                                             | CLI | HTTP |
| ---------------- | --------------------------------------------------- | --- | ---- |
| InvalidInput     | a value could not be read (money, date, identifier) | 2   | 422  |
| CommandRefused   | a well-formed command the rules refuse              | 2   | 422  |
| Conflict         | it clashes with what exists (a duplicate id)        | 2   | 409  |
| NotPermitted     | the caller's role or person may not do this         | 2   | 403  |
| NotFound         | the named loan (or account) does not exist          | 2   | 404  |
| OutOfBusinessDay | dated after the business date the book allows      | 2   | 422  |
| Busy             | another writer kept winning; nothing was written    | 75  | 503  |
| Quarantined      | the loan's events cannot be read or trusted         | 4   | 409  |
| StoreUnavailable | the database cannot be reached or failed            | 3   | 503  |
"""


class LedgerError(Exception):
    """Base of every error the ledger reports to a user."""


class CommandRefused(LedgerError):
    """A command was refused: nothing was recorded."""


class InvalidInput(CommandRefused):
    """A value given by the user could not be read (money, date, identifier, flag)."""


class Conflict(CommandRefused):
    """The command clashes with what already exists (a loan id taken)."""


class NotPermitted(CommandRefused):
    """The caller may not do this: their role does not allow it, or a second person must
    (four-eyes approval). Nothing was recorded."""


class OutOfBusinessDay(CommandRefused):
    """A command or close-of-business dated after the business date the book allows."""


class NotFound(LedgerError):
    """The named loan (or account) does not exist."""


class Busy(LedgerError):
    """Another writer changed the same loan every time we tried; nothing was written."""


class Quarantined(LedgerError):
    """The loan is set apart: one of its events cannot be read (or, later, trusted)."""


class StoreUnavailable(LedgerError):
    """The database could not be reached, or failed in a way the command cannot retry."""
