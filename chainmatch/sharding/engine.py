"""What a search sees of the sharded index: the few things callers ask of a
:class:`~recommender.engine.Recommender`, answered by fanning out to the shards and merging.

Every shard is asked in the state the coordinator expects (:mod:`chainmatch.sharding.state`); one
in another state is caught up and asked again; one that cannot answer makes the whole call a
:class:`ShardUnavailable` (503) — a list missing a shard's firms is never presented as complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chainmatch.errors import ShardUnavailable
from chainmatch.sharding import cluster
from chainmatch.sharding.merge import ShardList, merge_lists
from chainmatch.sharding.placement import shard_of
from chainmatch.sharding.shard import evidence_supported
from recommender.aliases import Alias
from recommender.corpus import FirmDoc, FirmMatch, MatchQuery, Scope
from recommender.engine import EngineConfig
from recommender.errors import RecommenderError
from recommender.understanding import Understanding

if TYPE_CHECKING:
    from chainmatch.sharding.service import ShardedIndexService

_UNDERSTOOD_MAX = 4096
_QUERIES_PER_TIMEOUT = 16


def _refusal(answers: Sequence[Any]) -> RecommenderError | None:
    """The engine's error for a query, if a shard refused it (every shard refuses alike)."""
    return next((a for a in answers if isinstance(a, RecommenderError)), None)


class AliasView:
    """``engine.aliases`` as the alias listing reads it: the entries in effect."""

    def __init__(self, entries: list[Alias]) -> None:
        self._entries = entries

    def entries(self, source: str | None = None) -> list[Alias]:
        return [a for a in self._entries if source is None or a.source == source]


class ShardedEngine:
    def __init__(self, service: ShardedIndexService) -> None:
        self.service = service
        self.config: EngineConfig = service.config
        # Readings of recent texts: understanding is the same on every shard (corpus-global
        # vocabulary and aliases), so it is asked of one and kept until the corpus changes.
        self._understood: dict[tuple[str, str | None], Understanding] = {}

    def forget(self) -> None:
        self._understood.clear()

    # -- fan-out --------------------------------------------------------------------------------
    def _ask(
        self, shards: list[int], method: str, *args: Any, timeout: float = cluster.QUERY_TIMEOUT_S
    ) -> list[Any]:
        """Each listed shard's answer, every one in the target state."""
        service = self.service
        target = service.target
        refs = [service.actors[i].call.remote(target, method, args) for i in shards]
        replies = cluster.fetch(refs, timeout)
        values = []
        for i, (state, value) in zip(shards, replies, strict=True):
            if state != target:
                service.sync_shard(i)
                state, value = cluster.fetch(service.actors[i].call.remote(target, method, args), timeout)
                if state != target:
                    raise cluster.unavailable(f"分片 {i} 正在更新，请稍后重试 (shard {i} is catching up)")
            values.append(value)
        return values

    def _all(self) -> list[int]:
        return list(range(self.service.n_shards))

    # -- what callers use ---------------------------------------------------------------------
    def _evidence(self, query: MatchQuery, scopes: tuple[Scope, ...]) -> Any:
        """Round one: the query's corpus-wide facts, merged from every shard's part (None where
        the engine has no such round: each shard then judges by its own firms)."""
        if not evidence_supported():
            return None
        from recommender import merge

        return merge.merge_evidence(self._ask(self._all(), "evidence", query, scopes))

    def recommend(self, query: MatchQuery) -> tuple[list[FirmMatch], list[FirmMatch]]:
        evidence = self._evidence(query, (Scope.OUTSIDE, Scope.INSIDE))
        parts: list[tuple[ShardList, ShardList]] = self._ask(self._all(), "recommend", query, evidence)
        k = min(query.k, self.config.max_k)
        outside = merge_lists([p[0] for p in parts], k, sme_boost=0.0)
        inside = merge_lists([p[1] for p in parts], k, sme_boost=self.config.sme_boost)
        return outside, inside

    def match(self, query: MatchQuery) -> list[FirmMatch]:
        evidence = self._evidence(query, (query.scope,))
        parts: list[ShardList] = self._ask(self._all(), "match", query, evidence)
        boost = self.config.sme_boost if query.scope is Scope.INSIDE else 0.0
        return merge_lists(parts, min(query.k, self.config.max_k), sme_boost=boost)

    def match_many(self, queries: Sequence[MatchQuery]) -> list[list[FirmMatch] | RecommenderError]:
        """:meth:`match` of each query, its two rounds asked of every shard once for all of them
        (two fan-outs a batch instead of two a query); a query the engine refuses gets its error."""
        out: list[list[FirmMatch] | RecommenderError | None] = [None] * len(queries)
        # a batch's round waits for its share of answers as a single query waits for one
        timeout = cluster.QUERY_TIMEOUT_S * max(1, len(queries) // _QUERIES_PER_TIMEOUT)
        evidence: list[Any] = [None] * len(queries)
        if queries and evidence_supported():
            from recommender import merge

            asked = [(q, (q.scope,)) for q in queries]
            parts = self._ask(self._all(), "each", "evidence", asked, timeout=timeout)
            for n, shard_parts in enumerate(zip(*parts, strict=True)):
                refused = _refusal(shard_parts)
                out[n] = refused
                evidence[n] = None if refused else merge.merge_evidence(shard_parts)
        todo = [n for n, answer in enumerate(out) if answer is None]
        if todo:  # each shard answers the chunk as a batch (recommender.batch), with the evidence
            asked_now = [queries[n] for n in todo], [evidence[n] for n in todo]
            lists = self._ask(self._all(), "match_many", *asked_now, timeout=timeout)
            for n, shard_lists in zip(todo, zip(*lists, strict=True), strict=True):
                q = queries[n]
                boost = self.config.sme_boost if q.scope is Scope.INSIDE else 0.0
                refused = _refusal(shard_lists)
                out[n] = refused or merge_lists(shard_lists, min(q.k, self.config.max_k), sme_boost=boost)
        return [answer if answer is not None else [] for answer in out]

    def understand(self, text: str, description: str | None = None) -> Understanding:
        key = (text, description)
        cached = self._understood.get(key)
        if cached is None:
            cached = self._first_answer("understand", text, description)
            if len(self._understood) >= _UNDERSTOOD_MAX:
                self._understood.clear()
            self._understood[key] = cached
        return cached

    def get_firm(self, firm_id: str) -> FirmDoc | None:
        firm: FirmDoc | None = self._ask([shard_of(firm_id, self.service.n_shards)], "get_firm", firm_id)[0]
        return firm

    def product_makers(self, product: str) -> dict[str, float | None]:
        makers: dict[str, float | None] = {}
        for part in self._ask(self._all(), "product_makers", product):
            makers.update(part)
        return makers

    @property
    def n_firms(self) -> int:
        return sum(self._ask(self._all(), "n_firms"))

    @property
    def aliases(self) -> AliasView:
        return AliasView(self._first_answer("alias_entries"))

    @property
    def manifest(self) -> dict[str, Any]:
        target = self.service.target
        return {"shards": self.service.n_shards, "build_id": target.build_id if target else None}

    def _first_answer(self, method: str, *args: Any) -> Any:
        """An answer every shard would give alike, from the first one that answers."""
        for i in self._all():
            try:
                return self._ask([i], method, *args)[0]
            except ShardUnavailable:
                if i == self.service.n_shards - 1:
                    raise
        raise cluster.unavailable("no shard")  # unreachable: n_shards >= 1
