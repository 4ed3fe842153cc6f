"""Loan events as the projections read them: straight from the notification log.

A projection needs the event's data, not the aggregate: the stored JSON is decoded with one
``object_hook`` (the library's transcodings: ``decimal_str``, ``date_iso``, ``datetime_iso``,
``uuid_hex``) into a :class:`Fact`. Amounts stay ``Decimal``; nothing becomes a float
(``parse_float=Decimal`` guards numbers written without a transcoding).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger.domain.loan import Loan

LOAN_EVENT_TYPES: tuple[type[Any], ...] = (
    Loan.Disbursed,
    Loan.InstallmentFellDue,
    Loan.InstallmentDeducted,
    Loan.DeductionFailed,
    Loan.Repaid,
    Loan.InterestAccrued,
    Loan.Overdue,
    Loan.Prepaid,
    Loan.Closed,
)
KIND_OF_TOPIC = {get_topic(cls): cls.__name__ for cls in LOAN_EVENT_TYPES}
LOAN_TOPICS = sorted(KIND_OF_TOPIC)

_DECODERS: dict[str, Callable[[Any], Any]] = {
    "decimal_str": Decimal,
    "date_iso": date.fromisoformat,
    "datetime_iso": datetime.fromisoformat,
    "uuid_hex": UUID,
}


def _hook(obj: dict[str, Any]) -> Any:
    kind = obj.get("_type_")
    if kind is not None and "_data_" in obj:
        decode = _DECODERS.get(kind)
        if decode is not None:
            return decode(obj["_data_"])
    return obj


def decode_state(state: bytes | str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(state, object_hook=_hook, parse_float=Decimal)
    return decoded


@dataclass(frozen=True, slots=True)
class Fact:
    """One loan event: where it is in the log, which loan, which version, what it says."""

    position: int
    loan_id: UUID
    version: int
    kind: str  # the event class name: "Disbursed", "InterestAccrued", ...
    data: dict[str, Any]

    @property
    def on(self) -> date:
        day: date = self.data["on"]
        return day

    @property
    def recorded_at(self) -> datetime:
        moment: datetime = self.data["timestamp"]
        return moment


def fact_from_notification(notification: Any) -> Fact | None:
    kind = KIND_OF_TOPIC.get(notification.topic)
    if kind is None:
        return None
    return Fact(
        position=int(notification.id),
        loan_id=UUID(str(notification.originator_id)),
        version=int(notification.originator_version),
        kind=kind,
        data=decode_state(notification.state),
    )
