"""Merging the shards' answers into the answer one engine over all firms would give.

Every feature the ranker scores a firm by is the firm's own (its channel similarities against
corpus-global statistics), so a firm's score does not depend on which shard holds it, and each
shard's top k after the relevance floor contains every firm of the global top k that it holds.
Two rules of the engine's ``_rank`` span shards and are redone here:

* the order: score, plus the SME bonus on local-supplier lists, then the firm's row — rows follow
  firm ids in a full build, so ties go to the smaller id;
* a text read with low confidence whose list the floor would empty shows its best few candidates,
  flagged. One shard may have relevant firms while another only has such guesses: globally the list
  is not empty, so the guesses are dropped; only when no shard has a relevant firm are the best few
  guesses of all shards shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recommender.corpus import FirmDoc, FirmMatch
from recommender.engine import LOW_CONFIDENCE_K
from recommender.explain import SME_SCALES, is_specialised


@dataclass(slots=True)
class ShardList:
    """One shard's top k of one list, and whether the floor had emptied it (its best few are
    shown as guesses instead)."""

    matches: list[FirmMatch]
    guessed: bool


def shard_list(matches: list[FirmMatch], floor: float) -> ShardList:
    """A shard's list as its engine returned it. Guesses are exactly the lists whose every firm
    scores under the floor (a relevant firm is never below it)."""
    if matches and hasattr(matches[0], "guessed"):  # the engine says so (recommender.merge)
        return ShardList(matches, any(m.guessed for m in matches))
    guessed = floor > 0 and bool(matches) and all(m.score < floor for m in matches)
    return ShardList(matches, guessed)


def sme_bonus(firm: FirmDoc) -> float:
    """The engine's bonus weight for a local supplier (``_FirmAttrs.boost``)."""
    return 1.0 if is_specialised(firm) else 0.5 if firm.scale in SME_SCALES else 0.0


def merge_lists(lists: Sequence[ShardList], k: int, *, sme_boost: float) -> list[FirmMatch]:
    """The global top ``k`` of the shards' lists (``sme_boost`` > 0 on local-supplier lists)."""
    relevant = [m for part in lists if not part.guessed for m in part.matches]
    if relevant:
        pool = relevant
    else:
        guesses = [m for part in lists if part.guessed for m in part.matches]
        guesses.sort(key=lambda m: (-getattr(m, "relevance", m.score), m.firm.id))
        pool = guesses[: min(k, LOW_CONFIDENCE_K)]
    pool.sort(key=lambda m: (-rank_score(m, sme_boost), m.firm.id))
    return pool[:k]


def rank_score(match: FirmMatch, sme_boost: float) -> float:
    """What the engine ordered the list by: ``FirmMatch.rank_score`` (unrounded) where the engine
    sets it, else the rounded score plus the SME bonus."""
    exact = getattr(match, "rank_score", None)
    return float(exact) if exact is not None else match.score + sme_boost * sme_bonus(match.firm)
