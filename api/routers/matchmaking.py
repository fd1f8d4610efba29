"""Both sides of the match: a weak link's lists with offers, requirements and outcomes applied;
the region's matchmaking pairs (供需对接) with their XLSX invitation list; the ranker refresh."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from api.caller import AdminCallerDep, AnyCallerDep, MatchmakerCallerDep
from api.downloads import attachment
from chainmatch.matchmaking import MatchmakingResponse, invitation_xlsx
from chainmatch.services import match as matching
from chainmatch.services.match import RankerStatus
from chainmatch.twosided import TwoSidedRecommendations

router = APIRouter(tags=["matchmaking"])

GapListId = Annotated[
    str, Path(max_length=40, pattern=r"^[A-Za-z0-9_\-]+$", description="gap list id (gl_…)")
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/v1/gap-lists/{list_id}/matches", response_model=TwoSidedRecommendations)
def gap_list_matches(
    list_id: GapListId,
    caller: AnyCallerDep,
    k: Annotated[int, Query(ge=1, description="results per list per item, capped by the server")] = 10,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
) -> TwoSidedRecommendations:
    """Both candidate lists of every weak link with both sides applied: a firm with a valid offer
    covering the item is marked (``offer``) and ranks above an otherwise equal firm; the leader's
    hard requirements leave candidates out (``excluded`` says how many, per reason), soft ones
    rank; a recent decline lowers the firm (reason shown); signed pairs are ``done``. Who may read
    the list may read this; each answer is audited as a read of the list."""
    return matching.gap_list_matches(caller, list_id, k=k, min_score=min_score)


@router.get(
    "/v1/matchmaking",
    response_model=MatchmakingResponse,
    responses={200: {"content": {XLSX: {}}}},
)
def region_matchmaking(
    caller: MatchmakerCallerDep,
    region: Annotated[
        str | None, Query(max_length=40, description="province; a bureau's default is its own")
    ] = None,
    city: Annotated[str | None, Query(max_length=60)] = None,
    gap_list_id: Annotated[str | None, Query(max_length=40)] = None,
    k: Annotated[int, Query(ge=1, le=100, description="candidates considered per list per item")] = 20,
    format: Annotated[Literal["json", "xlsx"], Query(description="json | xlsx (invitation list)")] = "json",
) -> MatchmakingResponse | Response:
    """Every (weak link × willing firm) pair, best first: for a bureau across the leaders of its
    region, for admin across a named region's, for a leader across its own items only (no other
    leader's data, no contacts). ``format=xlsx``: the 供需对接会 invitation list."""
    result = matching.matchmaking(caller, region=region, city=city, k=k, gap_list_id=gap_list_id)
    if format == "xlsx":
        return attachment(invitation_xlsx(result), "matchmaking.xlsx", XLSX)
    return result


@router.get("/v1/ranker", response_model=RankerStatus)
def ranker_status(caller: AdminCallerDep) -> RankerStatus:
    """The model version every answer names: the offline ranker and the deployment's refresh."""
    return matching.ranker_status(caller)


@router.post("/v1/ranker/refresh", response_model=RankerStatus)
def ranker_refresh(caller: AdminCallerDep) -> RankerStatus:
    """Refit the deployment's ranker on the recorded outcomes (admin), with the offline ranker as
    its prior: 422 when there are too few outcomes; the weight on what it learned is the largest
    that keeps the offline benchmark at or above the offline ranker."""
    return matching.refresh_ranker(caller)
