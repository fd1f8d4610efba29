"""The matchmaking page (供需对接, ``/matchmaking``, ``/matchmaking.xlsx``): the region's (weak link ×
willing firm) pairs for a bureau, a leader's own items' pairs; the invitation list as a download."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from api.downloads import attachment
from api.web.common import CallerDep, CityQ, RegionQ, UserDep, common, domain, error_page, page
from chainmatch.matchmaking import invitation_xlsx
from chainmatch.services import match
from models.apikey import Role

router = APIRouter(include_in_schema=False)

NOT_FOR_SUPPLIERS = "该页面仅限招商局与链主企业 (bureaus and leaders only)"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAIRS = 20  # candidates per weak link


@router.get("/matchmaking", response_class=HTMLResponse)
def matchmaking_page(
    request: Request, user: UserDep, caller: CallerDep, region: RegionQ = None, city: CityQ = None
) -> HTMLResponse:
    if user.role is Role.SUPPLIER:
        return error_page(request, user, NOT_FOR_SUPPLIERS)

    def render_matchmaking() -> HTMLResponse:
        result = match.matchmaking(caller, region=region, city=city, k=PAIRS)
        query = "&".join(f"{k}={v}" for k, v in (("region", region), ("city", city)) if v)
        return page("matchmaking.html", **common(request, user, result=result, query=query))

    return domain(request, user, render_matchmaking)


@router.get("/matchmaking.xlsx")
def matchmaking_download(
    user: UserDep, caller: CallerDep, region: RegionQ = None, city: CityQ = None
) -> Response:
    if user.role is Role.SUPPLIER:
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_FOR_SUPPLIERS)
    result = match.matchmaking(caller, region=region, city=city, k=PAIRS)
    return attachment(invitation_xlsx(result), "matchmaking.xlsx", XLSX)
