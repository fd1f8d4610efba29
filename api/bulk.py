"""Bulk bodies (JSON array or NDJSON) for the data platform's ingest calls."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from api.jsonguard import checked_body
from chainmatch.ingest.readers import (
    Format,
    ParsedRecord,
    UnreadableInput,
    checked_json_records,
    parse_records,
)
from chainmatch.ingest.report import IngestReport
from chainmatch.services.context import Caller
from chainmatch.settings import Settings

Ingest = Callable[..., IngestReport]

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/json-seq")
BULK_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


async def read_bulk(request: Request, settings: Settings) -> list[ParsedRecord]:
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = Format.JSONL if content_type in NDJSON_TYPES else Format.JSON
    checked = checked_body(request) if fmt is Format.JSON else None  # parsed once, at the boundary
    try:
        records = checked_json_records(checked[0]) if checked else parse_records(body, fmt=fmt)[0]
    except UnreadableInput as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    if not records:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "请求体中没有记录 (no records in the body)"
        )
    if len(records) > settings.max_bulk_records:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"单次最多 {settings.max_bulk_records} 条记录，收到 {len(records)} 条，请分批提交 "
            f"(at most {settings.max_bulk_records} records per call)",
        )
    return records


async def ingest_bulk(
    request: Request, response: Response, caller: Caller, ingest: Ingest, *, skip_invalid: bool
) -> IngestReport:
    """Read a bulk body, have the service ``ingest`` validate and write it in one transaction (or
    nothing, with 422 and every error), then answer. The index catches up in the background
    (``IndexService.refresh_soon``): the next search still sees the write, since every search
    catches up first, and a stream of bulk calls is applied in fewer, larger upserts while the
    next call is validated and written."""
    records: Sequence[ParsedRecord] = await read_bulk(request, caller.settings)
    report = await run_in_threadpool(ingest, caller, records, skip_invalid=skip_invalid)
    if not report.written:
        response.status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
        return report
    caller.index.refresh_soon()
    return report
