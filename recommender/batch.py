"""Many queries answered together (:meth:`Recommender.match_many`; the service's ``POST /v1/match/batch``).

A data platform re-matching a province asks every weak link twice (investment targets outside the
region, local suppliers inside it), and the same weak link (硫酸, 电源模块) stands in many leaders'
lists. The channels' answers do not depend on the scope, the region or the filters, only on a few
fields of the channel query (:data:`CHANNEL_INPUTS`), so each distinct input is searched once; and
two queries that read alike, ask the same firms and rank them the same way share one ranking.

The queries are answered in the order of their item, so that every query of one item is answered
while that item's channel answers are held (each is a few arrays over every firm row: memory is
that of one item at a time, whatever the batch's size). Across items, the batch shares what is
small: the dense channel's hits of every item (one encoder call, FAISS 16 queries a call), the
firms listing each product key the graph expands to (:class:`GraphMemo`) and the decoded firms of
its answers. Every answer is the one :meth:`match` gives the query alone
(tests/recommender/test_batch_matching.py).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from itertools import groupby
from typing import TYPE_CHECKING

import numpy as np

from .channels import ChannelQuery, DenseChannel, GraphChannel
from .channels.graph import GraphMemo
from .corpus import FirmDoc, FirmMatch, MatchQuery, Scope
from .errors import RecommenderError
from .features import ChannelArrays, GraphMatches
from .merge import QueryEvidence
from .ranking import QueryScores
from .understanding import Understanding

if TYPE_CHECKING:
    from .engine import Recommender

# What each channel reads of a ChannelQuery (recommender.channels; the floors a shard's query
# carries, recommender.merge): queries equal in it share the channel's answer.
CHANNEL_INPUTS: dict[str, Callable[[ChannelQuery], Hashable]] = {
    "tfidf": lambda cq: (cq.item, cq.floors.get("tfidf")),
    "bm25": lambda cq: (cq.full, cq.floors.get("bm25")),
    "dense": lambda cq: (cq.item, cq.floors.get("dense")),
    "graph": lambda cq: (cq.item, cq.synonyms, cq.for_product),
}


@dataclass
class _Planned:
    """A valid query of the batch: its slot, its cut, its reading and its channel query."""

    slot: int
    query: MatchQuery
    k: int
    understanding: Understanding
    cq: ChannelQuery
    item_listed: bool | None  # the corpus's, for one shard of it (QueryEvidence), else None

    def order(self) -> tuple[str, str, str, tuple[str, ...]]:
        """Queries of one item together, and within it those of one channel input."""
        return self.cq.item, self.cq.full, self.cq.for_product or "", self.cq.synonyms

    def ranking_key(self) -> Hashable:
        """Queries equal in this are ranked alike: the same channel answers, the same reading as
        far as the ranking reads it (confidence, how the product was found), the same query but
        for its text (which reaches the ranking only through the channel query and the reading)."""
        u = self.understanding
        return (
            tuple(inputs(self.cq) for inputs in CHANNEL_INPUTS.values()),
            u.confidence,
            u.via,
            self.item_listed,
            replace(self.query, text="", description=None),
        )


class _ItemSearches:
    """The channel answers of the queries of one item, each searched at its first query: the
    dense channel's from the item's nearest texts (found for every item of the batch at once),
    the graph channel's with what the batch's other searches found (``memo``)."""

    def __init__(
        self, engine: Recommender, near: dict[str, tuple[np.ndarray, np.ndarray]], memo: GraphMemo
    ) -> None:
        self.engine = engine
        self.near = near
        self.memo = memo
        self.answers: dict[tuple[str, Hashable], ChannelArrays | GraphMatches] = {}

    def scores(self, p: _Planned) -> QueryScores:
        tfidf, bm25, dense = (self._entry_channel(name, p.cq) for name in ("tfidf", "bm25", "dense"))
        graph_channel = self.engine.parts.channels["graph"]
        assert isinstance(graph_channel, GraphChannel)
        graph = self._search("graph", p.cq, lambda: graph_channel.search(p.cq, self.memo))
        assert isinstance(graph, GraphMatches)
        return QueryScores(tfidf, bm25, dense, graph, p.cq.item, p.understanding)

    def _entry_channel(self, name: str, cq: ChannelQuery) -> ChannelArrays:
        dense = self.engine.dense
        if name == "dense" and cq.item in self.near and isinstance(dense, DenseChannel):
            arrays = self._search(name, cq, lambda: dense.search_near(cq, self.near[cq.item]))
        else:
            arrays = self._search(name, cq, lambda: self.engine._search(name, cq))
        assert isinstance(arrays, ChannelArrays)
        return arrays

    def _search(
        self, name: str, cq: ChannelQuery, search: Callable[[], ChannelArrays | GraphMatches]
    ) -> ChannelArrays | GraphMatches:
        key = (name, CHANNEL_INPUTS[name](cq))
        answer = self.answers.get(key)
        if answer is None:
            answer = self.answers[key] = search()
        return answer


def match_many(
    engine: Recommender,
    queries: Sequence[MatchQuery],
    evidence: Sequence[QueryEvidence | None] | None = None,
) -> list[list[FirmMatch] | RecommenderError]:
    """See the module docstring: ``engine.match(q)`` for each of ``queries``, in their order; a
    query's error (invalid, no region for its scope) in its slot. ``evidence``: each query's, when
    this engine holds one shard of the corpus (``engine.match(q, evidence=e)``)."""
    answers: list[list[FirmMatch] | RecommenderError] = [[] for _ in queries]
    planned: list[_Planned] = []
    for slot, query in enumerate(queries):
        e = evidence[slot] if evidence is not None else None
        try:
            k = engine._validate_match(query)
            u = engine.understand(query.text, query.description)
        except RecommenderError as exc:
            answers[slot] = exc
            continue
        listed = None if e is None else e.item_listed[query.scope]
        planned.append(_Planned(slot, query, k, u, engine._channel_query(query, u, e), listed))
    near, memo = _nearest_texts(engine, planned), GraphMemo()
    firms: dict[int, FirmDoc] = {}  # firm rows decoded for an answer (a FirmDoc is frozen)
    # One item at a time (threads over both cores were no faster, measured on this 2-core machine)
    for _, group in groupby(sorted(planned, key=_Planned.order), key=lambda p: p.cq.item):
        searches = _ItemSearches(engine, near, memo)
        memo.items.clear()  # (an item's own matches: no later item reads them)
        ranked: dict[Hashable, list[FirmMatch]] = {}
        for p in group:
            key = p.ranking_key()
            same = ranked.get(key)
            if same is None:
                q = p.query  # engine._rank_match, with the batch's decoded firms
                answers[p.slot] = ranked[key] = engine.ranking.rank(
                    searches.scores(p), engine.filters.mask(q, q.scope), p.k, q,
                    boost_smes=q.scope is Scope.INSIDE, item_listed=p.item_listed, firms=firms,
                )  # fmt: skip
            else:  # a copy of each match: an answer is the caller's to change
                answers[p.slot] = [_copy(m) for m in same]
    return answers


def _nearest_texts(engine: Recommender, planned: list[_Planned]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The dense channel's hits of every item of the batch, its items encoded and searched
    together (:meth:`DenseChannel.nearest`); none when the channel is off."""
    dense = engine.dense
    if not isinstance(dense, DenseChannel) or "dense" not in engine.config.channels:
        return {}
    items = list(dict.fromkeys(p.cq.item for p in planned))
    return dict(zip(items, dense.nearest(items, dense.search_k), strict=True))


def _copy(m: FirmMatch) -> FirmMatch:
    return replace(
        m,
        matched_products=list(m.matched_products),
        channel_scores=dict(m.channel_scores),
        reasons=list(m.reasons),
    )
