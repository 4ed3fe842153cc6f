"""An event-sourced ledger for consumer loans."""

__version__ = "0.1.0"
