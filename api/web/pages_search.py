"""The search page (薄弱环节检索): a weak link a bureau heard of on a visit, typed as heard — how it
was read, the investment targets outside the region and the local suppliers inside, each with a
button that puts it into the outreach pipeline (under the chain node that lists the product, or one
chosen)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.deps import IndexDep
from api.web.common import NEXT_LENGTH, BureauUserDep, CallerDep, CityQ, RegionQ, common, domain, page
from chainmatch.chains.scope import region_label
from chainmatch.errors import RegionMissing
from chainmatch.matching import reading_rows, recommend_text
from chainmatch.services import chains, outreach
from chainmatch.services.context import Caller
from chainmatch.services.regions import resolve_region
from models.apikey import Role
from recommender.corpus import MatchQuery, Region, Scope
from recommender.errors import InvalidQuery
from recommender.text import normalize_key, normalize_text

router = APIRouter(include_in_schema=False)

SEARCH_EXAMPLES = ("用于质谱仪的离子源", "高精度光栅尺", "PMT", "离子源，主要依赖日本进口，进口占比约70%")


@dataclass(frozen=True)
class NodeChoice:
    """A chain node a typed weak link can be tracked under (outreach records belong to a node)."""

    chain_id: str
    node_id: str
    label: str
    keys: frozenset[str]
    province: str | None  # the chain's default region

    @property
    def value(self) -> str:
        return f"{self.chain_id}/{self.node_id}"


def _node_choices(caller: Caller) -> list[NodeChoice]:
    return [
        NodeChoice(
            chain_id=chain.id,
            node_id=n.id,
            label=f"{chain.name} · {n.name}",
            keys=frozenset(normalize_key(x) for x in [n.name, *n.products] if x),
            province=chain.region_province,
        )
        for chain, n in chains.all_nodes(caller)
    ]


def _node_for(
    choices: list[NodeChoice], asked: str, products: list[str], region: Region
) -> tuple[NodeChoice | None, bool]:
    """The node to track candidates under: the one asked for, else the first node that lists the
    understood product (a chain of the region first). Second: whether it was found automatically."""
    if asked:
        return next((c for c in choices if c.value == asked), None), False
    keys = {normalize_key(p) for p in products if p}
    found = [c for c in choices if c.keys & keys]
    if not found:
        return None, False
    found.sort(key=lambda c: c.province != region.province)  # stable: chain order within each
    return found[0], True


def _admin_default_region(caller: Caller) -> Region | None:
    for summary in chains.list_chains(caller):
        if summary.region_province:
            return Region(summary.region_province, summary.region_city)
    return None


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    user: BureauUserDep,
    caller: CallerDep,
    index: IndexDep,
    q: Annotated[str, Query(max_length=200)] = "",
    description: Annotated[str, Query(max_length=2000)] = "",
    region: RegionQ = None,
    city: CityQ = None,
    link: Annotated[str, Query(max_length=130)] = "",
    k: Annotated[int, Query(ge=1, le=30)] = 8,
) -> HTMLResponse:

    def render_search() -> HTMLResponse:
        text = normalize_text(q)
        default = _admin_default_region(caller) if user.role is Role.ADMIN else None
        choices = _node_choices(caller)
        try:
            where: Region | None = resolve_region(user.principal, region, city, default=default)
        except RegionMissing:
            where = None  # an admin without a chain to take a region from: the form asks for one
        context = common(
            request,
            user,
            q=q,
            description=description,
            region=where,
            region_label=region_label(where) if where else "",
            choices=choices,
            link=link,
            k=k,
            understood=None,
            reading=[],
            targets=[],
            local=[],
            node=None,
            node_auto=False,
            tracked={},
            product=None,
            error=None,
            examples=SEARCH_EXAMPLES,
            back="/search",
        )
        if not text:
            return page("search.html", **context)
        if where is None:
            context["error"] = "请选择区域后再检索 (choose a region)"
            return page("search.html", 422, **context)
        query = MatchQuery(
            text=text, description=normalize_text(description) or None, region=where, scope=Scope.ALL, k=k
        )
        try:
            with index.searching() as engine:
                understood, targets, local = recommend_text(engine, query)
        except InvalidQuery as exc:
            context["error"] = str(exc)
            return page("search.html", 422, **context)
        product = understood.product or text
        node, auto = _node_for(choices, link, [product, *understood.synonyms], where)
        tracked: dict[str, Any] = {}
        if node is not None:
            records = outreach.records_at(
                caller, where, chain_id=node.chain_id, node_id=node.node_id, product=product
            )
            tracked = {r.firm_id: r for r in records}
        args = {
            key: value
            for key, value in (
                ("q", text),
                ("description", normalize_text(description)),
                ("region", where.province if user.role is Role.ADMIN else ""),
                ("city", where.city or ""),
                ("link", link),
                ("k", str(k) if k != 8 else ""),
            )
            if value
        }
        back = "/search?" + urlencode(args)
        # the shortlist form's next= takes 500: too long, the same search without the context
        if len(back) > NEXT_LENGTH:
            back = "/search?" + urlencode({key: v for key, v in args.items() if key != "description"})
        context.update(
            understood=understood,
            reading=reading_rows(understood),
            targets=targets,
            local=local,
            node=node,
            node_auto=auto,
            tracked=tracked,
            product=product,
            back=back if len(back) <= NEXT_LENGTH else "/search",
        )
        return page("search.html", **context)

    return domain(request, user, render_search)
