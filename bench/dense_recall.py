"""Recall of the dense channel's HNSW graph against exact search, for one or more saved indexes.

    python bench/scale.py recall --index-dir bench/out/scale/idx_100k_sq8 --peer-dir bench/out/scale/idx_100k

Each index's own encoder reads the chainkg dev gaps' items and their free-text rewrites (distinct
texts, as the dense channel reads ``item``); each is searched for the channel's ``k`` (2 × the
candidate pool: 600) in the index's graph, one query at a time on one thread, and exactly over the
same float32 vectors (the quantised graph's saved vectors, or the float graph's own). Reported:
recall@10 and recall@k (share of the exact top-k found), the share of queries whose top-10 ids
come in the exact order, the largest error of a returned similarity, the graph's file size and
the ms a search takes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np


def _queries() -> list[str]:
    from bench._data import chainkg_dir

    texts: list[str] = []
    for name in ("gaps_dev.jsonl", "gaps_dev_freetext.jsonl"):
        with open(chainkg_dir() / name, encoding="utf-8") as fh:
            for line in fh:
                g = json.loads(line)
                texts += [g["item"], g.get("text") or g["item"]]
    return list(dict.fromkeys(texts))


def _vectors(index: Any) -> np.ndarray:
    if index.exact is not None:
        return index.exact.rows(np.arange(index.ntotal, dtype=np.int64))
    return np.asarray(index.index.storage.reconstruct_n(0, index.ntotal), dtype=np.float32)


def recall_of(directory: Path, k: int) -> dict[str, Any]:
    from recommender.encoders import load_encoder
    from recommender.vector_index import FaissIndex

    dense = directory / "dense"
    encoder = load_encoder(str(dense / "encoder"), None, None, "cpu", name="static")
    index = FaissIndex.load(dense / "index.faiss")
    q = encoder.encode_queries(_queries())
    q = q[np.any(q, axis=1)]
    faiss.omp_set_num_threads(1)
    t = time.perf_counter()
    hits = [index.search(row, k) for row in q]
    ms = (time.perf_counter() - t) / len(q) * 1e3
    vectors = _vectors(index)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    faiss.omp_set_num_threads(2)
    _, truth = flat.search(q, k)
    at10 = np.mean(
        [len(set(h[0][:10].tolist()) & set(t[:10].tolist())) / 10 for h, t in zip(hits, truth, strict=True)]
    )
    at_k = np.mean([len(set(h[0].tolist()) & set(t.tolist())) / k for h, t in zip(hits, truth, strict=True)])
    order = np.mean([h[0][:10].tolist() == t[:10].tolist() for h, t in zip(hits, truth, strict=True)])
    error = max(float(np.max(np.abs(vectors[h[0]] @ row - h[1]))) for h, row in zip(hits, q, strict=True))
    return {
        "index_dir": str(directory),
        "graph": type(index.index).__name__,
        "vectors": int(index.ntotal),
        "queries": len(q),
        "k": k,
        "recall_at_10": round(float(at10), 4),
        f"recall_at_{k}": round(float(at_k), 4),
        "top10_in_exact_order": round(float(order), 4),
        "max_similarity_error": error,
        "graph_file_mb": round((dense / "index.faiss").stat().st_size / 1e6, 1),
        "search_ms": round(ms, 3),
    }


def run(directories: list[Path]) -> dict[str, Any]:
    from recommender.config import EngineConfig

    k = 2 * EngineConfig().candidate_pool  # the dense channel's search_k
    return {"runs": [recall_of(d, k) for d in directories]}
