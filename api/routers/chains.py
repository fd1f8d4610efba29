"""Chains for bureaus: definitions, weak-link assessment, gap candidates and the investment map
(招商图谱) as JSON, CSV, XLSX or HTML — at once, or as a background job with progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import StringConstraints

from api.caller import BureauCallerDep
from api.deps import SettingsDep
from api.downloads import attachment
from api.errors import ErrorBody
from chainmatch.chains.investmap import InvestmentMap, MapQuery, ScaleCode
from chainmatch.chains.jobs import JobStatusPublic, ReportJobs, jobs_for
from chainmatch.chains.render import MEDIA_TYPES, ReportFormat
from chainmatch.chains.schemas import GapCandidates, ReportRequest, WeakLinkAssessment
from chainmatch.places import PlaceClass
from chainmatch.services import chains, reports
from chainmatch.services.reports import ReportFile, requested_region
from models.chain import ChainCreate, ChainFromGraph, ChainPublic, ChainSummary, ChainUpdate, Segment

router = APIRouter(prefix="/v1", tags=["chains"])

RegionQuery = Annotated[
    str | None,
    Query(max_length=40, description="province (广东省 / 广东 / 粤); a bureau's default is its own"),
]
CityQuery = Annotated[str | None, Query(max_length=60, description="optionally narrow to a city")]


ChainId = Annotated[str, Path(max_length=64, description="chain id, e.g. precision-instruments-gd")]


def report_jobs(request: Request, settings: SettingsDep) -> ReportJobs:
    return jobs_for(request.app.state, settings.data_dir / "reports")


JobsDep = Annotated[ReportJobs, Depends(report_jobs)]


# ------------------------------------------------------------------------------- definitions
@router.get("/chains", response_model=list[ChainSummary])
def list_all(caller: BureauCallerDep) -> list[ChainSummary]:
    """Every chain (public planning data), with node counts per segment."""
    return chains.list_chains(caller)


@router.post(
    "/chains",
    response_model=ChainPublic,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorBody, "description": "a chain with this id exists"}},
)
def create(body: ChainCreate, caller: BureauCallerDep) -> ChainPublic:
    """Define a chain: nodes (products / technologies in segments) and upstream-of edges. A bureau
    defines chains of its own region (default: its region)."""
    return chains.create_chain(caller, body)


@router.post(
    "/chains/from-graph",
    response_model=ChainPublic | ChainCreate,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": ChainCreate, "description": "dry_run: the definition, not stored"},
        409: {"model": ErrorBody, "description": "a chain with this id exists"},
    },
)
def create_from_graph(
    body: ChainFromGraph,
    caller: BureauCallerDep,
    response: Response,
    dry_run: Annotated[bool, Query(description="return the definition without storing it")] = False,
) -> ChainPublic | ChainCreate:
    """Build a chain by walking the product graph from ``products`` (upstream materials, narrower
    kinds, products that use them) and store it."""
    if dry_run:
        response.status_code = status.HTTP_200_OK
        return chains.chain_from_graph(caller, body)
    return chains.create_from_graph(caller, body)


@router.get("/chains/{chain_id}", response_model=ChainPublic)
def read(chain_id: ChainId, caller: BureauCallerDep) -> ChainPublic:
    return chains.read_chain(caller, chain_id)


@router.put("/chains/{chain_id}", response_model=ChainPublic)
def replace(chain_id: ChainId, body: ChainUpdate, caller: BureauCallerDep) -> ChainPublic:
    """Replace the definition; the version goes up."""
    return chains.replace_chain(caller, chain_id, body)


@router.delete("/chains/{chain_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(chain_id: ChainId, caller: BureauCallerDep) -> None:
    chains.delete_chain(caller, chain_id)


# ------------------------------------------------------------------------------- assessment
@router.get("/chains/{chain_id}/weak-links", response_model=WeakLinkAssessment)
def weak_links(
    chain_id: ChainId, caller: BureauCallerDep, region: RegionQuery = None, city: CityQuery = None
) -> WeakLinkAssessment:
    """Every node of the chain in the region: makers inside / elsewhere / abroad, concentration,
    declared import share, risk and demand, zero- and single-source products, and the weak-link
    score with its parts (method in the response). Weakest first."""
    return chains.weak_links(caller, chain_id, region, city)


@router.get("/chains/{chain_id}/gap-candidates", response_model=GapCandidates)
def leader_gap_candidates(
    chain_id: ChainId,
    caller: BureauCallerDep,
    region: RegionQuery = None,
    city: CityQuery = None,
    max_local: Annotated[int, Query(ge=0, le=10, description="at most this many local makers")] = 1,
) -> GapCandidates:
    """For each of the region's chain leaders: upstream needs of its products that no (or at most
    ``max_local``) local firm makes, and whether the leader already declared them."""
    return chains.gap_candidates(caller, chain_id, region, city, max_local=max_local)


# ------------------------------------------------------------------------------- the map as a map
@router.get("/chains/{chain_id}/map", response_model=InvestmentMap)
def investment_map(
    chain_id: ChainId,
    caller: BureauCallerDep,
    region: RegionQuery = None,
    city: CityQuery = None,
    item: Annotated[
        str | None, Query(max_length=200, description="weak link (node id) or a product of one")
    ] = None,
    segment: Annotated[Segment | None, Query(description="only weak links of this segment")] = None,
    scale: Annotated[list[ScaleCode], Query(max_length=5, description="firm scales")] = [],  # noqa: B006
    tag: Annotated[
        list[Annotated[str, StringConstraints(max_length=40)]],
        Query(max_length=20, description="any of these tags (专精特新, listed …)"),
    ] = [],  # noqa: B006
    place: Annotated[
        list[PlaceClass],
        Query(
            max_length=6,
            description="same_city | same_province | neighbouring | elsewhere_china | abroad | unknown",
        ),
    ] = [],  # noqa: B006
    min_score: Annotated[float | None, Query(ge=0, le=1, description="candidates' match-score floor")] = None,
    top: Annotated[int, Query(ge=1, le=50, description="weakest links drawn when no item")] = 6,
    k: Annotated[int, Query(ge=1, le=30, description="candidates per list per product")] = 8,
    province: Annotated[
        str | None, Query(max_length=40, description="list only this province's candidates")
    ] = None,
    country: Annotated[
        str | None, Query(max_length=60, description="list only this country's candidates")
    ] = None,
) -> InvestmentMap:
    """Where the candidate makers of the chain's weak links are (全球招商地图): counts and summed
    match scores per province (with cities, coordinates where known) and per country abroad, and
    the candidates with their reasons, place class (同城 / 本省 / 邻省 / 国内其他省份 / 境外) and the
    caller's outreach stage. Filters apply before each list's top-k cut."""
    query = MapQuery(
        item=item,
        segment=segment,
        scales=scale,
        tags=tag,
        places=place,
        min_match_score=min_score,
        top=top,
        k=k,
    )
    return chains.investment_map(
        caller, chain_id, region, city, query, candidates_in=province, candidates_abroad_in=country
    )


# ------------------------------------------------------------------------------- the map
def download(report: ReportFile) -> Response:
    """The report as an attachment: no-store, nosniff and a script-less CSP (api/downloads.py)."""
    return attachment(report.data, report.filename, report.media_type)


FormatQuery = Annotated[ReportFormat, Query(description="json | csv | xlsx | html")]


@router.post(
    "/chains/{chain_id}/report",
    response_class=Response,
    responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}, "description": "the report file"}},
)
def report(
    chain_id: ChainId, body: ReportRequest, caller: BureauCallerDep, format: FormatQuery = ReportFormat.JSON
) -> Response:
    """The chain investment map (招商图谱): every weak link (weakest first, ``top`` of them) with, per
    product, investment targets and local suppliers with reasons — as JSON, CSV, XLSX or an HTML
    report with the chain graph and charts. Long maps: use ``/report-jobs`` for progress."""
    province, city = requested_region(body)
    return download(reports.report_file(caller, chain_id, province, city, body, format))


@router.post(
    "/chains/{chain_id}/report-jobs", response_model=JobStatusPublic, status_code=status.HTTP_202_ACCEPTED
)
def start_report_job(
    chain_id: ChainId, body: ReportRequest, caller: BureauCallerDep, jobs: JobsDep
) -> JobStatusPublic:
    """Start the investment map in the background; poll ``GET /v1/report-jobs/{id}`` for progress.
    The leaders' lists it reads are audited when its result is downloaded."""
    province, city = requested_region(body)
    return reports.start_report_job(caller, jobs, chain_id, province, city, body)


JobId = Annotated[str, Path(max_length=40)]


@router.get("/report-jobs/{job_id}", response_model=JobStatusPublic)
def report_job(job_id: JobId, caller: BureauCallerDep, jobs: JobsDep) -> JobStatusPublic:
    """``state`` queued | running | done | failed, with ``done`` of ``total`` weak links."""
    return reports.report_job_status(caller, jobs, job_id)


@router.get("/report-jobs/{job_id}/result", response_class=Response)
def report_job_result(
    job_id: JobId, caller: BureauCallerDep, jobs: JobsDep, format: FormatQuery = ReportFormat.JSON
) -> Response:
    """The finished report; 404 until the job is done. Each download is audited per gap list."""
    return download(reports.report_job_file(caller, jobs, job_id, format))
