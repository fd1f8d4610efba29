"""Chains for bureaus: definitions, weak-link assessment, gap candidates and the investment map
(招商图谱) as JSON, CSV, XLSX or HTML — at once, or as a background job with progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import StringConstraints
from sqlalchemy.engine import Engine

from api.deps import (
    BureauOrAdminDep,
    ChainDep,
    DbDep,
    IndexDep,
    ReadableChainDep,
    ReadAuditDep,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
)
from api.downloads import attachment
from api.errors import ErrorBody
from chainmatch.chains.assessment import assess, gap_candidates
from chainmatch.chains.builder import build_from_graph
from chainmatch.chains.corpus import corpus_view
from chainmatch.chains.investmap import InvestmentMap, MapQuery, ScaleCode, build_map
from chainmatch.chains.jobs import JobStatus, JobStatusPublic, ReportJobs, jobs_for
from chainmatch.chains.render import MEDIA_TYPES, ReportFormat, filename, render
from chainmatch.chains.report import build_report
from chainmatch.chains.schemas import GapCandidates, ReportRequest, WeakLinkAssessment, gap_lists_read
from chainmatch.chains.scope import region_label, resolve_region
from chainmatch.chains.store import (
    create_chain,
    default_region,
    delete_chain,
    list_chains,
    replace_chain,
    to_public,
)
from chainmatch.indexing import IndexService
from chainmatch.keys import Principal
from chainmatch.places import PlaceClass
from models.apikey import Role
from models.chain import (
    Chain,
    ChainCreate,
    ChainFromGraph,
    ChainPublic,
    ChainSource,
    ChainSummary,
    ChainUpdate,
    Segment,
)
from models.gap import RegionIn
from recommender.corpus import Region

router = APIRouter(prefix="/v1", tags=["chains"])

RegionQuery = Annotated[
    str | None,
    Query(max_length=40, description="province (广东省 / 广东 / 粤); a bureau's default is its own"),
]
CityQuery = Annotated[str | None, Query(max_length=60, description="optionally narrow to a city")]


def chain_region(chain: Chain, principal: Principal, province: str | None, city: str | None) -> Region:
    return resolve_region(principal, province, city, default=default_region(chain))


def report_jobs(request: Request, settings: SettingsDep) -> ReportJobs:
    return jobs_for(request.app.state, settings.data_dir / "reports")


JobsDep = Annotated[ReportJobs, Depends(report_jobs)]


# ------------------------------------------------------------------------------- definitions
@router.get("/chains", response_model=list[ChainSummary])
def list_all(_principal: BureauOrAdminDep, session: ReadSessionDep) -> list[ChainSummary]:
    """Every chain (public planning data), with node counts per segment."""
    return list_chains(session)


@router.post(
    "/chains",
    response_model=ChainPublic,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorBody, "description": "a chain with this id exists"}},
)
def create(body: ChainCreate, principal: BureauOrAdminDep, session: SessionDep) -> ChainPublic:
    """Define a chain: nodes (products / technologies in segments) and upstream-of edges. A bureau
    defines chains of its own region (default: its region)."""
    chain = create_chain(session, body, principal=principal, source=ChainSource.API)
    public = to_public(session, chain)
    session.commit()
    return public


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
    principal: BureauOrAdminDep,
    session: SessionDep,
    response: Response,
    dry_run: Annotated[bool, Query(description="return the definition without storing it")] = False,
) -> ChainPublic | ChainCreate:
    """Build a chain by walking the product graph from ``products`` (upstream materials, narrower
    kinds, products that use them) and store it."""
    definition = build_from_graph(corpus_view(session), body)
    if dry_run:
        response.status_code = status.HTTP_200_OK
        return definition
    chain = create_chain(session, definition, principal=principal, source=ChainSource.GRAPH)
    public = to_public(session, chain)
    session.commit()
    return public


@router.get("/chains/{chain_id}", response_model=ChainPublic)
def read(chain: ReadableChainDep, session: ReadSessionDep) -> ChainPublic:
    return to_public(session, chain)


@router.put("/chains/{chain_id}", response_model=ChainPublic)
def replace(
    body: ChainUpdate, chain: ChainDep, principal: BureauOrAdminDep, session: SessionDep
) -> ChainPublic:
    """Replace the definition; the version goes up."""
    replace_chain(session, chain, body, principal=principal)
    public = to_public(session, chain)
    session.commit()
    return public


@router.delete("/chains/{chain_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(chain: ChainDep, principal: BureauOrAdminDep, session: SessionDep) -> None:
    delete_chain(session, chain, principal=principal)
    session.commit()


# ------------------------------------------------------------------------------- assessment
@router.get("/chains/{chain_id}/weak-links", response_model=WeakLinkAssessment)
def weak_links(
    chain: ReadableChainDep,
    principal: BureauOrAdminDep,
    session: ReadSessionDep,
    read_audit: ReadAuditDep,
    region: RegionQuery = None,
    city: CityQuery = None,
) -> WeakLinkAssessment:
    """Every node of the chain in the region: makers inside / elsewhere / abroad, concentration,
    declared import share, risk and demand, zero- and single-source products, and the weak-link
    score with its parts (method in the response). Weakest first."""
    where = chain_region(chain, principal, region, city)
    result = assess(session, chain, where, principal)
    read_audit.record("weak_links", "chain", chain.id)
    read_audit.record_lists("weak_links", gap_lists_read(result))
    return result


@router.get("/chains/{chain_id}/gap-candidates", response_model=GapCandidates)
def leader_gap_candidates(
    chain: ReadableChainDep,
    principal: BureauOrAdminDep,
    session: ReadSessionDep,
    read_audit: ReadAuditDep,
    region: RegionQuery = None,
    city: CityQuery = None,
    max_local: Annotated[int, Query(ge=0, le=10, description="at most this many local makers")] = 1,
) -> GapCandidates:
    """For each of the region's chain leaders: upstream needs of its products that no (or at most
    ``max_local``) local firm makes, and whether the leader already declared them."""
    where = chain_region(chain, principal, region, city)
    result = gap_candidates(session, chain, where, principal, max_local_makers=max_local)
    read_audit.record("gap_candidates", "chain", chain.id)
    read_audit.record_lists("gap_candidates", gap_lists_read(result))
    return result


# ------------------------------------------------------------------------------- the map as a map
@router.get("/chains/{chain_id}/map", response_model=InvestmentMap)
def investment_map(
    chain: ReadableChainDep,
    principal: BureauOrAdminDep,
    read_audit: ReadAuditDep,
    db: DbDep,
    index: IndexDep,
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
    where = chain_region(chain, principal, region, city)
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
    result = build_map(db, index, chain.id, where, principal, query, province=province, country=country)
    read_audit.record("map", "chain", chain.id)
    read_audit.record_lists("map", result.gap_lists)
    return result


# ------------------------------------------------------------------------------- the map
def _body_region(body: ReportRequest) -> tuple[str | None, str | None]:
    if isinstance(body.region, RegionIn):
        return body.region.province, body.region.city
    return body.region, None


def download(data: bytes, name: str, fmt: ReportFormat) -> Response:
    """The report as an attachment: no-store, nosniff and a script-less CSP (api/downloads.py)."""
    return attachment(data, name, MEDIA_TYPES[fmt])


FormatQuery = Annotated[ReportFormat, Query(description="json | csv | xlsx | html")]


@router.post(
    "/chains/{chain_id}/report",
    response_class=Response,
    responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}, "description": "the report file"}},
)
def report(
    body: ReportRequest,
    chain: ReadableChainDep,
    principal: BureauOrAdminDep,
    read_audit: ReadAuditDep,
    db: DbDep,
    index: IndexDep,
    format: FormatQuery = ReportFormat.JSON,
) -> Response:
    """The chain investment map (招商图谱): every weak link (weakest first, ``top`` of them) with, per
    product, investment targets and local suppliers with reasons — as JSON, CSV, XLSX or an HTML
    report with the chain graph and charts. Long maps: use ``/report-jobs`` for progress."""
    province, city = _body_region(body)
    where = chain_region(chain, principal, province, city)
    read_audit.record("report", "chain", chain.id)
    result = build_report(db, index, chain.id, where, principal, body)
    data = render(result, format)
    read_audit.record_lists("report", gap_lists_read(result))
    return download(data, filename(result, format), format)


@router.post(
    "/chains/{chain_id}/report-jobs", response_model=JobStatusPublic, status_code=status.HTTP_202_ACCEPTED
)
def start_report_job(
    body: ReportRequest,
    chain: ReadableChainDep,
    principal: BureauOrAdminDep,
    read_audit: ReadAuditDep,
    db: DbDep,
    index: IndexDep,
    jobs: JobsDep,
) -> JobStatusPublic:
    """Start the investment map in the background; poll ``GET /v1/report-jobs/{id}`` for progress.
    The leaders' lists it reads are audited when its result is downloaded."""
    province, city = _body_region(body)
    where = chain_region(chain, principal, province, city)
    read_audit.record("report", "chain", chain.id)
    return submit_report_job(jobs, db, index, chain.id, where, principal, body).public()


def submit_report_job(
    jobs: ReportJobs,
    db: Engine,
    index: IndexService,
    chain_id: str,
    where: Region,
    principal: Principal,
    body: ReportRequest,
) -> JobStatus:
    return jobs.submit(
        lambda progress: build_report(db, index, chain_id, where, principal, body, progress=progress),
        owner_key_id=principal.key_id,
        chain_id=chain_id,
        region=region_label(where),
    )


JobId = Annotated[str, Path(max_length=40)]


@router.get("/report-jobs/{job_id}", response_model=JobStatusPublic)
def report_job(job_id: JobId, principal: BureauOrAdminDep, jobs: JobsDep) -> JobStatusPublic:
    """``state`` queued | running | done | failed, with ``done`` of ``total`` weak links."""
    return jobs.status(job_id, key_id=principal.key_id, admin=principal.role is Role.ADMIN).public()


@router.get("/report-jobs/{job_id}/result", response_class=Response)
def report_job_result(
    job_id: JobId,
    principal: BureauOrAdminDep,
    jobs: JobsDep,
    read_audit: ReadAuditDep,
    format: FormatQuery = ReportFormat.JSON,
) -> Response:
    """The finished report; 404 until the job is done. Each download is audited per gap list."""
    admin = principal.role is Role.ADMIN
    data, name = jobs.result(job_id, format, key_id=principal.key_id, admin=admin)
    read_audit.record_lists("report", jobs.gap_lists(job_id, key_id=principal.key_id, admin=admin))
    return download(data, name, format)
