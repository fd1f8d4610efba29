"""Supply offers (配套意愿): a firm's declaration that it can and will supply. Versioned like gap
lists. A supplier sees and writes its own; a bureau those of firms in its region; admin all, and
imports them in bulk. Leaders have no access here (a matching offer marks a firm in their matches)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlmodel import col

from api.audit import audit
from api.deps import (
    AdminDep,
    OfferWriterDep,
    PageSizeDep,
    ReadableSupplyOfferDep,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
    SupplyOfferDep,
)
from chainmatch import offers
from chainmatch.ingest.readers import UnreadableInput
from models.matching import Page
from models.offer import SupplyOffer, SupplyOfferCreate, SupplyOfferPublic, SupplyOfferUpdate

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


@router.post("", response_model=SupplyOfferPublic, status_code=status.HTTP_201_CREATED)
def create_offer(
    body: SupplyOfferCreate, principal: OfferWriterDep, session: SessionDep
) -> SupplyOfferPublic:
    """A supplier for its own firm; a bureau for a firm in its region (``firm_id``); admin for any."""
    offer = offers.create_offer(session, principal, body)
    audit(session, principal, "create", "supply_offer", offer.id)
    public = offers.publics(session, [offer])[0]
    session.commit()
    return public


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
    principal: AdminDep,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="XLSX (first sheet), CSV, JSON array or JSON lines")],
    skip_invalid: Annotated[bool, Query(description="write the valid rows despite bad ones")] = False,
    dry_run: Annotated[bool, Query(description="validate and report, write nothing")] = False,
) -> JSONResponse:
    """Bulk import (admin): one offer per row; headers 企业/firm_id, 标题, 产品 (、 or ; between
    products), 产能, 年供货能力, 交货周期, 认证, 供货地区, 愿意本地设厂 (是/否), 设厂地区, 意向链主, 联系人,
    电话, 邮箱, 有效期至 — or the English field names. Any bad row: 422 with row, field and why, and
    nothing written (unless ``skip_invalid``)."""
    data = file.file.read(settings.max_body_bytes + 1)
    rows = offers.read_rows(data, file.filename)
    if len(rows) > settings.max_bulk_records:
        raise UnreadableInput(
            f"一次最多导入 {settings.max_bulk_records} 条 (at most {settings.max_bulk_records} rows per call)"
        )
    report = offers.import_offers(session, principal, rows, skip_invalid=skip_invalid, dry_run=dry_run)
    for offer_id in report.offer_ids:
        audit(session, principal, "import", "supply_offer", offer_id)
    session.commit()
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
    principal: OfferWriterDep,
    session: ReadSessionDep,
    size: PageSizeDep,
    firm_id: Annotated[str | None, Query(max_length=64)] = None,
    valid_only: Annotated[bool, Query(description="only offers whose validity has not passed")] = False,
    cursor: Annotated[str | None, Query(max_length=60)] = None,
) -> Page[SupplyOfferPublic]:
    """The offers the caller may see, by id."""
    query = offers.visible_offers(principal)
    if firm_id:
        query = query.where(SupplyOffer.firm_id == firm_id)
    if valid_only:
        query = query.where(col(SupplyOffer.valid_until) >= offers.today())
    if cursor:
        query = query.where(SupplyOffer.id > cursor)
    rows = session.exec(query.order_by(col(SupplyOffer.id)).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    return Page[SupplyOfferPublic](
        items=offers.publics(session, rows), next_cursor=rows[-1].id if more and rows else None
    )


@router.get("/{offer_id}", response_model=SupplyOfferPublic)
def read_offer(offer: ReadableSupplyOfferDep, session: ReadSessionDep) -> SupplyOfferPublic:
    return offers.publics(session, [offer])[0]


@router.get("/{offer_id}/revisions", response_model=list[OfferRevisionPublic])
def offer_revisions(offer: ReadableSupplyOfferDep, session: ReadSessionDep) -> list[OfferRevisionPublic]:
    """The superseded versions, oldest first."""
    return [
        OfferRevisionPublic(version=r.version, snapshot=r.snapshot)
        for r in offers.revisions_of(session, offer)
    ]


@router.put("/{offer_id}", response_model=SupplyOfferPublic)
def revise_offer(
    body: SupplyOfferUpdate, offer: SupplyOfferDep, principal: OfferWriterDep, session: SessionDep
) -> SupplyOfferPublic:
    """Replace every field; the version goes up and the previous one is kept."""
    offers.revise_offer(session, offer, body)
    audit(session, principal, "update", "supply_offer", offer.id, version=offer.version)
    public = offers.publics(session, [offer])[0]
    session.commit()
    return public


@router.delete("/{offer_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_offer(offer: SupplyOfferDep, principal: OfferWriterDep, session: SessionDep) -> None:
    offers.delete_offer(session, offer)
    audit(session, principal, "delete", "supply_offer", offer.id)
    session.commit()
