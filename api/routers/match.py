"""The ad-hoc query a bureau types: who can make this component?"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import StreamingResponse

from api.deps import BureauOrAdminDep, IndexDep, RateLimiterDep, SettingsDep, throttle
from chainmatch.errors import http_status
from chainmatch.indexing import IndexService
from chainmatch.keys import Principal
from chainmatch.matching import firm_filter, match_response
from chainmatch.settings import Settings
from models.apikey import Role
from models.gap import RegionIn
from models.matching import (
    BatchMatchLine,
    BatchMatchQuery,
    BatchMatchRequest,
    BatchMatchTrailer,
    MatchRequest,
    MatchResponse,
)
from models.regions import normalize_city, normalize_province
from recommender.corpus import MatchQuery, Region, Scope
from recommender.errors import RecommenderError

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


def engine_query(body: MatchRequest, principal: Principal, settings: Settings) -> MatchQuery:
    """The engine's query for a request, or the HTTPException (403/422) of a bad one."""
    if body.k > settings.max_k:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"k 最大为 {settings.max_k} (k is capped)")
    region = _region(body, principal)
    if body.scope is not Scope.ALL and region is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "scope 为 inside/outside 时须指定 region (inside/outside needs a region)",
        )
    return MatchQuery(
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
    query = engine_query(body, principal, settings)
    with index.searching() as engine:
        return match_response(engine, query)


def _answer(index: IndexService, q: BatchMatchQuery, principal: Principal, settings: Settings) -> BatchMatchLine:
    try:
        query = engine_query(q, principal, settings)
        with index.searching() as engine:
            answer = match_response(engine, query)
    except HTTPException as exc:
        return BatchMatchLine(id=q.id, status=exc.status_code, error=str(exc.detail))
    except RecommenderError as exc:
        return BatchMatchLine(id=q.id, status=http_status(exc), error=str(exc))
    return BatchMatchLine(id=q.id, status=200, **dict(answer))


def _stream(
    index: IndexService, queries: list[BatchMatchQuery], principal: Principal, settings: Settings
) -> Iterator[bytes]:
    """One line per query, in the order given, written as it is answered (memory: one answer);
    each answer takes the index for itself, so ingestion is not held up by a long batch."""
    answered = errors = 0
    for q in queries:
        line = _answer(index, q, principal, settings)
        if line.status == 200:
            answered += 1
        else:
            errors += 1
        fields = {k: v for k, v in line.model_dump(mode="json").items() if v is not None}
        yield json.dumps(fields, ensure_ascii=False).encode() + b"\n"
    trailer = BatchMatchTrailer(queries=len(queries), answered=answered, errors=errors)
    yield json.dumps(trailer.model_dump()).encode() + b"\n"


@router.post(
    "/match/batch",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/x-ndjson": {}},
            "description": "one BatchMatchLine per query in the order given, then a BatchMatchTrailer "
            '({"done": true, ...}); a stream without the trailer was cut short',
        }
    },
)
def match_batch(
    body: BatchMatchRequest,
    principal: BureauOrAdminDep,
    index: IndexDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
) -> StreamingResponse:
    """Up to ``max_batch_queries`` (1,000) queries of ``POST /v1/match`` in one call, for a data
    platform re-matching a region's weak links. Answers are streamed as NDJSON, each tagged with its
    query's ``id``; a query that cannot be answered (a region outside the bureau's, a bad scope) gets
    its own error line and the others are answered. The call costs ceil(queries /
    ``batch_queries_per_charge``) rate-limit tokens at once, at most the burst (429 with Retry-After
    when they are not there), instead of one per query."""
    n = len(body.queries)
    if n > settings.max_batch_queries:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"每次最多 {settings.max_batch_queries} 个查询 (at most {settings.max_batch_queries} queries per call)",
        )
    # The whole call costs at most the burst (so that any batch can pass); authentication took one.
    cost = min(math.ceil(n / settings.batch_queries_per_charge), limiter.burst)
    throttle(limiter, principal.key_id, cost - 1)
    with index.searching():
        pass  # 503 now, before the stream starts, when there is no index at all
    return StreamingResponse(
        _stream(index, body.queries, principal, settings), media_type="application/x-ndjson"
    )
