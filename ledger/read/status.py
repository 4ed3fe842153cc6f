"""The status of the book (``ledger status``, ``GET /status``): which business day each
partition closed, loans by status, the projections' lag, quarantined loans."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ledger.adapters.worker_status import WorkerStatusStore
from ledger.services.application import LedgerApp
from projections import Projections


def status_report(app: LedgerApp, today: date) -> dict[str, Any]:
    """``ledger status`` (and ``GET /status``) as data: a partition is behind when its last
    closed business day is before yesterday (the end-of-day pass of yesterday has not run).

    It never raises, so the status can always be read: a part that cannot be computed is
    ``{"error": "<one line>"}`` (a partition: its entry has an ``error``) and the rest is still
    returned. ``quarantined`` lists the loans a projection set apart (left out of ``loans``)."""
    from collections.abc import Callable

    from ledger.adapters.quarantine import one_line

    def guarded(compute: Callable[..., Any], *args: Any) -> Any:
        try:
            return compute(*args)
        except Exception as error:  # whatever failed, the rest of the status is answered
            return {"error": one_line(error)}

    def partition(key: tuple[int, int], record: Any) -> dict[str, Any]:
        cal = app.find_calendar(*key)
        last_closed = cal.last_closed if cal else None
        behind = (today - timedelta(days=1) - last_closed).days if last_closed else None
        return {
            "last_closed": last_closed.isoformat() if last_closed else None,
            "behind_days": max(behind, 0) if behind is not None else None,
            "behind": behind is None or behind > 0,
            "last_pass": {
                "kind": record.kind,
                "business_date": record.business_date.isoformat(),
                "loans": record.loans,
                "events": record.events,
                "seconds": round(record.seconds, 3),
                "finished_at": record.finished_at.isoformat(timespec="seconds"),
            }
            if record
            else None,
            "failures": record.failures if record else [],
        }

    def partitions() -> list[dict[str, Any]]:
        records = {(r.partition, r.partitions): r for r in WorkerStatusStore(app).all()}
        keys = set(records)
        if guarded(app.find_calendar, 0, 1) is not None:
            keys.add((0, 1))
        return [
            {"partition": f"{p}/{n}", **guarded(partition, (p, n), records.get((p, n)))}
            for p, n in sorted(keys, key=lambda k: (k[1], k[0]))
        ]

    result: dict[str, Any] = {"business_today": today.isoformat()}
    projections = guarded(Projections, app)
    if isinstance(projections, dict):  # the projections' tables cannot even be reached
        result |= {"loans": projections, "projections": projections, "quarantined": projections}
    else:
        caught = guarded(projections.catch_up, ["balances"])
        result["loans"] = guarded(projections.balances.counts)
        if "error" in caught and "error" not in result["loans"]:
            result["loans"]["error"] = f"balances could not be caught up: {caught['error']}"
        result["projections"] = guarded(lambda: [s.as_dict() for s in projections.status()])
        result["quarantined"] = guarded(lambda: [q.as_dict() for q in projections.quarantined()])
    result["partitions"] = guarded(partitions)
    return result
