"""Supply offers (配套意愿): a firm's declaration that it can and will supply. Versioned like gap
lists. A supplier sees and writes its own; a bureau those of firms in its region; admin all, and
imports them in bulk. Leaders have no access here (a matching offer marks a firm in their matches)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.caller import AdminCallerDep, caller_of
from api.deps import PageSizeDep, SupplyOfferReadDep, SupplyOfferWriteDep
from chainmatch.services import offers
from chainmatch.services.context import Caller
from models.matching import Page
from models.offer import SupplyOfferCreate, SupplyOfferPublic, SupplyOfferUpdate

router = APIRouter(prefix="/v1/supply-offers", tags=["supply offers"])


class OfferImportIssue(BaseModel):
    row: int = Field(description="row as the spreadsheet shows it (the header is row 1) / line / position")
    field: str | None
    message: str


class OfferImportReport(BaseModel):
    received: int
    valid: int
    written: int
    offer_ids: list[str]
    errors: list[OfferImportIssue]


class OfferRevisionPublic(BaseModel):
    version: int
    snapshot: dict[str, Any]


OfferCallerDep = Annotated[Caller, Depends(caller_of(*offers.OFFER_ROLES))]


@router.post("", response_model=SupplyOfferPublic, status_code=status.HTTP_201_CREATED)
def create_offer(body: SupplyOfferCreate, caller: OfferCallerDep) -> SupplyOfferPublic:
    """A supplier for its own firm; a bureau for a firm in its region (``firm_id``); admin for any."""
    return offers.create(caller, body)


@router.post(
    "/import",
    response_model=OfferImportReport,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": OfferImportReport, "description": "dry run, or nothing new to write"},
        422: {"model": OfferImportReport, "description": "bad rows; nothing written"},
    },
)
def import_offers(
    caller: AdminCallerDep,
    file: Annotated[UploadFile, File(description="XLSX (first sheet), CSV, JSON array or JSON lines")],
    skip_invalid: Annotated[bool, Query(description="write the valid rows despite bad ones")] = False,
    dry_run: Annotated[bool, Query(description="validate and report, write nothing")] = False,
) -> JSONResponse:
    """Bulk import (admin): one offer per row; headers 企业/firm_id, 标题, 产品 (、 or ; between
    products), 产能, 年供货能力, 交货周期, 认证, 供货地区, 愿意本地设厂 (是/否), 设厂地区, 意向链主, 联系人,
    电话, 邮箱, 有效期至 — or the English field names. Any bad row: 422 with row, field and why, and
    nothing written (unless ``skip_invalid``)."""
    data = file.file.read(caller.settings.max_body_bytes + 1)
    report = offers.import_file(caller, data, file.filename, skip_invalid=skip_invalid, dry_run=dry_run)
    code = (
        status.HTTP_422_UNPROCESSABLE_CONTENT
        if report.errors and not report.written
        else status.HTTP_200_OK
        if dry_run or not report.written
        else status.HTTP_201_CREATED
    )
    return JSONResponse(asdict(report), status_code=code)


@router.get("", response_model=Page[SupplyOfferPublic])
def list_offers(
    caller: OfferCallerDep,
    size: PageSizeDep,
    firm_id: Annotated[str | None, Query(max_length=64)] = None,
    valid_only: Annotated[bool, Query(description="only offers whose validity has not passed")] = False,
    cursor: Annotated[str | None, Query(max_length=60)] = None,
) -> Page[SupplyOfferPublic]:
    """The offers the caller may see, by id."""
    return offers.list_page(caller, limit=size, firm_id=firm_id, valid_only=valid_only, cursor=cursor)


@router.get("/{offer_id}", response_model=SupplyOfferPublic)
def read_offer(offer: SupplyOfferReadDep, caller: OfferCallerDep) -> SupplyOfferPublic:
    return offers.read(caller, offer.id)


@router.get("/{offer_id}/revisions", response_model=list[OfferRevisionPublic])
def offer_revisions(offer: SupplyOfferReadDep, caller: OfferCallerDep) -> list[OfferRevisionPublic]:
    """The superseded versions, oldest first."""
    return [
        OfferRevisionPublic.model_validate(r, from_attributes=True)
        for r in offers.revisions(caller, offer.id)
    ]


@router.put("/{offer_id}", response_model=SupplyOfferPublic)
def revise_offer(
    body: SupplyOfferUpdate, offer: SupplyOfferWriteDep, caller: OfferCallerDep
) -> SupplyOfferPublic:
    """Replace every field; the version goes up and the previous one is kept."""
    return offers.revise(caller, offer.id, body)


@router.delete("/{offer_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_offer(offer: SupplyOfferWriteDep, caller: OfferCallerDep) -> None:
    offers.delete(caller, offer.id)
