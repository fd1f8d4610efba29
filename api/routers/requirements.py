"""A leader's requirements per weak link: as confidential as its gap list. Read by whoever may read
the list (each read audited like a read of the list); written by the owning leader and admin."""

from __future__ import annotations

from fastapi import APIRouter

from api.audit import audit
from api.deps import (
    EditableGapListDep,
    PrincipalDep,
    ReadableGapListDep,
    ReadAuditDep,
    ReadSessionDep,
    SessionDep,
)
from chainmatch.gaplists import items_of
from chainmatch.requirements import replace_requirements, requirements_of, to_public
from models.requirement import RequirementsPublic, RequirementsUpdate

router = APIRouter(prefix="/v1/gap-lists", tags=["gap lists"])


@router.get("/{list_id}/requirements", response_model=RequirementsPublic)
def read_requirements(
    gap_list: ReadableGapListDep, session: ReadSessionDep, read_audit: ReadAuditDep
) -> RequirementsPublic:
    """Per item: required certifications, minimum scale or capacity, acceptable provinces or
    distance, excluded and wished-for firms; ``soft`` names the ones that rank rather than filter."""
    public = RequirementsPublic(
        gap_list_id=gap_list.id,
        gap_list_version=gap_list.version,
        requirements=[to_public(r) for r in requirements_of(session, gap_list)],
    )
    read_audit.record("read_requirements", "gap_list", gap_list.id)
    return public


@router.put("/{list_id}/requirements", response_model=RequirementsPublic)
def write_requirements(
    body: RequirementsUpdate, gap_list: EditableGapListDep, principal: PrincipalDep, session: SessionDep
) -> RequirementsPublic:
    """Replace the list's requirements (one entry per item at most; ``item`` names an item of the
    list). 422 naming ``requirements[i].item`` otherwise."""
    rows = replace_requirements(session, gap_list, items_of(session, gap_list), body, principal.key_id)
    audit(session, principal, "update_requirements", "gap_list", gap_list.id, version=gap_list.version)
    public = RequirementsPublic(
        gap_list_id=gap_list.id, gap_list_version=gap_list.version, requirements=[to_public(r) for r in rows]
    )
    session.commit()
    return public
