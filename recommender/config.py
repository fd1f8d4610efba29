"""The engine's configuration and the constants its parts share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .aliases import DEFAULT_ALIAS_DIR
from .ranker import RERANK_POOL

ALL_CHANNELS = ("tfidf", "bm25", "dense", "graph")
CHANNEL_BITS = {"tfidf": 1, "bm25": 2, "dense": 4, "graph": 8}
# A list the relevance floor would empty for a text read with low confidence shows this many of
# its best candidates, flagged, instead (an empty list must mean "nobody makes it").
LOW_CONFIDENCE_K = 5
LEXICAL_TOP = 20_000  # best entries a lexical channel passes on (bounds latency at scale)


@dataclass
class EngineConfig:
    encoder: str = "static"  # "static" = corpus-fitted default; else a sentence-transformers name/path
    query_prompt: str | None = None
    passage_prompt: str | None = None
    ranker_path: Path | None = (
        None  # None = shipped artifact in recommender/artifacts if present, else fusion
    )
    # vectors (distinct entry texts) above which FAISS HNSW replaces exact search
    ann_threshold: int = 200_000
    candidate_pool: int = 300
    max_k: int = 100
    rerank_pool: int = RERANK_POOL  # candidates (best by fusion) the trained ranker scores
    # --- additions (all optional) ---
    channels: tuple[str, ...] = ALL_CHANNELS  # subset of ALL_CHANNELS, for ablations
    use_ranker: bool = True  # False = always the fusion fallback
    sme_boost: float = 0.04  # score bonus (0..1 scale) for SMEs / 专精特新 among local suppliers
    # Relevance floor on the ranker's 0..1 score: below it a firm is padding, not a supplier.
    # 0.10 keeps 99.5% of relevant top-10 firms and drops 62% of irrelevant ones on chainkg's dev
    # gaps (bench/score_floor.py, out-of-fold scores).
    min_score: float = 0.10
    static_dim: int = 128  # dimension of the corpus-fitted static encoder
    # Shipped alias tables (curated.tsv, cedict.tsv); None = no shipped aliases.
    alias_dir: Path | None = DEFAULT_ALIAS_DIR
    device: str = "cpu"

    def check_channels(self) -> None:
        unknown = set(self.channels) - set(ALL_CHANNELS)
        if unknown:
            raise ValueError(f"unknown channels {sorted(unknown)}")
