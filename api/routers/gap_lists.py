"""Gap lists (断链断供风险清单) and their recommendations. Confidential: see ``visible_lists``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlmodel import col

from api.audit import audit
from api.deps import (
    EditableGapListDep,
    IndexDep,
    LeaderOrAdminDep,
    PageSizeDep,
    PrincipalDep,
    ReadableGapListDep,
    ReadAuditDep,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
)
from api.schemas import GapListRecommendations, Page
from chainmatch.gaplists import (
    GapListError,
    create_list,
    delete_list,
    items_of,
    revise_list,
    to_public,
    visible_lists,
)
from chainmatch.matching import recommend_gap_list
from models.apikey import Role
from models.gap import GapList, GapListCreate, GapListPublic, GapListUpdate

router = APIRouter(prefix="/v1/gap-lists", tags=["gap lists"])


def _check_items(settings_max: int, n: int) -> None:
    if n > settings_max:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"一份清单最多 {settings_max} 项 (at most {settings_max} items per list)",
        )


@router.post("", response_model=GapListPublic, status_code=status.HTTP_201_CREATED)
def create_gap_list(
    body: GapListCreate, principal: LeaderOrAdminDep, session: SessionDep, settings: SettingsDep
) -> GapListPublic:
    """A leader submits for its own firm; admin names ``leader_firm_id``."""
    _check_items(settings.max_gap_items, len(body.items))
    if principal.role is Role.LEADER:
        if body.leader_firm_id not in (None, principal.firm_id):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "链主企业只能为本企业提交清单 (a leader submits only for its own firm)",
            )
        leader_id = principal.firm_id
    else:
        if not body.leader_firm_id:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                "管理员提交需指定 leader_firm_id (admin must name leader_firm_id)",
            )
        leader_id = body.leader_firm_id
    assert leader_id is not None
    try:
        gap_list = create_list(
            session, leader_firm_id=leader_id, title=body.title, region=body.region, items=body.items
        )
    except GapListError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    audit(session, principal, "create", "gap_list", gap_list.id)
    public = to_public(gap_list, items_of(session, gap_list))
    session.commit()
    return public


@router.get("", response_model=Page[GapListPublic])
def list_gap_lists(
    principal: PrincipalDep,
    session: ReadSessionDep,
    read_audit: ReadAuditDep,
    size: PageSizeDep,
    cursor: Annotated[str | None, Query(max_length=60)] = None,
) -> Page[GapListPublic]:
    """The lists the caller may see: a leader its own, a bureau those submitted in its region, admin all."""
    query = visible_lists(principal)
    if cursor:
        query = query.where(GapList.id > cursor)
    lists = session.exec(query.order_by(col(GapList.id)).limit(size + 1)).all()
    more = len(lists) > size
    lists = lists[:size]
    items = [to_public(gl, items_of(session, gl)) for gl in lists]
    read_audit.record("list", "gap_list", *(gl.id for gl in lists))
    return Page[GapListPublic](items=items, next_cursor=lists[-1].id if more and lists else None)


@router.get("/{list_id}", response_model=GapListPublic)
def read_gap_list(
    gap_list: ReadableGapListDep, session: ReadSessionDep, read_audit: ReadAuditDep
) -> GapListPublic:
    public = to_public(gap_list, items_of(session, gap_list))
    read_audit.record("read", "gap_list", gap_list.id)
    return public


@router.put("/{list_id}", response_model=GapListPublic)
def revise_gap_list(
    body: GapListUpdate,
    gap_list: EditableGapListDep,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
) -> GapListPublic:
    """Replace title, region and items; the version goes up and the previous one is kept."""
    _check_items(settings.max_gap_items, len(body.items))
    try:
        revise_list(session, gap_list, title=body.title, region=body.region, items=body.items)
    except GapListError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    audit(session, principal, "update", "gap_list", gap_list.id)
    public = to_public(gap_list, items_of(session, gap_list))
    session.commit()
    return public


@router.delete("/{list_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_gap_list(gap_list: EditableGapListDep, principal: PrincipalDep, session: SessionDep) -> None:
    delete_list(session, gap_list)
    audit(session, principal, "delete", "gap_list", gap_list.id)
    session.commit()


@router.get("/{list_id}/recommendations", response_model=GapListRecommendations)
def gap_list_recommendations(
    gap_list: ReadableGapListDep,
    session: ReadSessionDep,
    read_audit: ReadAuditDep,
    index: IndexDep,
    settings: SettingsDep,
    k: Annotated[int, Query(ge=1, description="results per list per item, capped by the server")] = 10,
    min_score: Annotated[
        float | None,
        Query(ge=0, le=1, description="leave out results scoring below this; default: the server's setting"),
    ] = None,
) -> GapListRecommendations:
    """For every weak link: ``investment_targets`` outside the list's region and ``local_suppliers`` inside."""
    if k > settings.max_k:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"k 最大为 {settings.max_k} (k is capped)")
    items = items_of(session, gap_list)
    with index.searching() as engine:
        result = recommend_gap_list(engine, gap_list, items, k=k, min_score=min_score)
    read_audit.record("recommend", "gap_list", gap_list.id)
    return result
