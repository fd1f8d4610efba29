"""The audit trail, for admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.caller import AdminCallerDep
from api.deps import PageSizeDep
from chainmatch.services import audit_trail
from models.audit import AuditEventPublic
from models.matching import Page

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=Page[AuditEventPublic])
def read_audit(
    caller: AdminCallerDep,
    size: PageSizeDep,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[
        int | None, Query(ge=0, le=2**31 - 1, description="next_cursor of the previous page")
    ] = None,
) -> Page[AuditEventPublic]:
    return audit_trail.events(caller, limit=size, object_id=object_id, after=cursor)
