"""Sparse lexical indexes: char n-gram TF-IDF (cosine) and Okapi BM25 over jieba words.

Both are one class, :class:`SparseLexicalIndex`, over a scipy sparse matrix with one row per
index entry (the engine's entry ids). Query scoring is a vectorised sparse mat-vec over the
query terms' columns only; no Python loop over documents.

Incremental updates: :meth:`add` appends a delta segment (vocabulary grows, document
frequencies are updated); removed rows are only masked (the entry table's alive mask), so
document frequencies of removed rows linger until the next rebuild — a small, documented drift
in IDF.

A *frozen* index (:meth:`SparseLexicalIndex.frozen`) weighs its rows with statistics fitted over a
whole corpus (:class:`LexicalStatistics`: vocabulary, document frequencies, average lengths) and
never updates them: every shard of a sharded corpus then scores an entry exactly as the unsharded
index does. Terms outside the fitted vocabulary are ignored, in entries and in queries alike.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .column_files import ColumnFiles, column_scores
from .text import split_parts

Analyzer = Callable[[str], Sequence[str]]  # analyses one white-space free part


# At most this many delta matrices beside the base (see ``add``).
_MAX_DELTAS = 8


@dataclass
class LexicalStatistics:
    """What a lexical index fits over a corpus (everything its weights depend on besides the entry)."""

    scheme: str
    k1: float
    b: float
    vocab: list[str]
    df: np.ndarray
    n_docs: int
    avgdl: dict[int, float]


class SparseLexicalIndex:
    """One sparse matrix (rows = entries), scheme ``"tfidf"`` (cosine, sublinear tf, smooth idf)
    or ``"bm25"`` (Okapi, k1/b; length normalised per entry *group*, e.g. product names vs
    profiles, so that short and long entries each use their own average length)."""

    def __init__(self, analyzer: Analyzer, scheme: str, *, k1: float = 1.2, b: float = 0.75) -> None:
        if scheme not in ("tfidf", "bm25"):
            raise ValueError(f"unknown lexical scheme {scheme!r}")
        self.analyzer = analyzer
        self.scheme = scheme
        self.k1 = k1
        self.b = b
        self.vocab: dict[str, int] = {}
        self.df = np.zeros(0, dtype=np.float64)
        self.n_docs = 0  # documents counted in df
        self.avgdl: dict[int, float] = {}
        self.base: sp.csc_matrix = sp.csc_matrix((0, 0), dtype=np.float32)
        self.deltas: list[sp.csc_matrix] = []
        self.base_files: ColumnFiles | None = None  # the files a loaded base is read from
        self.n_rows = 0
        self.is_frozen = False  # statistics fixed (see the module docstring)

    @classmethod
    def frozen(cls, analyzer: Analyzer, stats: LexicalStatistics) -> SparseLexicalIndex:
        """An empty index weighing rows with ``stats`` (fill it with :meth:`fit` / :meth:`add`)."""
        idx = cls(analyzer, stats.scheme, k1=stats.k1, b=stats.b)
        idx.vocab = {t: i for i, t in enumerate(stats.vocab)}
        idx.df = np.asarray(stats.df, dtype=np.float64)
        idx.n_docs = stats.n_docs
        idx.avgdl = dict(stats.avgdl)
        idx.base = sp.csc_matrix((0, len(idx.vocab)), dtype=np.float32)
        idx.is_frozen = True
        return idx

    def statistics(self) -> LexicalStatistics:
        return LexicalStatistics(
            self.scheme, self.k1, self.b, list(self.vocab), np.array(self.df), self.n_docs, dict(self.avgdl)
        )

    # ----------------------------------------------------------------------------- building
    def _tf(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Term counts of ``texts`` (entries x vocabulary); grows the vocabulary.

        Each distinct white-space separated *part* is analysed once; an entry's counts are the
        sum of its parts' (a sparse product), so a profile made of 15 product names costs no more
        than its parts.
        """
        part_ids: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for i, text in enumerate(texts):
            for part in split_parts(text):
                rows.append(i)
                cols.append(part_ids.setdefault(part, len(part_ids)))
        A = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(texts), len(part_ids))
        )
        # Each part's terms, one flat list; a term repeated in a part is summed by the matrix
        # (COO -> CSR), and new terms get columns in order of first appearance, as counted one by one.
        analysed = [self.analyzer(part) for part in part_ids]
        terms = list(itertools.chain.from_iterable(analysed))
        vocab = self.vocab
        if self.is_frozen:
            found = (vocab.get(t, -1) for t in terms)
        else:
            found = (vocab.setdefault(t, len(vocab)) for t in terms)
        term_cols = np.fromiter(found, dtype=np.int64, count=len(terms))
        owner = np.repeat(np.arange(len(analysed)), [len(a) for a in analysed])
        keep = term_cols >= 0
        U = sp.csr_matrix(
            (np.ones(int(keep.sum()), dtype=np.float32), (owner[keep], term_cols[keep])),
            shape=(len(part_ids), len(vocab)),
        )
        tf = sp.csr_matrix(A @ U, dtype=np.float32)
        tf.sum_duplicates()
        tf.eliminate_zeros()
        return tf

    def _matrix(self, texts: Sequence[str], groups: np.ndarray, *, update_avgdl: bool) -> sp.csr_matrix:
        tf = self._tf(texts)
        if not self.is_frozen:  # document frequencies over entries
            if len(self.df) < len(self.vocab) or not self.df.flags.writeable:
                self.df = np.concatenate([self.df, np.zeros(len(self.vocab) - len(self.df))])
            self.df += np.bincount(tf.indices, minlength=len(self.vocab)).astype(np.float64)
            self.n_docs += tf.shape[0]
        if self.scheme == "tfidf":
            data = (1.0 + np.log(tf.data)).astype(np.float32)
            idf = self._idf_tfidf()
            data *= idf[tf.indices].astype(np.float32)
            out = sp.csr_matrix((data, tf.indices, tf.indptr), shape=tf.shape)
            norms = np.sqrt(np.asarray(out.multiply(out).sum(axis=1)).ravel())
            norms[norms == 0] = 1.0
            return sp.csr_matrix(sp.diags((1.0 / norms).astype(np.float32)) @ out)
        dl = np.asarray(tf.sum(axis=1)).ravel()
        groups = np.asarray(groups, dtype=np.int64)
        if update_avgdl:
            for g in np.unique(groups):
                m = groups == g
                self.avgdl[int(g)] = float(dl[m].mean()) if m.any() else 1.0
        fallback = float(dl.mean()) if len(dl) else 1.0
        lookup = np.full(int(groups.max()) + 1 if len(groups) else 1, fallback)
        for g, v in self.avgdl.items():
            if g < len(lookup):
                lookup[g] = v
        avg = lookup[groups] if len(groups) else np.zeros(0)
        avg[avg <= 0] = 1.0
        norm = self.k1 * (1.0 - self.b + self.b * dl / avg)
        row_of = np.repeat(np.arange(tf.shape[0]), np.diff(tf.indptr))
        data = tf.data * (self.k1 + 1.0) / (tf.data + norm[row_of])
        return sp.csr_matrix((data.astype(np.float32), tf.indices, tf.indptr), shape=tf.shape)

    def _idf_tfidf(self) -> np.ndarray:
        n = max(self.n_docs, 1)
        return np.log((1.0 + n) / (1.0 + self.df)) + 1.0

    def _idf_bm25(self, cols: np.ndarray) -> np.ndarray:
        n = max(self.n_docs, 1)
        df = self.df[cols]
        return np.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def fit(self, texts: Sequence[str], groups: np.ndarray) -> None:
        """(Re)build from scratch (a frozen index keeps its statistics); rows are ``0..len(texts)-1``."""
        if not self.is_frozen:
            self.vocab = {}
            self.df = np.zeros(0)
            self.n_docs = 0
            self.avgdl = {}
        m = self._matrix(texts, groups, update_avgdl=not self.is_frozen)
        self.base = sp.csc_matrix(m)
        self.deltas = []
        self.n_rows = m.shape[0]

    def add(self, texts: Sequence[str], groups: np.ndarray) -> None:
        """Append rows ``n_rows .. n_rows+len(texts)-1``."""
        if not len(texts):
            return
        m = self._matrix(texts, groups, update_avgdl=not self.avgdl)
        self.deltas.append(sp.csc_matrix(m))  # column slices at query time
        self.n_rows += m.shape[0]
        if sum(d.shape[0] for d in self.deltas) > max(50_000, self.base.shape[0] // 5):
            self._merge_deltas()
        elif len(self.deltas) > _MAX_DELTAS:
            # Every query slices each delta: a stream of small ingests must not grow that list.
            # Folding the (small) deltas together costs little; folding into the base waits above.
            n_cols = len(self.vocab)
            self.deltas = [
                sp.csc_matrix(sp.vstack([self._pad(d, n_cols) for d in self.deltas], format="csr"))
            ]

    def _merge_deltas(self) -> None:
        if not self.deltas and self.base.shape[1] == len(self.vocab):
            return
        n_cols = len(self.vocab)
        parts = [self._pad(self.base.tocsr(), n_cols)] + [self._pad(d, n_cols) for d in self.deltas]
        self.base = sp.csc_matrix(sp.vstack(parts, format="csr"))
        self.deltas = []

    @staticmethod
    def _pad(m: sp.spmatrix, n_cols: int) -> sp.csr_matrix:
        m = sp.csr_matrix(m)
        if m.shape[1] == n_cols:
            return m
        return sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], n_cols))

    # ----------------------------------------------------------------------------- querying
    def _analyze(self, text: str) -> list[str]:
        out: list[str] = []
        for part in split_parts(text):
            out.extend(self.analyzer(part))
        return out

    def query_terms(self, query: str) -> list[str]:
        return [t for t in dict.fromkeys(self._analyze(query)) if t in self.vocab]

    def _query_vector(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        counts = Counter(t for t in self._analyze(query) if t in self.vocab)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        cols = np.fromiter((self.vocab[t] for t in counts), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if self.scheme == "tfidf":
            w = (1.0 + np.log(tf)) * self._idf_tfidf()[cols]
            w /= max(float(np.linalg.norm(w)), 1e-12)
        else:
            w = self._idf_bm25(cols)
        return cols, w.astype(np.float32)

    def score(self, query: str, top: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rows with a non-zero score and their scores (cosine for tfidf, Okapi for bm25).

        ``top``: keep only the ``top`` best rows (an O(n) partial sort), which bounds the cost of
        everything downstream when a query shares only a common character with most entries.
        """
        cols, w = self._query_vector(query)
        if not len(cols):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        parts_rows: list[np.ndarray] = []
        parts_vals: list[np.ndarray] = []
        offset = 0
        for m in [self.base, *self.deltas]:
            n = m.shape[0]
            valid = cols < m.shape[1]
            if n and valid.any():
                files = self.base_files if self.base_files and self.base_files.serves(m.indices) else None
                nz, vals = column_scores(m, cols[valid], w[valid], files)
                parts_rows.append(nz + offset)
                parts_vals.append(vals)
            offset += n
        if not parts_rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        rows = np.concatenate(parts_rows).astype(np.int64)
        vals = np.concatenate(parts_vals)
        if top is not None and len(vals) > top:
            keep = np.argpartition(-vals, top)[:top]
            rows, vals = rows[keep], vals[keep]
        return rows, vals

    def self_score(self, query: str) -> float:
        """Upper reference of a bm25 score for ``query`` (sum of its terms' idf × (k1+1))."""
        _cols, w = self._query_vector(query)
        return float(w.sum()) * (self.k1 + 1.0) if self.scheme == "bm25" else 1.0

    # ----------------------------------------------------------------------------- persistence
    def state(self) -> tuple[dict[str, np.ndarray], dict[str, object]]:
        self._merge_deltas()
        csr = self._pad(self.base.tocsr(), len(self.vocab))
        arrays = {
            "data": csr.data,
            "indices": csr.indices,
            "indptr": csr.indptr,
            "df": self.df,
        }
        return arrays, self._meta(csr.shape)[1]

    def _meta(self, shape: tuple[int, ...]) -> tuple[None, dict[str, object]]:
        meta: dict[str, object] = {
            "scheme": self.scheme,
            "k1": self.k1,
            "b": self.b,
            "vocab": list(self.vocab),
            "n_docs": self.n_docs,
            "avgdl": {str(k): v for k, v in self.avgdl.items()},
            "shape": list(shape),
            "frozen": self.is_frozen,
        }
        return None, meta

    def save(self, directory: Path, name: str) -> None:
        """The matrix as CSC arrays in plain ``.npy`` files (``load`` maps them), meta as JSON."""
        self._merge_deltas()  # the base then spans the whole vocabulary
        csc = self.base
        for part, arr in (
            ("data", csc.data),
            ("indices", csc.indices),
            ("indptr", csc.indptr),
            ("df", self.df),
        ):
            np.save(directory / f"lex_{name}.{part}.npy", np.ascontiguousarray(arr))
        _arrays, meta = self._meta(csc.shape)
        (directory / f"lex_{name}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, analyzer: Analyzer, directory: Path, name: str) -> SparseLexicalIndex:
        """Memory-maps the matrix (read-only, pages shared by every worker process on the host and
        read in only for the columns queries touch); ``add`` writes deltas beside it in memory."""
        meta = json.loads((directory / f"lex_{name}.json").read_text("utf-8"))
        arrays = {
            part: np.load(directory / f"lex_{name}.{part}.npy", mmap_mode="r")
            for part in ("data", "indices", "indptr", "df")
        }
        idx = cls.from_state(analyzer, arrays, meta, csc=True)
        path = directory / f"lex_{name}"
        idx.base_files = ColumnFiles(Path(f"{path}.indices.npy"), Path(f"{path}.data.npy"), idx.base.indices)
        return idx

    @classmethod
    def from_state(
        cls, analyzer: Analyzer, arrays: dict[str, np.ndarray], meta: dict[str, object], *, csc: bool = False
    ) -> SparseLexicalIndex:
        idx = cls(analyzer, str(meta["scheme"]), k1=float(meta["k1"]), b=float(meta["b"]))  # type: ignore[arg-type]
        vocab = meta["vocab"]
        assert isinstance(vocab, list)
        idx.vocab = {t: i for i, t in enumerate(vocab)}
        idx.df = np.asarray(arrays["df"], dtype=np.float64)
        idx.n_docs = int(meta["n_docs"])  # type: ignore[call-overload]
        avgdl = meta["avgdl"]
        assert isinstance(avgdl, dict)
        idx.avgdl = {int(k): float(v) for k, v in avgdl.items()}
        shape = meta["shape"]
        assert isinstance(shape, list)
        if csc:
            idx.base = sp.csc_matrix(
                (arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(shape), copy=False
            )
        else:
            csr = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(shape))
            idx.base = sp.csc_matrix(csr)
        idx.n_rows = idx.base.shape[0]
        idx.is_frozen = bool(meta.get("frozen", False))
        if len(idx.df) != len(idx.vocab) or idx.base.shape[1] != len(idx.vocab):
            raise ValueError("lexical index state is inconsistent")
        if not math.isfinite(float(idx.df.sum())):
            raise ValueError("lexical index document frequencies are not finite")
        return idx
