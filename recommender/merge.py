"""One engine's answer from its shards' answers (issue 11).

Shards are engines built with the same corpus statistics (``Recommender.build(part, [], config,
statistics=s)``), each holding a part of the firms. A sharded query takes two rounds:

1. every shard reports its :class:`ShardEvidence` (``Recommender.evidence``): what, of the facts one
   engine takes over the whole corpus, it sees — whether an eligible firm lists the item or a
   narrower product (the list-level ``graph_q`` feature), the dense channel's nearest texts, the
   lexical channels' best entry scores; :func:`merge_evidence` makes the corpus's
   :class:`QueryEvidence` of them;
2. every shard answers with it (``match(q, evidence=e)`` / ``recommend(q, evidence=e)``): it then
   scores each of its firms exactly as one engine over all firms would (same channel scores, same
   features), and :func:`merge_answers` makes one list of the answers.

The list-level logic of the ranking that :func:`merge_answers` reproduces:

* the order: by ``rank_score`` (score plus the local suppliers' SME bonus) descending, ties to
  the firm indexed first. An engine built from the registry indexes firms in id order, so the
  merge key is ``(-match.rank_score, match.firm.id)``; after incremental upserts one engine puts a
  re-indexed firm last among equal scores, a merge still by id;
* the low-confidence fallback: when no firm reaches the relevance floor and the text was read with
  low confidence, the best few (``LOW_CONFIDENCE_K``, by score) are shown, flagged ``guessed``. A
  shard without a relevant firm answers its best few even when another shard has relevant ones;
  those are dropped, and when every shard guessed, the best few of all are kept.

Where a sharded answer can still differ from one engine's: the cut-offs on *firms* (each
channel's best ``candidate_pool`` firms, the ranker's ``rerank_pool`` best by fusion) are taken per
shard. A shard then scores a superset of the firms one engine scores (with the same scores), so a
merged list differs only where one engine's cut-off dropped a firm that would have ranked in the
top k. And entries tied exactly at a cut-off on entries (the ``LEXICAL_TOP``-th lexical score, the
dense channel's last nearest text) are all kept, where one engine keeps an arbitrary part of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .config import LEXICAL_TOP, LOW_CONFIDENCE_K
from .corpus import FirmMatch, Scope


@dataclass
class ShardEvidence:
    """One shard's part of a query's corpus-wide facts (picklable)."""

    item_listed: dict[Scope, bool]  # per scope asked: an eligible firm lists the item or narrower
    dense_texts: dict[str, float] = field(default_factory=dict)  # nearest texts -> similarity
    dense_k: int = 0  # how many nearest texts one engine reads
    lexical: dict[str, np.ndarray] = field(default_factory=dict)  # channel -> best entry scores


@dataclass(frozen=True)
class QueryEvidence:
    """A query's corpus-wide facts, merged from every shard's :class:`ShardEvidence`."""

    item_listed: dict[Scope, bool]
    floors: dict[str, float]  # channel -> the least score one engine's cut-off keeps


def merge_evidence(parts: Iterable[ShardEvidence]) -> QueryEvidence:
    parts = list(parts)
    scopes = {s for p in parts for s in p.item_listed}
    listed = {s: any(p.item_listed.get(s, False) for p in parts) for s in scopes}
    floors: dict[str, float] = {}
    texts: dict[str, float] = {}
    for p in parts:
        texts.update(p.dense_texts)  # a text shared by shards has one vector, one similarity
    k = max((p.dense_k for p in parts), default=0)
    if k and len(texts) >= k:
        floors["dense"] = sorted(texts.values(), reverse=True)[k - 1]
    for name in {n for p in parts for n in p.lexical}:
        values = np.concatenate([p.lexical[name] for p in parts if name in p.lexical])
        if len(values) > LEXICAL_TOP:
            floors[name] = float(np.partition(-values, LEXICAL_TOP - 1)[LEXICAL_TOP - 1] * -1)
    return QueryEvidence(listed, floors)


def merge_answers(answers: Iterable[list[FirmMatch]], k: int) -> list[FirmMatch]:
    """The top ``k`` of the shards' ``answers`` (each a list the shard answered with ``k``)."""
    every = [m for answer in answers for m in answer]
    if any(not m.guessed for m in every):
        every = [m for m in every if not m.guessed]
    else:
        every.sort(key=lambda m: (-m.relevance, m.firm.id))
        every = every[: min(k, LOW_CONFIDENCE_K)]
    every.sort(key=lambda m: (-m.rank_score, m.firm.id))
    return every[:k]
