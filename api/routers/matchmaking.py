"""Both sides of the match: a weak link's lists with offers, requirements and outcomes applied;
the region's matchmaking pairs (供需对接) with their XLSX invitation list; the ranker refresh."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlmodel import Session

from api.deps import (
    AdminDep,
    IndexDep,
    PrincipalDep,
    ReadableGapListDep,
    ReadAuditDep,
    ReadSessionDep,
    SettingsDep,
    require,
)
from api.downloads import attachment
from chainmatch.chains.schemas import GapListRef
from chainmatch.gaplists import items_of
from chainmatch.keys import Principal
from chainmatch.matchmaking import MatchmakingResponse, invitation_xlsx, matchmaking_for
from chainmatch.refresh import ModelStore, RefreshError, RefreshModel, refresh_deployment, store_for
from chainmatch.settings import Settings
from chainmatch.twosided import TwoSidedRecommendations, context_for, recommend_both_sides
from models.apikey import Role
from models.common import utcnow

router = APIRouter(tags=["matchmaking"])

MatchmakerDep = Annotated[Principal, Depends(require(Role.BUREAU, Role.LEADER, Role.ADMIN))]


def model_store(settings: Settings) -> ModelStore:
    return store_for(settings.data_dir, settings.ranker_path)


def _check_k(k: int, settings: Settings) -> None:
    if k > settings.max_k:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"k 最大为 {settings.max_k} (k is capped)")


@router.get("/v1/gap-lists/{list_id}/matches", response_model=TwoSidedRecommendations)
def gap_list_matches(
    gap_list: ReadableGapListDep,
    principal: PrincipalDep,
    session: ReadSessionDep,
    read_audit: ReadAuditDep,
    index: IndexDep,
    settings: SettingsDep,
    k: Annotated[int, Query(ge=1, description="results per list per item, capped by the server")] = 10,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
) -> TwoSidedRecommendations:
    """Both candidate lists of every weak link with both sides applied: a firm with a valid offer
    covering the item is marked (``offer``) and ranks above an otherwise equal firm; the leader's
    hard requirements leave candidates out (``excluded`` says how many, per reason), soft ones
    rank; a recent decline lowers the firm (reason shown); signed pairs are ``done``. Who may read
    the list may read this; each answer is audited as a read of the list."""
    _check_k(k, settings)
    store = model_store(settings)
    model = store.current()
    items = items_of(session, gap_list)
    with index.searching() as engine:
        ctx = context_for(session, engine, gap_list, items, model=model, role=principal.role)
        result = recommend_both_sides(
            ctx, items, k=k, model_version=store.version(engine), min_score=min_score
        )
    read_audit.record_lists("matches", [GapListRef(id=gap_list.id, version=gap_list.version)])
    return result


@router.get(
    "/v1/matchmaking",
    response_model=MatchmakingResponse,
    responses={200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}},
)
def region_matchmaking(
    principal: MatchmakerDep,
    session: ReadSessionDep,
    read_audit: ReadAuditDep,
    index: IndexDep,
    settings: SettingsDep,
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
    _check_k(k, settings)
    result, refs = matchmaking_for(
        session,
        index,
        model_store(settings),
        principal,
        region=region,
        city=city,
        k=k,
        gap_list_id=gap_list_id,
    )
    read_audit.record_lists("matchmaking", refs)
    if format == "xlsx":
        return attachment(
            invitation_xlsx(result),
            "matchmaking.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    return result


class RankerStatus(BaseModel):
    model_version: str
    offline: str
    refresh: RefreshModel | None


@router.get("/v1/ranker", response_model=RankerStatus)
def ranker_status(_admin: AdminDep, settings: SettingsDep, index: IndexDep) -> RankerStatus:
    """The model version every answer names: the offline ranker and the deployment's refresh."""
    store = model_store(settings)
    with index.searching() as engine:
        version = store.version(engine)
    return RankerStatus(model_version=version, offline=store.offline, refresh=store.current())


@router.post("/v1/ranker/refresh", response_model=RankerStatus)
async def ranker_refresh(
    _admin: AdminDep, settings: SettingsDep, index: IndexDep, request_db: ReadSessionDep
) -> RankerStatus:
    """Refit the deployment's ranker on the recorded outcomes (admin), with the offline ranker as
    its prior: 422 when there are too few outcomes; the weight on what it learned is the largest
    that keeps the offline benchmark at or above the offline ranker."""

    def work(session: Session) -> None:
        with index.searching() as engine:
            refresh_deployment(session, engine, settings.data_dir, utcnow().isoformat())

    try:
        await run_in_threadpool(work, request_db)
    except RefreshError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return ranker_status(_admin, settings, index)
