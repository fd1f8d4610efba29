"""A leader's requirements per weak link: as confidential as its gap list. Read by whoever may read
the list (each read audited like a read of the list); written by the owning leader and admin."""

from __future__ import annotations

from collections.abc import Sequence

from chainmatch import gaplists
from chainmatch import requirements as rules
from chainmatch.audit import audit
from chainmatch.services.access import Access
from chainmatch.services.context import Caller
from chainmatch.services.gap_lists import find_in
from models.gap import GapList
from models.requirement import GapRequirement, RequirementsPublic, RequirementsUpdate


def _public(gap_list: GapList, rows: Sequence[GapRequirement]) -> RequirementsPublic:
    return RequirementsPublic(
        gap_list_id=gap_list.id,
        gap_list_version=gap_list.version,
        requirements=[rules.to_public(r) for r in rows],
    )


def read(caller: Caller, list_id: str) -> RequirementsPublic:
    """Per item: required certifications, minimum scale or capacity, acceptable provinces or
    distance, excluded and wished-for firms; ``soft`` names the ones that rank rather than filter."""
    with caller.reading() as session:
        gap_list = find_in(session, caller, list_id)
        public = _public(gap_list, rules.requirements_of(session, gap_list))
    caller.record("read_requirements", "gap_list", list_id)
    return public


def item_names(caller: Caller, list_id: str) -> list[str]:
    """The names of the list's items in order, for a form of requirements about to be sent to
    :func:`replace` (which audits the write; this read is not audited on its own)."""
    with caller.reading() as session:
        return [item.name for item in gaplists.items_of(session, find_in(session, caller, list_id))]


def replace(caller: Caller, list_id: str, body: RequirementsUpdate) -> RequirementsPublic:
    """Replace the list's requirements (one entry per item at most, each naming an item of the
    list: :class:`~chainmatch.errors.RequirementError` naming ``requirements[i].item`` otherwise)."""
    with caller.writing() as session:
        gap_list = find_in(session, caller, list_id, Access.WRITE)
        items = gaplists.items_of(session, gap_list)
        rows = rules.replace_requirements(session, gap_list, items, body, caller.principal.key_id)
        audit(
            session,
            caller.principal,
            "update_requirements",
            "gap_list",
            gap_list.id,
            version=gap_list.version,
        )
        return _public(gap_list, rows)
