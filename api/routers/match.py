"""The ad-hoc query a bureau types: who can make this component?"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.deps import BureauOrAdminDep, IndexDep, SettingsDep
from api.schemas import MatchRequest, MatchResponse
from chainmatch.keys import Principal
from chainmatch.matching import firm_filter, match_response
from chainmatch.regions import normalize_city, normalize_province
from models.apikey import Role
from models.gap import RegionIn
from recommender.corpus import MatchQuery, Region, Scope

router = APIRouter(prefix="/v1", tags=["match"])


def _region(body: MatchRequest, principal: Principal) -> Region | None:
    asked = body.region if isinstance(body.region, RegionIn) else None  # strings became RegionIn
    if asked is None:
        if principal.role is Role.BUREAU and principal.province:
            return Region(principal.province, principal.city)
        return None
    province = normalize_province(asked.province)
    assert province is not None
    region = Region(province, normalize_city(asked.city))
    if principal.role is Role.BUREAU and (
        region.province != principal.province or (principal.city and region.city != principal.city)
    ):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "招商局只能以本辖区为区域查询 (a bureau queries for its own region)"
        )
    return region


@router.post("/match", response_model=MatchResponse)
def match(
    body: MatchRequest, principal: BureauOrAdminDep, index: IndexDep, settings: SettingsDep
) -> MatchResponse:
    """Rank the firms that can make ``text``. ``scope`` picks investment targets (``outside`` the
    region), local suppliers (``inside``) or ``all``; the leader firm never appears.

    ``text`` may be a sentence (用于质谱仪的离子源，主要依赖日本进口): ``understood_as`` says which product
    was searched for and what else the text states (qualifiers, end use, specs, sourcing). When the
    reading is unsure, candidates below the relevance floor are returned flagged ``low_confidence``
    rather than an empty list."""
    if body.k > settings.max_k:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"k 最大为 {settings.max_k} (k is capped)")
    region = _region(body, principal)
    if body.scope is not Scope.ALL and region is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "scope 为 inside/outside 时须指定 region (inside/outside needs a region)",
        )
    query = MatchQuery(
        text=body.text,
        description=body.description,
        for_product=body.for_product,
        leader_firm_id=body.leader_firm_id,
        region=region,
        scope=body.scope,
        filters=firm_filter(body.filters, exclude=[body.leader_firm_id] if body.leader_firm_id else []),
        k=body.k,
        min_score=body.min_score,
    )
    with index.searching() as engine:
        return match_response(engine, query)
