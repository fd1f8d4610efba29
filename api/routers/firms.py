"""Firm registry routes: bulk upsert for the data platform, read, search, soft delete."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from sqlalchemy import or_
from sqlmodel import Session, col, select

from api.bulk import BULK_BODY_DOC, ingest_bulk
from api.deps import (
    AdminDep,
    AdminFirmDep,
    DbDep,
    IndexDep,
    PageSizeDep,
    PrincipalDep,
    ReadableFirmDep,
    ReadAuditDep,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
)
from chainmatch.chains.scope import resolve_region
from chainmatch.firmprofile import FirmProfile, build_profile
from chainmatch.ingest.firms import ingest_firms, soft_delete_firm
from chainmatch.ingest.readers import ParsedRecord
from chainmatch.ingest.report import IngestReport
from chainmatch.keys import Principal
from models.apikey import Role
from models.firm import Contact, Firm, FirmAdminPublic, FirmProduct, FirmTag, FirmUpdate, ProductPublic
from models.matching import Page
from models.regions import normalize_province
from recommender.corpus import Region
from recommender.text import normalize_text

router = APIRouter(prefix="/v1/firms", tags=["firms"])


def firm_public(session: Session, firm: Firm, principal: Principal) -> FirmAdminPublic:
    products = session.exec(
        select(FirmProduct).where(FirmProduct.firm_id == firm.id).order_by(col(FirmProduct.position))
    ).all()
    tags = session.exec(select(FirmTag.tag).where(FirmTag.firm_id == firm.id)).all()
    contact = None
    if principal.role is Role.ADMIN and (firm.contact_name or firm.contact_phone or firm.contact_email):
        contact = Contact(name=firm.contact_name, phone=firm.contact_phone, email=firm.contact_email)
    return FirmAdminPublic.model_validate(
        firm.model_dump()
        | {
            "products": [ProductPublic(name=p.name, share=p.share) for p in products],
            "tags": sorted(tags),
            "contact": contact,
        }
    )


@router.post(
    "",
    response_model=IngestReport,
    openapi_extra=BULK_BODY_DOC,
    responses={422: {"model": IngestReport, "description": "invalid records; nothing written"}},
)
async def upsert_firms(
    request: Request,
    response: Response,
    _admin: AdminDep,
    settings: SettingsDep,
    db: DbDep,
    index: IndexDep,
    skip_invalid: Annotated[bool, Query(description="write the valid records and report the rest")] = False,
) -> IngestReport:
    """Upsert firms by id (JSON array or NDJSON). Without ``skip_invalid`` a body with any invalid
    record writes nothing and answers 422 with every error (line, id, field, reason)."""
    return await ingest_bulk(request, response, settings, db, index, ingest_firms, skip_invalid=skip_invalid)


@router.get("/{firm_id}", response_model=FirmAdminPublic, response_model_exclude_none=False)
def read_firm(
    firm: ReadableFirmDep, principal: PrincipalDep, session: ReadSessionDep, read_audit: ReadAuditDep
) -> FirmAdminPublic:
    """A firm's profile. Its contact person (personal data) is returned to admin keys only."""
    public = firm_public(session, firm, principal)
    if public.contact is not None:
        read_audit.record("read", "firm_contact", firm.id)
    return public


@router.get("/{firm_id}/profile", response_model=FirmProfile)
def firm_profile(
    firm: ReadableFirmDep,
    principal: PrincipalDep,
    session: ReadSessionDep,
    read_audit: ReadAuditDep,
    db: DbDep,
    index: IndexDep,
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
    if principal.role not in (Role.ADMIN, Role.BUREAU) and firm.id != principal.firm_id:
        # another firm's standing and lists are none of a leader's business: as if it did not exist
        raise HTTPException(status.HTTP_404_NOT_FOUND, "企业不存在 (not found)")
    where: Region | None = None
    if principal.role is Role.BUREAU or (principal.role is Role.ADMIN and region):
        where = resolve_region(principal, region, city)
    public = firm_public(session, firm, principal)
    focus = (chain, node) if chain and node else None
    profile = build_profile(db, index, principal, public, where, focus=focus)
    if public.contact is not None:
        read_audit.record("read", "firm_contact", firm.id)
    read_audit.record_lists("profile", profile.lists_read)
    return profile


def _decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "cursor 无效 (invalid cursor)") from exc


@router.get("", response_model=Page[FirmAdminPublic])
def list_firms(
    principal: PrincipalDep,
    session: ReadSessionDep,
    size: PageSizeDep,
    province: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=100, description="in name, full name or product names")] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[FirmAdminPublic]:
    query = select(Firm).where(col(Firm.deleted_at).is_(None))
    if province:
        query = query.where(Firm.province == normalize_province(province))
    if tag:
        query = query.where(
            col(Firm.id).in_(select(FirmTag.firm_id).where(FirmTag.tag == normalize_text(tag)))
        )
    if q:
        needle = f"%{normalize_text(q)}%"
        query = query.where(
            or_(
                col(Firm.name).like(needle),
                col(Firm.fullname).like(needle),
                col(Firm.id).in_(select(FirmProduct.firm_id).where(col(FirmProduct.name).like(needle))),
            )
        )
    after = _decode_cursor(cursor)
    if after is not None:
        query = query.where(Firm.id > after)
    firms = session.exec(query.order_by(col(Firm.id)).limit(size + 1)).all()
    more = len(firms) > size
    firms = firms[:size]
    # Listing never returns personal data, even to admin: read one firm for its contact.
    items = [firm_public(session, f, principal).model_copy(update={"contact": None}) for f in firms]
    next_cursor = base64.urlsafe_b64encode(firms[-1].id.encode()).decode() if more and firms else None
    return Page[FirmAdminPublic](items=items, next_cursor=next_cursor)


@router.patch(
    "/{firm_id}",
    response_model=FirmAdminPublic,
    response_model_exclude_none=False,
)
def update_firm(
    body: FirmUpdate,
    firm: AdminFirmDep,
    principal: AdminDep,
    session: ReadSessionDep,
    db: DbDep,
    index: IndexDep,
) -> FirmAdminPublic:
    """Change some fields of a firm (admin): the stored record with the sent fields replaced is
    written as one import record — same validation, normalisation, warnings and index update as
    ``POST /v1/firms``. Concurrent writes to one firm: the last one wins, as with the bulk upsert."""
    current = firm_public(session, firm, principal).model_dump(exclude={"created_at", "updated_at"})
    session.rollback()  # end the read: the write below runs in its own transaction
    record = current | body.model_dump(exclude_unset=True)
    report = ingest_firms(db, [ParsedRecord(1, record)])
    if not report.written:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [issue.model_dump(exclude={"line"}) for issue in report.errors],
        )
    index.refresh(checkpoint=True)
    session.expire_all()
    updated = session.get(Firm, firm.id)
    assert updated is not None
    return firm_public(session, updated, principal)


@router.delete("/{firm_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_firm(firm: AdminFirmDep, session: SessionDep, index: IndexDep) -> None:
    """Soft delete: the firm leaves every result at once; its record is kept for audit."""
    soft_delete_firm(session, firm.id)
    session.commit()
    index.refresh(checkpoint=True)
