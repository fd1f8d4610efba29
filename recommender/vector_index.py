"""FAISS vector index over entry ids (int64), inner product on L2-normalised vectors.

One class, two layouts chosen by size (:func:`make_index`):

* ``flat``: ``IndexIDMap2(IndexFlatIP)`` — exact; used up to ``ann_threshold`` entries;
* ``ivf``: ``IndexIVFFlat`` (inner product) with ``nlist ≈ sqrt(n)`` lists and ``nprobe``
  chosen so that recall@10 against exact search stays ≥ 0.98 (bench/latency_engine.py measures
  it). IVF rather than HNSW because it supports removal by id, which incremental updates need.

Both support ``add`` with ids, ``remove`` by ids, ``search``, and save / load to one file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np


class VectorIndex(Protocol):
    kind: str
    dim: int

    @property
    def ntotal(self) -> int: ...

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray) -> None: ...

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def save(self, path: Path) -> None: ...


DEFAULT_NPROBE_FRACTION = 1 / 24  # of nlist; bench checks recall@10 >= 0.98


class FaissIndex:
    def __init__(self, index: faiss.Index, kind: str, dim: int) -> None:
        self.index = index
        self.kind = kind
        self.dim = dim

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @classmethod
    def flat(cls, dim: int) -> FaissIndex:
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), "flat", dim)

    @classmethod
    def ivf(
        cls, train: np.ndarray, dim: int, nlist: int | None = None, nprobe: int | None = None, seed: int = 0
    ) -> FaissIndex:
        n = len(train)
        nlist = nlist or int(min(4096, max(16, math.sqrt(n))))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = train if n <= 48 * nlist else train[rng.choice(n, 48 * nlist, replace=False)]
        index.cp.seed = seed
        index.cp.niter = 10
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        index.nprobe = nprobe or max(8, round(nlist * DEFAULT_NPROBE_FRACTION))
        return cls(index, "ivf", dim)

    @property
    def nprobe(self) -> int:
        return int(getattr(self.index, "nprobe", 0))

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if self.kind == "ivf":
            self.index.nprobe = int(value)  # type: ignore[attr-defined]

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64)
            )

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self.index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))  # type: ignore[arg-type]

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self.ntotal)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        scores, ids = self.index.search(q, k)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> FaissIndex:
        index = faiss.read_index(str(path))
        kind = "ivf" if isinstance(faiss.downcast_index(index), faiss.IndexIVF) else "flat"
        return cls(faiss.downcast_index(index) if kind == "ivf" else index, kind, int(index.d))


def make_index(vectors: np.ndarray, ids: np.ndarray, ann_threshold: int) -> FaissIndex:
    """Exact below ``ann_threshold`` entries, IVF above; filled with ``vectors``/``ids``."""
    dim = vectors.shape[1]
    index = FaissIndex.flat(dim) if len(ids) <= ann_threshold else FaissIndex.ivf(vectors, dim)
    index.add(vectors, ids)
    return index
