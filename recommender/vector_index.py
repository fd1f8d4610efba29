"""FAISS vector index, inner product on L2-normalised vectors, int64 ids.

One class, layouts chosen by size (:func:`make_index`):

* ``flat``: ``IndexIDMap2(IndexFlatIP)`` — exact; used up to ``ann_threshold`` vectors;
* ``hnsw``: ``IndexHNSWFlat`` (M = 32, efConstruction = 40, efSearch = 128) above it. Measured on
  the 100k-firm synthetic corpus (356k distinct entry texts, bench/latency_engine.py):
  recall@10 against exact search 0.99 at 0.2 ms a query; IVF reached only 0.97 even probing 20%
  of its lists, because bag-of-character embeddings do not cluster tightly. HNSW ids are
  positions, so vectors must be added with consecutive ids (the dense channel's text ids are),
  and it cannot remove vectors (the dense channel never needs to: removed entries are masked).
* ``ivf``: ``IndexIVFFlat`` (spherical k-means, ``nlist ≈ sqrt(n)``), removable by id; kept for
  callers that need removal, not used by default.

All support ``add``, ``search`` and save / load to one file; flat and ivf also ``remove``.
"""

from __future__ import annotations

import math
from pathlib import Path

import faiss
import numpy as np

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 128
IVF_NPROBE_FRACTION = 1 / 8


class FaissIndex:
    def __init__(self, index: faiss.Index, kind: str, dim: int, *, mapped: bool = False) -> None:
        self.index = index
        self.kind = kind
        self.dim = dim
        # Loaded with IO_FLAG_MMAP_IFC: vectors and links are views of the file (read-only
        # pages shared by every worker on the host); the first add copies them into memory.
        self.mapped = mapped

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @classmethod
    def flat(cls, dim: int) -> FaissIndex:
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), "flat", dim)

    @classmethod
    def hnsw(
        cls,
        dim: int,
        m: int = HNSW_M,
        ef_construction: int = HNSW_EF_CONSTRUCTION,
        ef_search: int = HNSW_EF_SEARCH,
    ) -> FaissIndex:
        index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.hnsw.efSearch = ef_search
        return cls(index, "hnsw", dim)

    @classmethod
    def ivf(cls, train: np.ndarray, dim: int, nlist: int | None = None, seed: int = 0) -> FaissIndex:
        n = len(train)
        nlist = nlist or int(min(4096, max(16, math.sqrt(n))))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = train if n <= 48 * nlist else train[rng.choice(n, 48 * nlist, replace=False)]
        index.cp.seed = seed
        index.cp.niter = 10
        index.cp.spherical = True
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        index.nprobe = max(8, round(nlist * IVF_NPROBE_FRACTION))
        return cls(index, "ivf", dim)

    @property
    def search_effort(self) -> int:
        """nprobe (ivf) or efSearch (hnsw); 0 for exact search."""
        if self.kind == "ivf":
            return int(self.index.nprobe)  # type: ignore[attr-defined]
        if self.kind == "hnsw":
            return int(self.index.hnsw.efSearch)  # type: ignore[attr-defined]
        return 0

    @search_effort.setter
    def search_effort(self, value: int) -> None:
        if self.kind == "ivf":
            self.index.nprobe = int(value)  # type: ignore[attr-defined]
        elif self.kind == "hnsw":
            self.index.hnsw.efSearch = int(value)  # type: ignore[attr-defined]

    def _own(self) -> None:
        """Copies a memory-mapped index into memory (FAISS aborts the process on a write to a
        viewed vector; a clone would still view the file, a round trip through bytes does not)."""
        if self.mapped:
            effort = self.search_effort
            self.index = faiss.deserialize_index(faiss.serialize_index(self.index))
            self.search_effort = effort
            self.mapped = False

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        if not len(ids):
            return
        self._own()
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.kind == "hnsw":
            if not np.array_equal(ids, np.arange(self.ntotal, self.ntotal + len(ids))):
                raise ValueError("an hnsw index takes consecutive ids from ntotal")
            self.index.add(x)
        else:
            self.index.add_with_ids(x, np.ascontiguousarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        if not len(ids):
            return
        if self.kind == "hnsw":
            raise NotImplementedError("an hnsw index cannot remove vectors; mask them instead")
        self._own()
        self.index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))  # type: ignore[arg-type]

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self.ntotal)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        scores, ids = self.index.search(q, k)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)

    def search_many(self, queries: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`search` for each row of ``queries`` in one FAISS call (its threads split the
        queries; each query's answer is the one :meth:`search` gives it alone)."""
        k = min(k, self.ntotal)
        if k <= 0 or not len(queries):
            return [(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)) for _ in range(len(queries))]
        scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        out = []
        for row_ids, row_scores in zip(ids, scores, strict=True):
            keep = row_ids >= 0
            out.append((row_ids[keep].astype(np.int64), row_scores[keep].astype(np.float32)))
        return out

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, *, mmap: bool = True) -> FaissIndex:
        """``mmap``: map the file (zero copy) instead of reading it into memory; the index files
        are never written in place (a save writes a new directory), so the mapping stays valid."""
        flags = faiss.IO_FLAG_MMAP_IFC if mmap else 0
        index = faiss.read_index(str(path), flags)  # already the concrete type (do not downcast:
        # the downcast wrapper does not own the index, which is freed with the original wrapper)
        if isinstance(index, faiss.IndexHNSW):
            kind = "hnsw"
        elif isinstance(index, faiss.IndexIVF):
            kind = "ivf"
        else:
            kind = "flat"
        return cls(index, kind, int(index.d), mapped=mmap)


def make_index(vectors: np.ndarray, ids: np.ndarray, ann_threshold: int) -> FaissIndex:
    """Exact up to ``ann_threshold`` vectors, HNSW above; filled with ``vectors``/``ids``."""
    dim = vectors.shape[1]
    index = FaissIndex.flat(dim) if len(ids) <= ann_threshold else FaissIndex.hnsw(dim)
    index.add(vectors, ids)
    return index
