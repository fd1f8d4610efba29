"""Gap lists (断链断供风险清单) and their recommendations: parse, call the service
(:mod:`chainmatch.services.gap_lists`), shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from api.caller import AnyCallerDep, caller_of
from api.deps import GapListReadDep, GapListWriteDep, PageSizeDep
from chainmatch.services import gap_lists
from chainmatch.services.context import Caller
from models.gap import GapListCreate, GapListPublic, GapListUpdate
from models.matching import GapListRecommendations, GapSheetReport, Page

router = APIRouter(prefix="/v1/gap-lists", tags=["gap lists"])

SubmitterDep = Annotated[Caller, Depends(caller_of(*gap_lists.SUBMITTERS))]


@router.post("", response_model=GapListPublic, status_code=status.HTTP_201_CREATED)
def create_gap_list(body: GapListCreate, caller: SubmitterDep) -> GapListPublic:
    """A leader submits for its own firm; admin names ``leader_firm_id``.

    An item's name may be a sentence as written in a risk list (离子源，主要依赖日本进口，进口占比约70%):
    the name is stored as written, and the sourcing facts the text states (name, description, spec)
    fill the item's empty ``current_source_country``, ``import_share`` and ``annual_demand_cny``.
    Values sent explicitly always win. Spreadsheets: ``POST /v1/gap-lists/upload``."""
    return gap_lists.create(caller, body)


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
    caller: SubmitterDep,
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
    data = file.file.read(caller.settings.max_body_bytes + 1)
    try:
        report = gap_lists.upload(
            caller,
            data,
            file.filename or None,
            title=title,
            leader_firm_id=leader_firm_id,
            province=region,
            city=city,
            dry_run=dry_run,
        )
    except ValidationError as exc:  # the title or region as the form sent them
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, exc.errors(include_url=False, include_context=False)
        ) from exc
    code = (
        status.HTTP_422_UNPROCESSABLE_CONTENT
        if report.errors
        else status.HTTP_201_CREATED
        if report.written
        else status.HTTP_200_OK
    )
    return JSONResponse(report.model_dump(mode="json"), code)


@router.get("", response_model=Page[GapListPublic])
def list_gap_lists(
    caller: AnyCallerDep, size: PageSizeDep, cursor: Annotated[str | None, Query(max_length=60)] = None
) -> Page[GapListPublic]:
    """The lists the caller may see: a leader its own, a bureau those submitted in its region, admin all."""
    return gap_lists.list_page(caller, limit=size, cursor=cursor)


@router.get("/{list_id}", response_model=GapListPublic)
def read_gap_list(gap_list: GapListReadDep, caller: AnyCallerDep) -> GapListPublic:
    return gap_lists.read(caller, gap_list.id)


@router.put("/{list_id}", response_model=GapListPublic)
def revise_gap_list(body: GapListUpdate, gap_list: GapListWriteDep, caller: AnyCallerDep) -> GapListPublic:
    """Replace title, region and items; the version goes up and the previous one is kept. Items
    are filled from their text as on creation."""
    return gap_lists.revise(caller, gap_list.id, body)


@router.delete("/{list_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_gap_list(gap_list: GapListWriteDep, caller: AnyCallerDep) -> None:
    gap_lists.delete(caller, gap_list.id)


@router.get("/{list_id}/recommendations", response_model=GapListRecommendations)
def gap_list_recommendations(
    gap_list: GapListReadDep,
    caller: AnyCallerDep,
    k: Annotated[int, Query(ge=1, description="results per list per item, capped by the server")] = 10,
    min_score: Annotated[
        float | None,
        Query(ge=0, le=1, description="leave out results scoring below this; default: the server's setting"),
    ] = None,
) -> GapListRecommendations:
    """For every weak link: ``investment_targets`` outside the list's region and ``local_suppliers`` inside."""
    return gap_lists.recommendations(caller, gap_list.id, k=k, min_score=min_score)
