"""The investment map (全球招商地图) and firm profiles (企业画像).

``/chains/{id}/map``: the China map by province (choropleth, city points, the bureau's region
marked) and the world map by country, drawn on the server as inline SVG; a click on a province or a
country lists its candidates with their reasons, place class and outreach stage (a plain link: it
works without script), each with a link to its firm page and a button that shortlists it.

``/firms/{id}``: the firm page — products and their product-graph neighbourhood, tags, scale, its
standing for the caller's weak links (each with a shortlist button), outreach history and, where
the caller may read them, its gap lists. Scoped like ``GET /v1/firms/{id}/profile``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from api.web.common import (
    NEXT_LENGTH,
    BureauUserDep,
    CallerDep,
    CityQ,
    RegionQ,
    UserDep,
    common,
    domain,
    page,
    region_args,
)
from chainmatch.chains.investmap import MapQuery, ScaleCode, pictures
from chainmatch.geography import country_name
from chainmatch.places import PLACE_LABELS, PLACE_ORDER, PlaceClass
from chainmatch.services import chains, firms
from chainmatch.services.regions import resolve_region
from models.apikey import Role
from models.chain import Segment
from models.regions import normalize_province
from recommender.corpus import Region

router = APIRouter(include_in_schema=False)

TAG_CHOICES = ("专精特新", "专精特新小巨人", "高新技术企业", "listed", "链主企业")
SCALE_CHOICES: tuple[ScaleCode, ...] = ("micro", "small", "medium", "large")


@router.get("/chains/{chain_id}/map", response_class=HTMLResponse)
def map_page(
    request: Request,
    chain_id: Annotated[str, Path(max_length=64)],
    user: BureauUserDep,
    caller: CallerDep,
    region: RegionQ = None,
    city: CityQ = None,
    link: Annotated[str, Query(max_length=200)] = "",
    segment_in: Annotated[str, Query(alias="segment", max_length=20)] = "",
    scale: Annotated[list[ScaleCode], Query(max_length=5)] = [],  # noqa: B006
    tag: Annotated[list[Annotated[str, Query(max_length=40)]], Query(max_length=20)] = [],  # noqa: B006
    place: Annotated[list[PlaceClass], Query(max_length=6)] = [],  # noqa: B006
    min_score_in: Annotated[str, Query(alias="min_score", max_length=20)] = "",
    metric: Annotated[Literal["firms", "score"], Query()] = "firms",
    province: Annotated[str | None, Query(max_length=40)] = None,
    country: Annotated[str | None, Query(max_length=60)] = None,
) -> HTMLResponse:
    # a GET form sends empty fields as empty strings: they mean "no filter"
    segment = next((s for s in Segment if s.value == segment_in), None)
    try:
        min_score: float | None = min(max(float(min_score_in), 0.0), 1.0) if min_score_in.strip() else None
    except ValueError:
        min_score = None
    if min_score is not None and min_score != min_score:  # NaN
        min_score = None

    def render_map() -> HTMLResponse:
        located = chains.chain_in_region(caller, chain_id, region, city)
        public, where = located.chain, located.region
        assessment = chains.weak_links(caller, chain_id, region, city)  # the weak links to pick from
        query = MapQuery(
            item=link or None,
            segment=segment,
            scales=scale,
            tags=tag,
            places=place,
            min_match_score=min_score,
        )
        chosen_province = normalize_province(province) if province else None
        chosen_country = (country_name(country) or country) if country else None
        data = chains.investment_map(
            caller,
            chain_id,
            region,
            city,
            query,
            candidates_in=chosen_province,
            candidates_abroad_in=chosen_country,
        )
        base: list[tuple[str, str]] = [
            (k, v)
            for k, v in (
                ("region", where.province if user.role is Role.ADMIN else ""),
                ("city", where.city or ""),
                ("link", link),
                ("segment", segment.value if segment else ""),
                ("min_score", "" if min_score is None else str(min_score)),
                ("metric", metric if metric != "firms" else ""),
            )
            if v
        ]
        base += (
            [("scale", s) for s in scale] + [("tag", t) for t in tag] + [("place", p.value) for p in place]
        )
        here = f"/chains/{chain_id}/map"

        def href(extra: dict[str, str]) -> str:
            return f"{here}?{urlencode([*base, *extra.items()])}#map-candidates"

        china, world = pictures(
            data,
            metric=metric,
            selected_province=chosen_province,
            selected_country=chosen_country,
            province_href=lambda name: href({"province": name}),
            country_href=lambda name: href({"country": name}),
        )
        selected_label = chosen_province or chosen_country
        back = f"{here}?{urlencode([*base, *([('province', chosen_province)] if chosen_province else []), *([('country', chosen_country)] if chosen_country else [])])}"
        supply = [lk for lk in assessment.links if lk.score is not None]
        return page(
            "map.html",
            **common(
                request,
                user,
                chain=public,
                region=where,
                region_label=located.label,
                region_args=region_args(where),
                data=data,
                china=Markup(china),
                world=Markup(world),
                supply=supply,
                link=link,
                segment=segment.value if segment else "",
                scales=scale,
                tags=tag,
                places=[p.value for p in place],
                min_score=min_score,
                metric=metric,
                selected=selected_label,
                selected_province=chosen_province,
                selected_country=chosen_country,
                href=href,
                back=back if len(back) <= NEXT_LENGTH else here,
                tag_choices=TAG_CHOICES,
                scale_choices=SCALE_CHOICES,
                place_choices=[(p.value, PLACE_LABELS[p]) for p in PLACE_ORDER],
                segment_choices=[(s.value, s) for s in Segment if s is not Segment.DOWNSTREAM],
            ),
        )

    return domain(request, user, render_map)


@router.get("/firms/{firm_id}", response_class=HTMLResponse)
def firm_page(
    request: Request,
    firm_id: Annotated[str, Path(max_length=64)],
    user: UserDep,
    caller: CallerDep,
    region: RegionQ = None,
    city: CityQ = None,
    chain: Annotated[str, Query(max_length=64)] = "",
    node: Annotated[str, Query(max_length=64)] = "",
    back: Annotated[str, Query(max_length=500)] = "",
) -> HTMLResponse:
    """企业画像 — the same scope as the API: a leader sees only its own firm."""

    def render_firm() -> HTMLResponse:
        focus = (chain, node) if chain and node else None
        profile = firms.profile(caller, firm_id, province=region, city=city, focus=focus)
        where: Region | None = None  # the region the shortlist buttons track candidates for
        if user.role is Role.BUREAU or (user.role is Role.ADMIN and region):
            where = resolve_region(user.principal, region, city)
        focus_first = sorted(
            profile.standing,
            key=lambda s: (not (s.chain_id == chain and s.node_id == node), s.rank, -s.score),
        )
        tracked = {(o.chain_id, o.node_id, o.product): o for o in profile.outreach}
        here = f"/firms/{firm_id}?" + urlencode(
            [
                (k, v)
                for k, v in (("region", region or ""), ("city", city or ""), ("chain", chain), ("node", node))
                if v
            ]
        )
        context: dict[str, Any] = common(
            request,
            user,
            profile=profile,
            firm=profile.firm,
            standing=focus_first,
            tracked=tracked,
            region=where,
            here=here if len(here) <= NEXT_LENGTH else f"/firms/{firm_id}",
            back=back if back.startswith("/") and not back.startswith("//") else "",
        )
        return page("firm.html", **context)

    return domain(request, user, render_firm)
