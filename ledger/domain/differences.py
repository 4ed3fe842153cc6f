"""What a correction changed: the recomputed state against the recorded one, per figure and
per installment (recorded on ``Corrected`` as ``differences``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ledger.domain.money import Exact, accumulate, readable
from ledger.domain.state import LoanState


def differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``after - before`` for every amount that changed, per figure and per installment
    (dates and statuses as ``[before, after]``)."""
    result: dict[str, Any] = {}
    for name in LoanState.DERIVED:
        a, b = before.get(name), after.get(name)
        if a != b:
            result[name] = _change(a, b)
    per_k: dict[str, Any] = {}
    old = {i["k"]: i for i in before["installments"]}
    for inst in after["installments"]:
        prior = old.pop(inst["k"], None)
        changed: dict[str, Any] = {}
        for field_name, value in inst.items():
            was = prior.get(field_name) if prior else None
            if was != value:
                changed[field_name] = _change(was, value)
        if changed:
            per_k[str(inst["k"])] = changed
    for k in old:
        per_k[str(k)] = "removed"
    if per_k:
        result["installments"] = per_k
    return result


def _change(before: Any, after: Any) -> Any:
    """``after - before`` for amounts (an exact accrual's change as a readable decimal),
    ``[before, after]`` for anything else."""
    amounts = (Decimal, Exact)
    if isinstance(before, amounts) and isinstance(after, amounts):
        return readable(accumulate(after, -before))
    return [before, after]
