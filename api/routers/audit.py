"""The audit trail, for admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from api.deps import AdminDep, PageSizeDep, ReadSessionDep
from models.audit import AuditEvent, AuditEventPublic
from models.matching import Page

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEventPublic])
def read_audit(
    _admin: AdminDep,
    session: ReadSessionDep,
    size: PageSizeDep,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[
        int | None, Query(ge=0, le=2**31 - 1, description="next_cursor of the previous page")
    ] = None,
) -> Page[AuditEventPublic]:
    query = select(AuditEvent)
    if object_id:
        query = query.where(AuditEvent.object_id == object_id)
    if cursor is not None:
        query = query.where(col(AuditEvent.id) > cursor)
    events = session.exec(query.order_by(col(AuditEvent.id)).limit(size + 1)).all()
    more = len(events) > size
    events = events[:size]
    return Page[AuditEventPublic](
        items=[AuditEventPublic.model_validate(e, from_attributes=True) for e in events],
        next_cursor=str(events[-1].id) if more and events else None,
    )
