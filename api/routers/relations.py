"""Product graph routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.bulk import BULK_BODY_DOC, ingest_bulk
from api.deps import AdminDep, DbDep, IndexDep, SettingsDep
from chainmatch.ingest.relations import ingest_relations
from chainmatch.ingest.report import IngestReport

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
    _admin: AdminDep,
    settings: SettingsDep,
    db: DbDep,
    index: IndexDep,
    skip_invalid: Annotated[bool, Query()] = False,
) -> IngestReport:
    """Add product relations {product, relation, target} (JSON array or NDJSON); existing ones are unchanged."""
    return await ingest_bulk(
        request, response, settings, db, index, ingest_relations, skip_invalid=skip_invalid
    )
