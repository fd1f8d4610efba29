"""Firm registry routes: bulk upsert for the data platform, read, search, soft delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from api.bulk import BULK_BODY_DOC, ingest_bulk
from api.caller import AdminCallerDep, AnyCallerDep
from api.deps import FirmReadDep, FirmWriteDep, PageSizeDep
from chainmatch.firmprofile import FirmProfile
from chainmatch.ingest.report import IngestReport
from chainmatch.services import firms
from models.firm import FirmAdminPublic, FirmUpdate
from models.matching import Page

router = APIRouter(prefix="/v1/firms", tags=["firms"])


@router.post(
    "",
    response_model=IngestReport,
    openapi_extra=BULK_BODY_DOC,
    responses={422: {"model": IngestReport, "description": "invalid records; nothing written"}},
)
async def upsert_firms(
    request: Request,
    response: Response,
    caller: AdminCallerDep,
    skip_invalid: Annotated[bool, Query(description="write the valid records and report the rest")] = False,
) -> IngestReport:
    """Upsert firms by id (JSON array or NDJSON). Without ``skip_invalid`` a body with any invalid
    record writes nothing and answers 422 with every error (line, id, field, reason)."""
    return await ingest_bulk(request, response, caller, firms.import_firms, skip_invalid=skip_invalid)


@router.get("/{firm_id}", response_model=FirmAdminPublic, response_model_exclude_none=False)
def read_firm(firm: FirmReadDep, caller: AnyCallerDep) -> FirmAdminPublic:
    """A firm's profile. Its contact person (personal data) is returned to admin keys only."""
    return firms.read(caller, firm.id)


@router.get("/{firm_id}/profile", response_model=FirmProfile)
def firm_profile(
    firm: FirmReadDep,
    caller: AnyCallerDep,
    region: Annotated[str | None, Query(max_length=40, description="admin: rank it in this province")] = None,
    city: Annotated[str | None, Query(max_length=60)] = None,
    chain: Annotated[
        str | None, Query(max_length=64, description="with node: rank it for this weak link too")
    ] = None,
    node: Annotated[str | None, Query(max_length=64)] = None,
) -> FirmProfile:
    """企业画像: products with shares and their product-graph neighbourhood, tags and scale, every
    weak link of the caller's region it is ranked for (rank, reasons), the caller's outreach history
    with it and the gap lists of it the caller may read. A bureau sees its own region's links and
    records; a firm's own key (leader) sees only its own firm (404 for others); admin all."""
    focus = (chain, node) if chain and node else None
    return firms.profile(caller, firm.id, province=region, city=city, focus=focus)


@router.get("", response_model=Page[FirmAdminPublic])
def list_firms(
    caller: AnyCallerDep,
    size: PageSizeDep,
    province: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=100, description="in name, full name or product names")] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[FirmAdminPublic]:
    return firms.search(caller, limit=size, province=province, q=q, tag=tag, cursor=cursor)


@router.patch(
    "/{firm_id}",
    response_model=FirmAdminPublic,
    response_model_exclude_none=False,
)
def update_firm(body: FirmUpdate, firm: FirmWriteDep, caller: AdminCallerDep) -> FirmAdminPublic:
    """Change some fields of a firm (admin): the stored record with the sent fields replaced is
    written as one import record — same validation, normalisation, warnings and index update as
    ``POST /v1/firms``. Concurrent writes to one firm: the last one wins, as with the bulk upsert."""
    try:
        return firms.update(caller, firm.id, body)
    except firms.FirmRejected as exc:  # each error with its field, as the bulk upsert reports them
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.issues) from exc


@router.delete("/{firm_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_firm(firm: FirmWriteDep, caller: AdminCallerDep) -> None:
    """Soft delete: the firm leaves every result at once; its record is kept for audit."""
    firms.delete(caller, firm.id)
