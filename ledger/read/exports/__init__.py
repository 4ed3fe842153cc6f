"""Exports of the book (``ledger export``, ``GET /exports/{name}``): see
:mod:`ledger.read.exports.core` for the registry, the formats and streaming, and
:mod:`ledger.read.exports.book` for what each export holds."""

from __future__ import annotations

from ledger.read.exports import book as _book  # registers the book's exports
from ledger.read.exports import journal as _journal  # and the journal's (docs/accounting.md)
from ledger.read.exports.core import (
    CHUNK_BYTES,
    EXPORTS,
    FORMATS,
    Export,
    ExportRun,
    Format,
    Source,
    find,
    open_export,
    register,
    register_format,
)

del _book, _journal

__all__ = [
    "CHUNK_BYTES",
    "EXPORTS",
    "FORMATS",
    "Export",
    "ExportRun",
    "Format",
    "Source",
    "find",
    "open_export",
    "register",
    "register_format",
]
