"""Re-match jobs: all gap lists of a region ranked again in the background, with progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status
from fastapi.responses import FileResponse

from api.caller import BureauCallerDep
from api.deps import SettingsDep
from api.downloads import DOWNLOAD_HEADERS, content_disposition
from chainmatch.rematch import RematchJobPublic, RematchJobs, rematch_jobs_for
from chainmatch.services import match as matching
from models.matching import RematchRequest

router = APIRouter(prefix="/v1", tags=["match"])


def rematch_jobs(request: Request, settings: SettingsDep) -> RematchJobs:
    return rematch_jobs_for(request.app.state, settings.data_dir / "rematch")


RematchJobsDep = Annotated[RematchJobs, Depends(rematch_jobs)]
JobId = Annotated[str, Path(max_length=40)]


@router.post("/rematch-jobs", response_model=RematchJobPublic, status_code=status.HTTP_202_ACCEPTED)
def start_rematch(body: RematchRequest, caller: BureauCallerDep, jobs: RematchJobsDep) -> RematchJobPublic:
    """Rank every live gap list of a region again (after a large ingest): poll
    ``GET /v1/rematch-jobs/{id}`` for ``done`` of ``total`` lists, then download the result, one
    line per list as ``GET /v1/gap-lists/{id}/recommendations`` returns it. A bureau re-matches its
    own region (a city bureau: its city's lists and its province's); admin names a region."""
    return matching.start_rematch(caller, jobs, body)


@router.get("/rematch-jobs/{job_id}", response_model=RematchJobPublic)
def rematch_status(job_id: JobId, caller: BureauCallerDep, jobs: RematchJobsDep) -> RematchJobPublic:
    """``state`` queued | running | done | failed, with ``done`` of ``total`` gap lists."""
    return matching.rematch_status(caller, jobs, job_id)


@router.get(
    "/rematch-jobs/{job_id}/result",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/x-ndjson": {}}, "description": "one GapListRecommendations a line"}
    },
)
def rematch_result(job_id: JobId, caller: BureauCallerDep, jobs: RematchJobsDep) -> FileResponse:
    """The finished result; 404 until the job is done. Each download is audited per gap list."""
    path = matching.rematch_result(caller, jobs, job_id)
    return FileResponse(
        path,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": content_disposition(f"rematch-{job_id}.ndjson"), **DOWNLOAD_HEADERS},
    )
