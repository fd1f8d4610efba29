"""Gap lists (断链断供风险清单): submit, read, revise, delete and the recommendations of a list.

Confidential: a leader sees its own lists, a bureau those submitted in its region, admin all
(:func:`chainmatch.gaplists.visible_lists`); a list outside the caller's scope is as if it did not
exist (404). Only the owning leader and admin change a list; a bureau that can see it gets 403.
Every answer that carries a list's items is audited as a read of the list.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import TypeAdapter
from sqlmodel import Session, col

from chainmatch import gapfile, gaplists
from chainmatch.audit import audit
from chainmatch.errors import Forbidden, InvalidInput, NotFound
from chainmatch.gapsheet import parse_sheet
from chainmatch.ingest.report import IngestReport
from chainmatch.matching import recommend_gap_list
from chainmatch.services.access import Access
from chainmatch.services.context import Caller
from models.apikey import Role
from models.common import NormText
from models.gap import GapList, GapListCreate, GapListPublic, GapListUpdate, RegionIn
from models.matching import GapListRecommendations, GapSheetReport, Page

SUBMITTERS = (Role.LEADER, Role.ADMIN)
_TITLE = TypeAdapter(NormText)


# ------------------------------------------------------------------------------ finding
def find_in(session: Session, caller: Caller, list_id: str, access: Access = Access.READ) -> GapList:
    """The list if the caller may ``access`` it, in ``session``: 404 when it may not see it
    (whether or not it exists), 403 when it may see it but not change it (a bureau)."""
    gap_list = gaplists.get_visible(session, caller.principal, list_id)
    if gap_list is None:
        raise NotFound("清单不存在 (not found)")
    if access is Access.WRITE and caller.role is Role.BUREAU:
        raise Forbidden("招商局不能修改企业的清单 (bureaus cannot modify gap lists)")
    return gap_list


def find(caller: Caller, list_id: str, access: Access = Access.READ) -> GapList:
    """:func:`find_in`, in a short read session of its own (the row comes back detached)."""
    with caller.reading() as session:
        return find_in(session, caller, list_id, access)


def check_item_count(caller: Caller, n: int) -> None:
    limit = caller.settings.max_gap_items
    if n > limit:
        raise InvalidInput(f"一份清单最多 {limit} 项 (at most {limit} items per list)")


def leader_of(caller: Caller, leader_firm_id: str | None) -> str:
    """The firm a list is submitted for: a leader's own; admin names it."""
    caller.require(*SUBMITTERS)
    principal = caller.principal
    if principal.role is Role.LEADER:
        if leader_firm_id not in (None, principal.firm_id):
            raise Forbidden("链主企业只能为本企业提交清单 (a leader submits only for its own firm)")
        assert principal.firm_id is not None
        return principal.firm_id
    if not leader_firm_id:
        raise InvalidInput("管理员提交需指定 leader_firm_id (admin must name leader_firm_id)")
    return leader_firm_id


# ------------------------------------------------------------------------------ reading
def list_page(caller: Caller, *, limit: int, cursor: str | None = None) -> Page[GapListPublic]:
    """The lists the caller may see, by id, ``limit`` a page."""
    with caller.reading() as session:
        query = gaplists.visible_lists(caller.principal)
        if cursor:
            query = query.where(GapList.id > cursor)
        rows = session.exec(query.order_by(col(GapList.id)).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = [gaplists.list_public(session, gl) for gl in rows]
    caller.record("list", "gap_list", *(gl.id for gl in rows))
    return Page[GapListPublic](items=items, next_cursor=rows[-1].id if more and rows else None)


def lists_oldest_first(caller: Caller) -> list[GapList]:
    """The lists the caller may see, oldest first, without their items (so no read of a list is
    audited: a page shows their titles and asks :func:`recommendations` for each)."""
    with caller.reading() as session:
        return list(session.exec(gaplists.visible_lists(caller.principal).order_by(col(GapList.created_at))))


def read(caller: Caller, list_id: str) -> GapListPublic:
    with caller.reading() as session:
        public = gaplists.list_public(session, find_in(session, caller, list_id))
    caller.record("read", "gap_list", list_id)
    return public


def recommendations(
    caller: Caller, list_id: str, *, k: int, min_score: float | None = None
) -> GapListRecommendations:
    """For every weak link: investment targets outside the list's region and local suppliers inside."""
    if k > caller.settings.max_k:
        raise InvalidInput(f"k 最大为 {caller.settings.max_k} (k is capped)")
    with caller.reading() as session:
        gap_list = find_in(session, caller, list_id)
        items = gaplists.items_of(session, gap_list)
        with caller.index.searching() as engine:
            result = recommend_gap_list(engine, gap_list, items, k=k, min_score=min_score)
    caller.record("recommend", "gap_list", list_id)
    return result


# ------------------------------------------------------------------------------ writing
def create(caller: Caller, body: GapListCreate) -> GapListPublic:
    """A leader submits for its own firm, admin names ``leader_firm_id``. Each item's text is read
    and the sourcing facts it states fill the item's empty fields (values sent always win)."""
    check_item_count(caller, len(body.items))
    leader_id = leader_of(caller, body.leader_firm_id)
    with caller.writing() as session:
        with caller.index.searching() as engine:
            gap_list = gaplists.create_list(
                session,
                leader_firm_id=leader_id,
                title=body.title,
                region=body.region,
                items=body.items,
                understand=engine.understand,
            )
        audit(session, caller.principal, "create", "gap_list", gap_list.id)
        return gaplists.list_public(session, gap_list)


def upload(
    caller: Caller,
    data: bytes,
    filename: str | None,
    *,
    title: str,
    leader_firm_id: str | None = None,
    province: str | None = None,
    city: str | None = None,
    dry_run: bool = False,
) -> GapSheetReport:
    """A list from a spreadsheet, one weak link a row, each row read like a typed one. The report
    says per row what was understood; with any bad row (``report.errors``) nothing is written, nor
    on a dry run; else ``report.written`` and ``report.gap_list``. A title or region the list's
    model refuses raises :class:`pydantic.ValidationError`."""
    leader_id = leader_of(caller, leader_firm_id)
    region = RegionIn(province=province, city=city) if province and province.strip() else None
    title = _TITLE.validate_python(title)
    with caller.index.searching() as engine:
        report, items = parse_sheet(
            data, filename, engine.understand, max_items=caller.settings.max_gap_items
        )
    if report.errors or dry_run:
        return report
    with caller.writing() as session:
        gap_list = gaplists.create_list(
            session, leader_firm_id=leader_id, title=title, region=region, items=items
        )
        audit(session, caller.principal, "create", "gap_list", gap_list.id)
        report.gap_list = gaplists.list_public(session, gap_list)
    report.written = True
    return report


def revise(caller: Caller, list_id: str, body: GapListUpdate) -> GapListPublic:
    """Replace title, region and items; the version goes up and the previous one is kept. Items
    are filled from their text as on creation."""
    check_item_count(caller, len(body.items))
    with caller.writing() as session:
        gap_list = find_in(session, caller, list_id, Access.WRITE)
        with caller.index.searching() as engine:
            gaplists.revise_list(
                session,
                gap_list,
                title=body.title,
                region=body.region,
                items=body.items,
                understand=engine.understand,
            )
        audit(session, caller.principal, "update", "gap_list", gap_list.id)
        return gaplists.list_public(session, gap_list)


def delete(caller: Caller, list_id: str) -> None:
    with caller.writing() as session:
        gap_list = find_in(session, caller, list_id, Access.WRITE)
        gaplists.delete_list(session, gap_list)
        audit(session, caller.principal, "delete", "gap_list", gap_list.id)


# ------------------------------------------------------------------------------ files (the operator)
def import_file(caller: Caller, path: Path) -> IngestReport:
    """Gap lists from a JSON file, each naming its ``leader_firm_id`` (admin): created, or revised
    when the leader has a list with that title and it changed. All or nothing. Every item's text
    is read as on submission."""
    caller.require(Role.ADMIN)
    with caller.index.searching() as engine:
        return gapfile.import_gap_lists(caller.db, path, understand=engine.understand)


def import_sheet(
    caller: Caller,
    data: bytes,
    filename: str | None,
    *,
    leader_firm_id: str,
    title: str,
    province: str | None = None,
    city: str | None = None,
    dry_run: bool = False,
) -> tuple[GapSheetReport, str | None]:
    """One list from a spreadsheet for ``leader_firm_id`` (admin): created, or revised when the
    leader has a list with this title. The per-row report, and what happened (created / updated /
    unchanged; None when nothing was written: an error or a dry run)."""
    caller.require(Role.ADMIN)
    with caller.index.searching() as engine:
        return gapfile.import_gap_sheet(
            caller.db,
            data,
            filename,
            understand=engine.understand,
            leader_firm_id=leader_firm_id,
            title=title,
            region=province,
            city=city,
            max_items=caller.settings.max_gap_items,
            dry_run=dry_run,
        )
