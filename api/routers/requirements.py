"""A leader's requirements per weak link: as confidential as its gap list. Read by whoever may read
the list (each read audited like a read of the list); written by the owning leader and admin."""

from __future__ import annotations

from fastapi import APIRouter

from api.caller import AnyCallerDep
from api.deps import GapListReadDep, GapListWriteDep
from chainmatch.services import requirements
from models.requirement import RequirementsPublic, RequirementsUpdate

router = APIRouter(prefix="/v1/gap-lists", tags=["gap lists"])


@router.get("/{list_id}/requirements", response_model=RequirementsPublic)
def read_requirements(gap_list: GapListReadDep, caller: AnyCallerDep) -> RequirementsPublic:
    """Per item: required certifications, minimum scale or capacity, acceptable provinces or
    distance, excluded and wished-for firms; ``soft`` names the ones that rank rather than filter."""
    return requirements.read(caller, gap_list.id)


@router.put("/{list_id}/requirements", response_model=RequirementsPublic)
def write_requirements(
    body: RequirementsUpdate, gap_list: GapListWriteDep, caller: AnyCallerDep
) -> RequirementsPublic:
    """Replace the list's requirements (one entry per item at most; ``item`` names an item of the
    list). 422 naming ``requirements[i].item`` otherwise."""
    return requirements.replace(caller, gap_list.id, body)
