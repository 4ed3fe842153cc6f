"""The answers of ``GET /status`` and ``GET /projections``: the book's business days, its
loans by status, the read models' lag and quarantine (``ledger status``,
``ledger projections status``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.models import Day, Shape, Timestamp


class ProjectionStatus(Shape):
    name: str
    description: str
    position: int
    head: int
    lag: int
    up_to_date: bool
    rebuilding: bool
    quarantined: int
    quarantined_loans: list[str]
    skipped: int


class QuarantinedLoan(Shape):
    loan_id: str
    reference: str | None
    projection: str
    version: int
    position: int
    kind: str
    error: str
    skipped: int
    quarantined_at: str


class PartError(Shape):
    """A part of the status that could not be computed (the rest is still answered)."""

    error: str


class LastPass(Shape):
    kind: str
    business_date: Day
    loans: int
    events: int
    seconds: float
    finished_at: Timestamp


class Partition(Shape):
    """One worker partition; only ``partition`` and ``error`` when it could not be read."""

    partition: str = Field(examples=["0/1"])
    last_closed: Day | None = None
    behind_days: int | None = None
    behind: bool | None = None
    last_pass: LastPass | None = None
    failures: list[dict[str, Any]] | None = None
    error: str | None = None


class BusinessToday(Shape):
    business_today: Day
    source: str = Field(description="Where today came from: --today, LEDGER_TODAY, the clock")


class Status(Shape):
    """``GET /status``; never fails. Each part that cannot be computed is
    ``{"error": "..."}`` (``loans`` may hold an ``error`` beside its counts); when nothing
    could be, only ``business_today``, ``error`` and ``business_date``."""

    business_today: Day
    loans: dict[str, int | str] | None = None
    projections: list[ProjectionStatus] | PartError | None = None
    quarantined: list[QuarantinedLoan] | PartError | None = None
    partitions: list[Partition] | PartError | None = None
    error: str | None = None
    business_date: BusinessToday
