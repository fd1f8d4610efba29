"""Product graph routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.bulk import BULK_BODY_DOC, ingest_bulk
from api.caller import AdminCallerDep
from chainmatch.ingest.report import IngestReport
from chainmatch.services import firms

router = APIRouter(prefix="/v1/product-relations", tags=["product graph"])


@router.post(
    "",
    response_model=IngestReport,
    openapi_extra=BULK_BODY_DOC,
    responses={422: {"model": IngestReport, "description": "invalid records; nothing written"}},
)
async def add_relations(
    request: Request,
    response: Response,
    caller: AdminCallerDep,
    skip_invalid: Annotated[bool, Query()] = False,
) -> IngestReport:
    """Add product relations {product, relation, target} (JSON array or NDJSON); existing ones are unchanged."""
    return await ingest_bulk(request, response, caller, firms.import_relations, skip_invalid=skip_invalid)
