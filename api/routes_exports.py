"""``GET /exports/{name}``: the book as CSV or JSON, streamed, as ``ledger export NAME``
writes it (:mod:`ledger.read.exports`), for every role that reads (auditors included)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from pydantic import Field
from starlette.background import BackgroundTask

from api.context import ApiContext
from api.inputs import AsOf, day_of
from api.models import Day, Shape
from api.problems import READ, Operations
from ledger.adapters.api_keys import ApiKey
from ledger.read.exports import EXPORTS, find, open_export

POSITION_HEADERS = {
    "Content-Disposition": {
        "description": 'attachment; filename="NAME-AS_OF.csv" (`current` without `as_of`)',
        "schema": {"type": "string"},
    },
    "X-Ledger-Position": {
        "description": "The position in the event log of the read model exported (for "
        "`events`: the log's last loan event)",
        "schema": {"type": "integer"},
    },
    "X-Ledger-Behind": {
        "description": "Loan events recorded after that position (0: caught up)",
        "schema": {"type": "integer"},
    },
}


class ExportDocument(Shape):
    """``GET /exports/{name}?format=json``: one JSON document, written row by row."""

    export: str = Field(description="The export's name")
    as_of: Day | None = Field(description="The business day exported, or null (current)")
    projection: str | None = Field(description="The read model exported (null: the log)")
    position: int = Field(description="Its position in the event log")
    behind: int = Field(description="Loan events recorded after that position")
    columns: list[str] = Field(description="The keys of every row, in order")
    rows: list[dict[str, Any]] = Field(description="One object per record (the CSV's rows)")
    count: int = Field(description="How many rows")


EXPORT_ANSWER = {
    "description": "The export, streamed",
    "headers": POSITION_HEADERS,
    "content": {
        "text/csv": {
            "schema": {
                "type": "string",
                "description": "A header row of the columns, then one row per record",
            }
        },
    },
}


# every export registered (ledger.read.exports registers them when imported)
ExportName = Annotated[
    str,
    PathParam(
        description="; ".join(
            f"`{e.name}`: {e.description} (as_of: {e.as_of_means or 'refused'})"
            for e in EXPORTS.values()
        ),
        json_schema_extra={"enum": list(EXPORTS)},
    ),
]
ExportFormat = Annotated[
    str,
    Query(
        description="csv (`text/csv`: a header row, then a row per record) or json "
        "(`application/json`: one document, the rows in `rows`)",
        json_schema_extra={"enum": sorted({f for e in EXPORTS.values() for f in e.formats})},
    ),
]


def export_routes(ctx: ApiContext) -> APIRouter:
    router = APIRouter()
    ops = Operations(router, "exports")

    @ops.get("/exports/{name}", ExportDocument, "The export", (*READ, 404), success=EXPORT_ANSWER)
    def export(
        name: ExportName,
        key: ApiKey = ctx.anyone,
        format: ExportFormat = "csv",
        as_of: AsOf = None,
    ) -> Any:
        """The export `name`, streamed: the read models it comes from are caught up first,
        then read in one snapshot a page at a time. Amounts are exact two-decimal strings.
        `as_of` is refused (422) where the read model cannot honour it, after the business
        date, or (statements, portfolio) after the last business day the book has run. Writes
        nothing."""
        chosen = find(name)  # an unknown export: 404 before anything is caught up
        ctx.caught_up(list(chosen.needs))
        day = day_of(as_of) if as_of is not None else None
        run = open_export(ctx.ledger, name, format, day, as_of_name="as_of", format_name="format")
        return StreamingResponse(
            run.chunks(),
            media_type=run.media_type,
            background=BackgroundTask(run.close),  # the snapshot, even if never streamed
            headers={
                "Content-Disposition": f'attachment; filename="{run.filename}"',
                "X-Ledger-Position": str(run.position),
                "X-Ledger-Behind": str(run.behind),
            },
        )

    return router
