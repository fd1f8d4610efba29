"""Matching: the ad-hoc query a bureau types (one, or a batch), both sides of a gap list's match,
the region's matchmaking pairs (供需对接), re-match jobs and the deployment's ranker.

Every ``k`` is capped by the settings (422 above ``max_k``); regions are resolved by
:mod:`chainmatch.services.regions` under the rule each request has always had.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel

from chainmatch.chains.schemas import GapListRef
from chainmatch.errors import ChainMatchError, InvalidInput, NotFound, RegionMissing, http_status
from chainmatch.gaplists import get_visible, items_of
from chainmatch.matching import firm_filter, match_response
from chainmatch.matchmaking import MatchmakingResponse, matchmaking_for
from chainmatch.refresh import ModelStore, RefreshModel, refresh_deployment, store_for
from chainmatch.rematch import RematchJobPublic, RematchJobs
from chainmatch.services.context import Caller
from chainmatch.services.regions import MATCH, REMATCH, authorise_region, resolve_region
from chainmatch.twosided import TwoSidedRecommendations, context_for, recommend_both_sides
from models.apikey import Role
from models.common import utcnow
from models.gap import RegionIn
from models.matching import (
    BatchMatchLine,
    BatchMatchQuery,
    BatchMatchTrailer,
    MatchRequest,
    MatchResponse,
    RematchRequest,
)
from recommender.corpus import MatchQuery, Scope
from recommender.errors import RecommenderError

MATCH_ROLES = (Role.BUREAU, Role.ADMIN)
MATCHMAKER_ROLES = (Role.BUREAU, Role.LEADER, Role.ADMIN)


class RankerStatus(BaseModel):
    model_version: str
    offline: str
    refresh: RefreshModel | None


def check_k(caller: Caller, k: int) -> None:
    """422 when ``k`` is above the server's cap."""
    if k > caller.settings.max_k:
        raise InvalidInput(f"k 最大为 {caller.settings.max_k} (k is capped)")


def model_store(caller: Caller) -> ModelStore:
    return store_for(caller.settings.data_dir, caller.settings.ranker_path)


# ------------------------------------------------------------------------------ typed queries
def engine_query(caller: Caller, body: MatchRequest) -> MatchQuery:
    """The engine's query for a request: 422 for a ``k`` above the cap or inside/outside without
    a region, 403 for a bureau asking about another region (a bureau's default is its own)."""
    caller.require(*MATCH_ROLES)
    check_k(caller, body.k)
    asked = body.region if isinstance(body.region, RegionIn) else None  # strings became RegionIn
    region = authorise_region(
        caller.principal, asked.province if asked else None, asked.city if asked else None, rule=MATCH
    )
    if body.scope is not Scope.ALL and region is None:
        raise RegionMissing("scope 为 inside/outside 时须指定 region (inside/outside needs a region)")
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


def match(caller: Caller, body: MatchRequest) -> MatchResponse:
    """The firms that can make ``body.text``, with the engine's reading of the text."""
    query = engine_query(caller, body)
    with caller.index.searching() as engine:
        return match_response(engine, query)


def check_batch(caller: Caller, n: int) -> None:
    """422 for a batch above the server's ``max_batch_queries``."""
    caller.require(*MATCH_ROLES)
    cap = caller.settings.max_batch_queries
    if n > cap:
        raise InvalidInput(f"每次最多 {cap} 个查询 (at most {cap} queries per call)")


# Queries answered per hold of the index (~0.5-1 s of engine work at 100k firms): a long batch does
# not hold up ingestion; 64 -> 128 shares ~7% more work between queries (measured in process)
BATCH_CHUNK = 128


def _error_line(q: BatchMatchQuery, exc: ChainMatchError | RecommenderError) -> BatchMatchLine:
    return BatchMatchLine(id=q.id, status=http_status(exc), error=str(exc))


def _answer_chunk(caller: Caller, chunk: Sequence[BatchMatchQuery]) -> list[BatchMatchLine]:
    """The lines of ``chunk``, in its order, from one hold of the index: its valid queries asked
    together (``match_many``: of one engine, or in two fan-outs of a sharded one)."""
    lines: list[BatchMatchLine | None] = [None] * len(chunk)
    asked: list[tuple[int, MatchQuery]] = []
    for i, q in enumerate(chunk):
        try:
            asked.append((i, engine_query(caller, q)))
        except ChainMatchError as exc:
            lines[i] = _error_line(q, exc)
    try:
        with caller.index.searching() as engine:
            queries = [query for _, query in asked]
            answers = engine.match_many(queries)
            for n, (i, query) in enumerate(asked):
                try:
                    answer = answers[n]
                    if isinstance(answer, RecommenderError):
                        raise answer
                    response = match_response(engine, query, answer)
                except (ChainMatchError, RecommenderError) as exc:
                    lines[i] = _error_line(chunk[i], exc)
                    continue
                lines[i] = BatchMatchLine(id=chunk[i].id, status=200, **dict(response))
    except (ChainMatchError, RecommenderError) as exc:  # no index now (503), or a shard down
        lines = [line or _error_line(q, exc) for line, q in zip(lines, chunk, strict=True)]
    return [line for line in lines if line is not None]


def match_batch(
    caller: Caller, queries: Sequence[BatchMatchQuery]
) -> Iterator[BatchMatchLine | BatchMatchTrailer]:
    """One line per query, in the order given, answered as the iterator is read, ``BATCH_CHUNK``
    queries at a time (memory: one chunk's answers; each chunk takes the index for itself, so
    ingestion is not held up by a long batch); a query that cannot be answered gets its own error
    line. Then the trailer. 503 at once when there is no index at all."""
    check_batch(caller, len(queries))
    with caller.index.searching():
        pass  # 503 now, before the first line, when there is no index at all

    def lines() -> Iterator[BatchMatchLine | BatchMatchTrailer]:
        answered = 0
        for start in range(0, len(queries), BATCH_CHUNK):
            for line in _answer_chunk(caller, queries[start : start + BATCH_CHUNK]):
                answered += line.status == 200
                yield line
        yield BatchMatchTrailer(queries=len(queries), answered=answered, errors=len(queries) - answered)

    return lines()


# ------------------------------------------------------------------------------ both sides
def gap_list_matches(
    caller: Caller, list_id: str, *, k: int, min_score: float | None = None
) -> TwoSidedRecommendations:
    """Both candidate lists of every weak link of a gap list with offers, requirements and
    outcomes applied. Who may read the list may read this (404 otherwise); audited as a read of it."""
    with caller.reading() as session:
        gap_list = get_visible(session, caller.principal, list_id)
        if gap_list is None:
            raise NotFound("清单不存在 (not found)")
        check_k(caller, k)
        store = model_store(caller)
        model = store.current()
        items = items_of(session, gap_list)
        with caller.index.searching() as engine:
            ctx = context_for(session, engine, gap_list, items, model=model, role=caller.role)
            result = recommend_both_sides(
                ctx, items, k=k, model_version=store.version(engine), min_score=min_score
            )
        ref = GapListRef(id=gap_list.id, version=gap_list.version)
    caller.record_lists("matches", [ref])
    return result


def matchmaking(
    caller: Caller, *, region: str | None, city: str | None, k: int, gap_list_id: str | None = None
) -> MatchmakingResponse:
    """Every (weak link × willing firm) pair, best first: a bureau's region, a named region for
    admin, a leader's own items (no contacts); audited per gap list read."""
    caller.require(*MATCHMAKER_ROLES)
    check_k(caller, k)
    with caller.reading() as session:
        result, refs = matchmaking_for(
            session,
            caller.index,
            model_store(caller),
            caller.principal,
            where=None
            if caller.principal.role is Role.LEADER
            else resolve_region(caller.principal, region, city),
            k=k,
            gap_list_id=gap_list_id,
        )
    caller.record_lists("matchmaking", refs)
    return result


# ------------------------------------------------------------------------------ re-match jobs
def start_rematch(caller: Caller, jobs: RematchJobs, body: RematchRequest) -> RematchJobPublic:
    """Rank every live gap list of a region again in the background: a bureau its own region (a
    city bureau its city's lists and its province's), admin a region it names."""
    caller.require(*MATCH_ROLES)
    check_k(caller, body.k)
    asked = body.region
    region = authorise_region(
        caller.principal, asked.province if asked else None, asked.city if asked else None, rule=REMATCH
    )
    assert region is not None  # REMATCH.missing is set
    job = jobs.submit(
        caller.db,
        caller.index,
        region,
        owner_key_id=caller.principal.key_id,
        k=body.k,
        min_score=body.min_score,
    )
    return job.public()


def rematch_status(caller: Caller, jobs: RematchJobs, job_id: str) -> RematchJobPublic:
    """queued | running | done | failed, with ``done`` of ``total`` gap lists."""
    caller.require(*MATCH_ROLES)
    return jobs.status(job_id, key_id=caller.principal.key_id, admin=caller.is_admin).public()


def rematch_result(caller: Caller, jobs: RematchJobs, job_id: str) -> Path:
    """The finished result file (one GapListRecommendations a line); 404 until the job is done.
    Each download is audited per gap list."""
    caller.require(*MATCH_ROLES)
    path, lists = jobs.result(job_id, key_id=caller.principal.key_id, admin=caller.is_admin)
    caller.record_lists("rematch", lists)
    return path


# ------------------------------------------------------------------------------ the ranker
def ranker_status(caller: Caller) -> RankerStatus:
    """The model version every answer names: the offline ranker and the deployment's refresh."""
    caller.require(Role.ADMIN)
    store = model_store(caller)
    with caller.index.searching() as engine:
        version = store.version(engine)
    return RankerStatus(model_version=version, offline=store.offline, refresh=store.current())


def refresh_ranker(caller: Caller) -> RankerStatus:
    """Refit the deployment's ranker on the recorded outcomes, with the offline ranker as its
    prior (422 when there are too few outcomes)."""
    caller.require(Role.ADMIN)
    with caller.reading() as session, caller.index.searching() as engine:
        refresh_deployment(session, engine, caller.settings.data_dir, utcnow().isoformat())
    return ranker_status(caller)
