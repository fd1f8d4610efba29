"""FAISS vector index, inner product on L2-normalised vectors, int64 ids.

One class, layouts chosen by size (:func:`make_index`):

* ``flat``: ``IndexIDMap2(IndexFlatIP)`` — exact; used up to ``ann_threshold`` vectors;
* ``hnsw``: an HNSW graph (M = 32, efConstruction = 40, efSearch = 1000) above it, walked over
  8-bit scalar-quantised codes (``IndexHNSWSQ``) whose hits are scored again exactly against the
  float32 vectors, read from their own file (:mod:`recommender.exact_vectors`): the similarities
  returned are exact, and the graph's file, which a serving worker keeps resident, is half that of
  a float32 graph (100k synthetic firms, 355k texts: 142 vs 279 MB). The dense channel asks for
  k = 600 texts, so recall is measured at 600 (bench/dense_recall.py, chainkg dev queries): with
  efSearch 128 (FAISS then searches with ef = k = 600) both the float graph and this one found
  0.750 of the exact 600 (0.954 @10), and 27% of the engine's top-10 lists differed from those of
  exact search; efSearch 1000 finds 0.974 (0.996 @10) for ~1.4 ms more a query. Graphs saved
  before (``IndexHNSWFlat``) still load, and search with the same efSearch. IVF reached only 0.97
  recall@10 even probing 20% of its lists, because bag-of-character embeddings do not cluster
  tightly. HNSW ids are positions, so vectors must be added with consecutive ids (the dense
  channel's text ids are), and it cannot remove vectors (the dense channel never needs to:
  removed entries are masked).
* ``ivf``: ``IndexIVFFlat`` (spherical k-means, ``nlist ≈ sqrt(n)``), removable by id; kept for
  callers that need removal, not used by default.

All support ``add``, ``search`` and save / load to one file; flat and ivf also ``remove``.

Vectors added to a built HNSW graph go into a *delta segment* beside it (as Lucene and Milvus
do): an exact ``IndexFlatIP`` searched with the graph, the two answers merged by similarity. An
HNSW insertion costs far more than a flat append, and the first write to a memory-mapped graph
would copy all of it into memory; exact search over the delta only adds to recall. The delta is
folded into the graph when the index is saved (so the file is the plain graph it always was) or
when it outgrows ``DELTA_MAX`` vectors.
"""

from __future__ import annotations

import math
from pathlib import Path

import faiss
import numpy as np

from .exact_vectors import ExactVectors, vectors_path

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 1000  # a graph's search effort, whatever its file says (module docstring)
IVF_NPROBE_FRACTION = 1 / 8
# Vectors in an HNSW index's delta segment before it is folded into the graph: exact search over
# 50k vectors of dim 128 costs ~1 ms of one core a query, about what the graph costs.
DELTA_MAX = 50_000

Hits = tuple[np.ndarray, np.ndarray]  # (ids, similarities), best first


def _no_hits() -> Hits:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)


def _hits(ids: np.ndarray, scores: np.ndarray, offset: int = 0) -> Hits:
    keep = ids >= 0
    return ids[keep].astype(np.int64) + offset, scores[keep].astype(np.float32)


def _merge(a: Hits, b: Hits, k: int) -> Hits:
    """The ``k`` best of two answers, by similarity (ties: ``a``'s first, each in its order)."""
    if not len(b[0]):
        return a
    ids, scores = np.concatenate([a[0], b[0]]), np.concatenate([a[1], b[1]])
    order = np.argsort(-scores, kind="stable")[:k]
    return ids[order], scores[order]


def _rerank(hits: Hits, query: np.ndarray, exact: ExactVectors) -> Hits:
    """``hits`` scored exactly against ``exact``, best first (ties: lower id first). FAISS's own
    inner product, so that a similarity is the very float exact search and a float graph give
    (numpy's differs in the last bits, which reorders ties among firms downstream)."""
    ids = hits[0]
    if not len(ids):
        return hits
    rows = exact.rows(ids)
    q = np.ascontiguousarray(query, dtype=np.float32)
    sims = np.empty(len(ids), dtype=np.float32)
    inner_products = faiss.fvec_inner_products_ny  # type: ignore[attr-defined]  # (not in the stubs)
    inner_products(faiss.swig_ptr(sims), faiss.swig_ptr(q), faiss.swig_ptr(rows), len(q), len(ids))
    order = np.lexsort((ids, -sims))
    return ids[order], sims[order].astype(np.float32)


class FaissIndex:
    def __init__(
        self,
        index: faiss.Index,
        kind: str,
        dim: int,
        *,
        mapped: bool = False,
        exact: ExactVectors | None = None,
    ) -> None:
        self.index = index
        self.kind = kind
        self.dim = dim
        # a quantised graph's float32 vectors, which score its hits (None: the graph's own
        # vectors are float32, or the index is flat / ivf)
        self.exact = exact
        # Loaded with IO_FLAG_MMAP_IFC: vectors and links are views of the file (read-only
        # pages shared by every worker on the host); the first write copies them into memory
        # (an hnsw index writes only when its delta is folded in).
        self.mapped = mapped
        # hnsw: vectors added since the graph was built, ids ntotal(graph) + position (see the
        # module docstring); None while empty.
        self.delta: faiss.IndexFlatIP | None = None

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal) + self.n_delta

    @property
    def n_delta(self) -> int:
        return 0 if self.delta is None else int(self.delta.ntotal)

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
        *,
        quantized: bool = True,
    ) -> FaissIndex:
        """``quantized``: walked over 8-bit codes, hits scored exactly (the default); else the
        float32 ``IndexHNSWFlat`` of indexes saved before."""
        index: faiss.IndexHNSW
        if quantized:  # (the SWIG signature names the ScalarQuantizer; its QuantizerType is meant)
            qt = faiss.ScalarQuantizer.QT_8bit
            index = faiss.IndexHNSWSQ(dim, qt, m, faiss.METRIC_INNER_PRODUCT)  # type: ignore[arg-type]
        else:
            index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.hnsw.efSearch = ef_search
        return cls(index, "hnsw", dim, exact=ExactVectors(dim) if quantized else None)

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
        """Adds ``vectors`` under ``ids``; to a built hnsw graph's delta segment (an empty graph,
        as :func:`make_index` fills it, takes them into the graph)."""
        if not len(ids):
            return
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.kind == "hnsw":
            if not np.array_equal(ids, np.arange(self.ntotal, self.ntotal + len(ids))):
                raise ValueError("an hnsw index takes consecutive ids from ntotal")
            if not self.index.ntotal:
                self._own()
                if not self.index.is_trained:  # the quantiser's per-dimension ranges
                    self.index.train(x)
                self.index.add(x)
                if self.exact is not None:
                    self.exact.append(x)
                return
            if self.delta is None:
                self.delta = faiss.IndexFlatIP(self.dim)
            self.delta.add(x)
            if self.n_delta > DELTA_MAX:
                self.fold()
            return
        self._own()
        self.index.add_with_ids(x, np.ascontiguousarray(ids, dtype=np.int64))

    def fold(self) -> None:
        """Inserts the delta segment's vectors into the hnsw graph (copying a mapped graph into
        memory first); their ids stay the same, the graph's positions continuing its own."""
        if self.delta is None:
            return
        vectors = np.ascontiguousarray(self.delta.reconstruct_n(0, self.delta.ntotal), dtype=np.float32)
        self._own()
        self.index.add(vectors)  # codes outside the trained ranges are clipped; the scores stay exact
        if self.exact is not None:
            self.exact.append(vectors)
        self.delta = None

    def remove(self, ids: np.ndarray) -> None:
        if not len(ids):
            return
        if self.kind == "hnsw":
            raise NotImplementedError("an hnsw index cannot remove vectors; mask them instead")
        self._own()
        self.index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))  # type: ignore[arg-type]

    def search(self, query: np.ndarray, k: int) -> Hits:
        """The ``k`` nearest ids and their similarities, best first (graph and delta merged)."""
        return self.search_many(query.reshape(1, -1), k)[0]

    def search_many(self, queries: np.ndarray, k: int) -> list[Hits]:
        """:meth:`search` for each row of ``queries`` in one FAISS call (its threads split the
        queries; each query's answer is the one :meth:`search` gives it alone)."""
        k = min(k, self.ntotal)
        if k <= 0 or not len(queries):
            return [_no_hits() for _ in range(len(queries))]
        x = np.ascontiguousarray(queries, dtype=np.float32)
        out: list[Hits] = []
        n_graph = int(self.index.ntotal)
        if n_graph:
            scores, ids = self.index.search(x, min(k, n_graph))
            out = [_hits(i, s) for i, s in zip(ids, scores, strict=True)]
            if self.exact is not None:
                out = [_rerank(hits, q, self.exact) for hits, q in zip(out, x, strict=True)]
        else:
            out = [_no_hits() for _ in range(len(x))]
        if self.delta is not None:
            scores, ids = self.delta.search(x, min(k, self.n_delta))
            out = [_merge(hits, _hits(i, s, n_graph), k) for hits, i, s in zip(out, ids, scores, strict=True)]
        return out

    def save(self, path: Path) -> None:
        """One FAISS file (and a quantised graph's vectors beside it, :func:`vectors_path`); an
        hnsw index's delta is folded into the graph first."""
        self.fold()
        if self.exact is not None:
            self.exact.save(vectors_path(path))
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, *, mmap: bool = True) -> FaissIndex:
        """``mmap``: map the file (zero copy) instead of reading it into memory; the index files
        are never written in place (a save writes a new directory), so the mapping stays valid."""
        flags = faiss.IO_FLAG_MMAP_IFC if mmap else 0
        index = faiss.read_index(str(path), flags)  # already the concrete type (do not downcast:
        # the downcast wrapper does not own the index, which is freed with the original wrapper)
        exact = None
        if isinstance(index, faiss.IndexHNSW):
            kind = "hnsw"
            if isinstance(index, faiss.IndexHNSWSQ):
                exact = ExactVectors(int(index.d), path=vectors_path(path))
                if len(exact) != index.ntotal:
                    raise ValueError(
                        f"{path.name}: {index.ntotal} vectors in the graph, {len(exact)} beside it"
                    )
            index.hnsw.efSearch = HNSW_EF_SEARCH
        elif isinstance(index, faiss.IndexIVF):
            kind = "ivf"
        else:
            kind = "flat"
        return cls(index, kind, int(index.d), mapped=mmap, exact=exact)


def make_index(vectors: np.ndarray, ids: np.ndarray, ann_threshold: int) -> FaissIndex:
    """Exact up to ``ann_threshold`` vectors, HNSW above; filled with ``vectors``/``ids``."""
    dim = vectors.shape[1]
    index = FaissIndex.flat(dim) if len(ids) <= ann_threshold else FaissIndex.hnsw(dim)
    index.add(vectors, ids)
    return index
