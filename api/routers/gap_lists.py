"""Gap lists (断链断供风险清单) and their recommendations. Confidential: see ``visible_lists``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError
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
from chainmatch.gaplists import (
    GapListError,
    create_list,
    delete_list,
    items_of,
    revise_list,
    to_public,
    visible_lists,
)
from chainmatch.gapsheet import parse_sheet
from chainmatch.keys import Principal
from chainmatch.matching import recommend_gap_list
from models.apikey import Role
from models.common import NormText
from models.gap import GapList, GapListCreate, GapListPublic, GapListUpdate, RegionIn
from models.matching import GapListRecommendations, GapSheetReport, Page

router = APIRouter(prefix="/v1/gap-lists", tags=["gap lists"])


def _check_items(settings_max: int, n: int) -> None:
    if n > settings_max:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"一份清单最多 {settings_max} 项 (at most {settings_max} items per list)",
        )


def _leader_of(principal: Principal, leader_firm_id: str | None) -> str:
    if principal.role is Role.LEADER:
        if leader_firm_id not in (None, principal.firm_id):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "链主企业只能为本企业提交清单 (a leader submits only for its own firm)",
            )
        assert principal.firm_id is not None
        return principal.firm_id
    if not leader_firm_id:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "管理员提交需指定 leader_firm_id (admin must name leader_firm_id)",
        )
    return leader_firm_id


@router.post("", response_model=GapListPublic, status_code=status.HTTP_201_CREATED)
def create_gap_list(
    body: GapListCreate,
    principal: LeaderOrAdminDep,
    session: SessionDep,
    settings: SettingsDep,
    index: IndexDep,
) -> GapListPublic:
    """A leader submits for its own firm; admin names ``leader_firm_id``.

    An item's name may be a sentence as written in a risk list (离子源，主要依赖日本进口，进口占比约70%):
    the name is stored as written, and the sourcing facts the text states (name, description, spec)
    fill the item's empty ``current_source_country``, ``import_share`` and ``annual_demand_cny``.
    Values sent explicitly always win. Spreadsheets: ``POST /v1/gap-lists/upload``."""
    _check_items(settings.max_gap_items, len(body.items))
    leader_id = _leader_of(principal, body.leader_firm_id)
    try:
        with index.searching() as engine:
            gap_list = create_list(
                session,
                leader_firm_id=leader_id,
                title=body.title,
                region=body.region,
                items=body.items,
                understand=engine.understand,
            )
    except GapListError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    audit(session, principal, "create", "gap_list", gap_list.id)
    public = to_public(gap_list, items_of(session, gap_list))
    session.commit()
    return public


_TITLE = TypeAdapter(NormText)


@router.post(
    "/upload",
    response_model=GapSheetReport,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": GapSheetReport, "description": "dry_run: the report, nothing written"},
        422: {"model": GapSheetReport, "description": "bad rows (row and column each); nothing written"},
    },
)
def upload_gap_list(
    principal: LeaderOrAdminDep,
    session: SessionDep,
    settings: SettingsDep,
    index: IndexDep,
    file: Annotated[
        UploadFile, File(description="XLSX (first worksheet) or CSV (UTF-8 / GBK), one weak link a row")
    ],
    title: Annotated[str, Form(max_length=200)],
    leader_firm_id: Annotated[str | None, Form(max_length=64, description="admin only")] = None,
    region: Annotated[str | None, Form(max_length=40, description="province; default: the leader's")] = None,
    city: Annotated[str | None, Form(max_length=60)] = None,
    dry_run: Annotated[bool, Query(description="read and report, write nothing")] = False,
) -> JSONResponse:
    """A gap list from a spreadsheet (multipart/form-data): the leader's 断链断供风险清单 as it is kept.

    Columns are recognised by their usual headers — 名称/产品名称/物料名称/零部件/短板环节, 描述/说明/风险描述,
    用途/用于/配套产品, 规格/技术参数, 进口占比/进口比例 (70%, 70 or 0.7), 来源国/主要来源国/供应国,
    年需求/年采购额 (元; 万元 or 亿元 in the header or the cell), 风险等级 (1–5 or 高/中/低) and English
    equivalents — or the sheet is one column of free text. Each row is read like a typed weak link
    and the answer reports, per row, what was understood and what was not (``low_confidence``).
    Any bad row — its row number as Excel shows it, its column and why — means 422 and nothing is
    written; so does an unreadable file or one with more rows than a list may hold.

    A sibling of ``POST /v1/gap-lists`` (JSON) rather than a second content type on that route,
    so that each has one exact request schema."""
    leader_id = _leader_of(principal, leader_firm_id)
    data = file.file.read(settings.max_body_bytes + 1)
    name = file.filename or None
    try:
        region_in = RegionIn(province=region, city=city) if region and region.strip() else None
        title = _TITLE.validate_python(title)
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, exc.errors(include_url=False, include_context=False)
        ) from exc
    with index.searching() as engine:
        report, items = parse_sheet(data, name, engine.understand, max_items=settings.max_gap_items)
    if report.errors:
        return JSONResponse(report.model_dump(mode="json"), status.HTTP_422_UNPROCESSABLE_CONTENT)
    if dry_run:
        return JSONResponse(report.model_dump(mode="json"), status.HTTP_200_OK)
    try:
        gap_list = create_list(session, leader_firm_id=leader_id, title=title, region=region_in, items=items)
    except GapListError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    audit(session, principal, "create", "gap_list", gap_list.id)
    report.gap_list = to_public(gap_list, items_of(session, gap_list))
    session.commit()
    report.written = True
    return JSONResponse(report.model_dump(mode="json"), status.HTTP_201_CREATED)


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
    index: IndexDep,
) -> GapListPublic:
    """Replace title, region and items; the version goes up and the previous one is kept. Items
    are filled from their text as on creation."""
    _check_items(settings.max_gap_items, len(body.items))
    try:
        with index.searching() as engine:
            revise_list(
                session,
                gap_list,
                title=body.title,
                region=body.region,
                items=body.items,
                understand=engine.understand,
            )
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
