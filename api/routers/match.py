"""The ad-hoc query a bureau types: who can make this component?"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.caller import BureauCallerDep
from api.deps import RateLimiterDep, throttle
from chainmatch.services import match as matching
from models.matching import BatchMatchLine, BatchMatchRequest, BatchMatchTrailer, MatchRequest, MatchResponse

router = APIRouter(prefix="/v1", tags=["match"])


@router.post("/match", response_model=MatchResponse)
def match(body: MatchRequest, caller: BureauCallerDep) -> MatchResponse:
    """Rank the firms that can make ``text``. ``scope`` picks investment targets (``outside`` the
    region), local suppliers (``inside``) or ``all``; the leader firm never appears.

    ``text`` may be a sentence (用于质谱仪的离子源，主要依赖日本进口): ``understood_as`` says which product
    was searched for and what else the text states (qualifiers, end use, specs, sourcing). When the
    reading is unsure, candidates below the relevance floor are returned flagged ``low_confidence``
    rather than an empty list."""
    return matching.match(caller, body)


def ndjson(lines: Iterator[BatchMatchLine | BatchMatchTrailer]) -> Iterator[bytes]:
    """One JSON object a line, fields without a value left out of an answer line."""
    for line in lines:
        if isinstance(line, BatchMatchTrailer):
            yield json.dumps(line.model_dump()).encode() + b"\n"
            continue
        fields = {k: v for k, v in line.model_dump(mode="json").items() if v is not None}
        yield json.dumps(fields, ensure_ascii=False).encode() + b"\n"


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
    body: BatchMatchRequest, caller: BureauCallerDep, limiter: RateLimiterDep
) -> StreamingResponse:
    """Up to ``max_batch_queries`` (1,000) queries of ``POST /v1/match`` in one call, for a data
    platform re-matching a region's weak links. Answers are streamed as NDJSON, each tagged with its
    query's ``id``; a query that cannot be answered (a region outside the bureau's, a bad scope) gets
    its own error line and the others are answered. The call costs ceil(queries /
    ``batch_queries_per_charge``) rate-limit tokens at once, at most the burst (429 with Retry-After
    when they are not there), instead of one per query."""
    n = len(body.queries)
    matching.check_batch(caller, n)
    # The whole call costs at most the burst (so that any batch can pass); authentication took one.
    cost = min(math.ceil(n / caller.settings.batch_queries_per_charge), limiter.burst)
    throttle(limiter, caller.principal.key_id, cost - 1)
    return StreamingResponse(
        ndjson(matching.match_batch(caller, body.queries)), media_type="application/x-ndjson"
    )
