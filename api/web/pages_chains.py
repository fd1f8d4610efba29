"""The bureau's chain pages: home (chains and pipeline counts; a leader's own lists), a chain's weak
links with its graph (``/chains/{id}``), one weak link's candidates (``/chains/{id}/links/{node}``),
the outreach pipeline, and the chain report downloaded at once (works without script; the page's
script starts ``POST /v1/chains/{id}/report-jobs`` instead and follows its progress)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from api.deps import IndexDep
from api.downloads import attachment
from api.web.common import (
    BureauUserDep,
    CallerDep,
    CityQ,
    RegionQ,
    User,
    UserDep,
    common,
    domain,
    error_page,
    page,
    region_args,
)
from chainmatch.chains import svg
from chainmatch.chains.outreach import PIPELINE
from chainmatch.chains.render import ReportFormat
from chainmatch.chains.report import link_candidates
from chainmatch.chains.schemas import ReportRequest
from chainmatch.errors import ChainMatchError, ChainNotFound, NotFound, http_status
from chainmatch.services import chains, gap_lists, offers, outreach, reports
from chainmatch.services.context import Caller
from models.apikey import Role
from models.chain import ChainNodePublic
from models.outreach import Stage
from recommender.corpus import Region

router = APIRouter(include_in_schema=False)

ChainIdP = Annotated[str, Path(max_length=64)]


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: UserDep, caller: CallerDep) -> Response:
    if user.role is Role.SUPPLIER:  # a supplier's dashboard is its supply offers
        return RedirectResponse("/offers", status.HTTP_303_SEE_OTHER)
    if user.role is Role.LEADER:  # its own gap lists and their recommendations — never anyone else's
        lists = gap_lists.lists_oldest_first(caller)
        recommendations = [gap_lists.recommendations(caller, gl.id, k=5) for gl in lists]
        pairs = list(zip(lists, recommendations, strict=True))
        return page("leader.html", **common(request, user, lists=pairs))
    summaries = chains.list_chains(caller)
    records = outreach.list_records(caller, size=1000).items
    counts: dict[str, int] = {}
    for r in records:
        counts[r.stage.value] = counts.get(r.stage.value, 0) + 1
    return page("home.html", **common(request, user, chains=summaries, counts=counts, tracked=len(records)))


def _chain_context(
    request: Request, user: User, caller: Caller, chain_id: str, region: str | None, city: str | None
) -> dict[str, Any]:
    """The chain in the caller's region: its weak links, the leaders' gap candidates and the
    graph (the read audited by the service, with each leader's list it drew on)."""
    overview = chains.chain_overview(caller, chain_id, region, city)
    public, where, assessment = overview.where.chain, overview.where.region, overview.assessment
    args = region_args(where)
    return common(
        request,
        user,
        chain=public,
        region=where,
        region_label=overview.where.label,
        region_args=args,
        assessment=assessment,
        gaps=overview.gaps,
        graph=Markup(
            svg.chain_graph(
                assessment.links,
                public.edges,
                href=lambda lk: f"/chains/{quote(public.id)}/links/{quote(lk.node_id)}?{args}",
                title=f"{public.name} 产业链图谱",
            )
        ),
        places=Markup(svg.place_bars(assessment.places)),
        score_bars={
            lk.node_id: Markup(svg.score_bar(lk.parts, width=160)) for lk in assessment.links if lk.parts
        },
    )


@router.get("/chains/{chain_id}", response_class=HTMLResponse)
def chain_page(
    request: Request,
    chain_id: ChainIdP,
    user: BureauUserDep,
    caller: CallerDep,
    region: RegionQ = None,
    city: CityQ = None,
) -> HTMLResponse:
    return domain(
        request,
        user,
        lambda: page("chain.html", **_chain_context(request, user, caller, chain_id, region, city)),
    )


@router.get("/chains/{chain_id}/links/{node_id}", response_class=HTMLResponse)
def link_page(
    request: Request,
    chain_id: ChainIdP,
    node_id: Annotated[str, Path(max_length=64)],
    user: BureauUserDep,
    caller: CallerDep,
    index: IndexDep,
    region: RegionQ = None,
    city: CityQ = None,
    k: Annotated[int, Query(ge=1, le=30)] = 8,
    products: Annotated[int, Query(ge=1, le=10)] = 3,
) -> HTMLResponse:
    def render_link() -> HTMLResponse:
        context = _chain_context(request, user, caller, chain_id, region, city)
        assessment = context["assessment"]
        link = next((lk for lk in assessment.links if lk.node_id == node_id), None)
        if link is None:
            raise ChainNotFound(f"产业链 {chain_id} 没有环节 {node_id} (no such node)")
        where: Region = context["region"]
        candidates = (
            []
            if link.score is None
            else link_candidates(index, where, link, assessment, k=k, products=products)
        )
        records = outreach.records_at(caller, where, chain_id=chain_id, node_id=node_id)
        tracked = {(r.product, r.firm_id): r for r in records}
        marks = offers.marks(  # firms that declared they will supply it (配套意愿)
            caller,
            where,
            [(p.product, [*p.investment_targets, *p.local_suppliers]) for p in candidates],
        )
        context.update(
            link=link,
            candidates=candidates,
            tracked=tracked,
            offer_marks=marks,
            graph=Markup(
                svg.chain_graph(
                    assessment.links,
                    context["chain"].edges,
                    href=lambda lk: (
                        f"/chains/{quote(chain_id)}/links/{quote(lk.node_id)}?{context['region_args']}"
                    ),
                    selected=node_id,
                )
            ),
        )
        return page("link.html", **context)

    return domain(request, user, render_link)


@router.get("/pipeline", response_class=HTMLResponse)
def pipeline(
    request: Request,
    user: BureauUserDep,
    caller: CallerDep,
    chain: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    cards = outreach.list_records(caller, size=2000, chain_id=chain or None).items
    node_names = {
        (chain_id, node.id): node.name
        for chain_id in sorted({c.chain_id for c in cards})
        for node in _nodes_of(caller, chain_id)
    }
    columns = {s.value: [c for c in cards if c.stage is s] for s in PIPELINE}
    next_stage = {s.value: PIPELINE[min(i + 1, len(PIPELINE) - 2)].value for i, s in enumerate(PIPELINE)}
    next_stage[Stage.DECLINED.value] = Stage.SHORTLISTED.value
    return page(
        "pipeline.html",
        **common(
            request,
            user,
            columns=columns,
            chains=chains.list_chains(caller),
            chain_filter=chain or "",
            node_names=node_names,
            next_stage=next_stage,
        ),
    )


def _nodes_of(caller: Caller, chain_id: str) -> list[ChainNodePublic]:
    """The chain's nodes; none when it has been deleted since its records were made."""
    try:
        return chains.read_chain(caller, chain_id).nodes
    except NotFound:
        return []


@router.get("/chains/{chain_id}/report.{fmt}")
def report_now(
    request: Request,
    chain_id: ChainIdP,
    fmt: ReportFormat,
    user: BureauUserDep,
    caller: CallerDep,
    region: RegionQ = None,
    city: CityQ = None,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
    k: Annotated[int, Query(ge=1, le=50)] = 5,
) -> Response:
    """The report at once, as a plain link (works without JavaScript)."""
    try:
        report = reports.report_file(caller, chain_id, region, city, ReportRequest(top=top, k=k), fmt)
    except ChainMatchError as exc:
        return error_page(request, user, str(exc), http_status(exc))
    return attachment(report.data, report.filename, report.media_type)
