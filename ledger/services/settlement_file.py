"""A provider's settlement file (loan-rules §17): CSV with the header
``result_id,request_id,status,amount,taken_on`` and one result per line (``taken_on`` may be
blank: the request's day). ``ledger gateway import`` records it; ``ledger gateway reconcile
--file`` compares it with the ledger. Every line is read strictly; a bad line refuses the
whole file, naming the line, before anything is recorded.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from ledger.domain.collection import STATUSES, GatewayResult
from ledger.domain.errors import InvalidInput
from ledger.services.parsing import date_text, money_text, text

HEADER = ["result_id", "request_id", "status", "amount", "taken_on"]
MAX_LINES = 200_000


def result_of(fields: dict[str, Any], where: str) -> GatewayResult:
    """One result from its fields (a file's line, a webhook's JSON); ``where`` prefixes any
    error (``line 3``, ``body``)."""
    try:
        result_id = text(str(fields.get("result_id") or ""), "result_id")
        request_id = text(str(fields.get("request_id") or ""), "request_id")
        status = str(fields.get("status") or "")
        if status not in STATUSES:
            raise InvalidInput(f"status: {status[:30]!r} is not one of {', '.join(STATUSES)}")
        amount = fields.get("amount")
        collected = money_text(amount if isinstance(amount, str) else str(amount), "amount")
        if collected < 0:
            raise InvalidInput(f"amount: must not be negative, got {amount}")
        taken = fields.get("taken_on") or None
        taken_on = None if taken is None else date_text(str(taken), "taken_on")
    except InvalidInput as error:
        raise InvalidInput(f"{where}: {error}") from None
    return GatewayResult(result_id, request_id, status, collected, taken_on)


def read_settlement(content: str, name: str) -> list[GatewayResult]:
    """Every line of a settlement file, or :class:`InvalidInput` naming the first bad one."""
    rows = csv.reader(io.StringIO(content))
    header = next(rows, None)
    if header is None or [h.strip() for h in header] != HEADER:
        raise InvalidInput(
            f"{name}: the first line must be the header {','.join(HEADER)}, not "
            f"{','.join(header or [])[:80]!r}"
        )
    results = []
    for number, row in enumerate(rows, start=2):
        if not row:
            continue
        if len(row) != len(HEADER):
            raise InvalidInput(
                f"{name} line {number}: {len(row)} fields, expected {len(HEADER)} "
                f"({','.join(HEADER)})"
            )
        if number > MAX_LINES:
            raise InvalidInput(f"{name}: more than {MAX_LINES} lines; split the file")
        results.append(
            result_of(
                dict(zip(HEADER, [c.strip() for c in row], strict=True)), f"{name} line {number}"
            )
        )
    return results


def settlement_text(results: Iterable[GatewayResult]) -> str:
    """Results as a settlement file (the format :func:`read_settlement` reads)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for r in results:
        taken = r.taken_on.isoformat() if r.taken_on else ""
        writer.writerow([r.result_id, r.request_id, r.status, f"{r.collected:.2f}", taken])
    return out.getvalue()
