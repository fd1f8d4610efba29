"""Re-match jobs: all gap lists of a region ranked again in the background, with progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from fastapi.responses import FileResponse

from api.deps import BureauOrAdminDep, DbDep, IndexDep, ReadAuditDep, SettingsDep
from api.downloads import DOWNLOAD_HEADERS, content_disposition
from chainmatch.rematch import RematchJobPublic, RematchJobs, rematch_jobs_for
from models.apikey import Role
from models.matching import RematchRequest
from models.regions import normalize_city, normalize_province
from recommender.corpus import Region

router = APIRouter(prefix="/v1", tags=["match"])


def rematch_jobs(request: Request, settings: SettingsDep) -> RematchJobs:
    return rematch_jobs_for(request.app.state, settings.data_dir / "rematch")


RematchJobsDep = Annotated[RematchJobs, Depends(rematch_jobs)]
JobId = Annotated[str, Path(max_length=40)]


@router.post("/rematch-jobs", response_model=RematchJobPublic, status_code=status.HTTP_202_ACCEPTED)
def start_rematch(
    body: RematchRequest,
    principal: BureauOrAdminDep,
    db: DbDep,
    index: IndexDep,
    settings: SettingsDep,
    jobs: RematchJobsDep,
) -> RematchJobPublic:
    """Rank every live gap list of a region again (after a large ingest): poll
    ``GET /v1/rematch-jobs/{id}`` for ``done`` of ``total`` lists, then download the result, one
    line per list as ``GET /v1/gap-lists/{id}/recommendations`` returns it. A bureau re-matches its
    own region (a city bureau: its city's lists and its province's); admin names a region."""
    if body.k > settings.max_k:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"k 最大为 {settings.max_k} (k is capped)")
    if body.region is None:
        if principal.role is not Role.BUREAU or not principal.province:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "须指定 region (region is required)")
        region = Region(principal.province, principal.city)
    else:
        province = normalize_province(body.region.province)
        if province is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "未知的省份 (unknown province)")
        region = Region(province, normalize_city(body.region.city))
        if principal.role is Role.BUREAU and (
            region.province != principal.province or (principal.city and region.city != principal.city)
        ):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "招商局只能重新匹配本辖区的清单 (a bureau re-matches its own region)"
            )
    job = jobs.submit(
        db, index, region, owner_key_id=principal.key_id, k=body.k, min_score=body.min_score
    )
    return job.public()


@router.get("/rematch-jobs/{job_id}", response_model=RematchJobPublic)
def rematch_status(job_id: JobId, principal: BureauOrAdminDep, jobs: RematchJobsDep) -> RematchJobPublic:
    """``state`` queued | running | done | failed, with ``done`` of ``total`` gap lists."""
    return jobs.status(job_id, key_id=principal.key_id, admin=principal.role is Role.ADMIN).public()


@router.get(
    "/rematch-jobs/{job_id}/result",
    response_class=FileResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "one GapListRecommendations a line"}},
)
def rematch_result(
    job_id: JobId, principal: BureauOrAdminDep, jobs: RematchJobsDep, read_audit: ReadAuditDep
) -> FileResponse:
    """The finished result; 404 until the job is done. Each download is audited per gap list."""
    path, lists = jobs.result(job_id, key_id=principal.key_id, admin=principal.role is Role.ADMIN)
    read_audit.record_lists("rematch", lists)
    name = f"rematch-{job_id}.ndjson"
    return FileResponse(
        path,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": content_disposition(name), **DOWNLOAD_HEADERS},
    )
