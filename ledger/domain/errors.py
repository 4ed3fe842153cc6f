"""Errors the domain raises. Each message is one line that names what was wrong."""


class LedgerError(Exception):
    """Base of every error the ledger reports to a user."""


class CommandRefused(LedgerError):
    """A command was refused: nothing was recorded."""


class NotFound(LedgerError):
    """The named loan (or account) does not exist."""
