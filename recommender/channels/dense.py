"""The dense channel: an encoder (sentence-transformers) plus a FAISS index over entry ids."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..encoders import Encoder, SentenceTransformerEncoder, load_encoder
from ..entry_table import EntryTable
from ..features import ChannelArrays
from ..vector_index import FaissIndex, make_index
from .base import ChannelQuery

if TYPE_CHECKING:
    from ..config import EngineConfig

log = logging.getLogger(__name__)


_BUILD_THREADS = max(1, os.cpu_count() or 1)
SEARCH_GROUP = 16  # queries per FAISS call of DenseChannel.nearest (under faiss's BLAS threshold, 20)
_NO_HITS = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
_RECENT_MAX = 256  # texts whose hits a channel keeps (600 hits each: ~2 MB in all)


@contextmanager
def faiss_threads(n: int) -> Iterator[None]:
    """FAISS's OpenMP thread count for a block: all cores to build / add (HNSW insertion is
    parallel), one to answer a single query (a one-vector search gains nothing from threads and
    FAISS's pool contends with torch's: measured 14 ms -> 1.3 ms at 55k entries)."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class DenseChannel:
    """Dense channel over *distinct texts*: a product name shared by 300 firms is one vector.

    FAISS ids are text ids; ``entry_text`` maps every entry to its text id and a CSR inverse
    (text id -> entries, rebuilt lazily after updates) expands search hits back to entries,
    hence to firms. Removed entries stay behind their text's vector until a rebuild; the entry
    table masks them (its alive mask), so they are never returned.
    """

    name = "dense"

    def __init__(
        self,
        table: EntryTable,
        candidate_pool: int,
        encoder: Encoder,
        index: FaissIndex,
        encoder_ref: str,
        text_ids: dict[bytes, int] | None,
        entry_text: np.ndarray,
        n_texts: int,
    ) -> None:
        self.table = table
        self.search_k = candidate_pool * 2  # distinct texts a query reads
        self.encoder = encoder
        self.index = index
        self.encoder_ref = encoder_ref  # "static" or the model name / path given in the config
        # text (UTF-8) -> text id: built at the first upsert after a load (a serving worker that
        # only answers never needs it; its 355k keys at 100k firms cost ~35 MB)
        self._text_ids = text_ids
        self.n_texts = n_texts
        self.entry_text = np.asarray(entry_text, dtype=np.int64)
        self._order: np.ndarray | None = None
        self._ptr: np.ndarray | None = None
        self._n_inverted = 0  # entries covered by _order / _ptr
        self._delta: dict[int, list[int]] = {}  # text id -> entries appended since
        # (text, k) -> the hits :meth:`nearest` found, until the index changes: a sharded query asks
        # each shard twice (its evidence, then its list) and the second asks the same texts
        self._recent: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    @classmethod
    def build(
        cls,
        table: EntryTable,
        config: EngineConfig,
        encoder: Encoder | None = None,
        *,
        progress: bool = False,
    ) -> DenseChannel:
        """Encodes every distinct entry text of ``table`` with ``encoder`` (the fitted static one),
        or with the sentence-transformers model ``config.encoder`` names when it is None."""
        texts = table.text
        if encoder is None:
            if config.encoder == "static":
                raise ValueError("the static encoder is fitted over the corpus: pass it")
            encoder = load_encoder(config.encoder, config.query_prompt, config.passage_prompt, config.device)
        text_ids: dict[str, int] = {}
        entry_text = np.fromiter(
            (text_ids.setdefault(t, len(text_ids)) for t in texts), dtype=np.int64, count=len(texts)
        )
        vecs = cls.encode(encoder, list(text_ids), progress)
        with faiss_threads(_BUILD_THREADS):
            index = make_index(vecs, np.arange(len(text_ids), dtype=np.int64), config.ann_threshold)
        log.info(
            "dense index: %s, %d vectors (distinct texts of %d entries), dim %d",
            index.kind,
            index.ntotal,
            len(texts),
            index.dim,
        )
        keys = {t.encode("utf-8"): i for t, i in text_ids.items()}
        return cls(table, config.candidate_pool, encoder, index, config.encoder, keys, entry_text, len(keys))

    @staticmethod
    def encode(encoder: Encoder, texts: list[str], progress: bool = False, batch: int = 65536) -> np.ndarray:
        starts = range(0, len(texts), batch)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="encode", unit="batch")
        parts = [encoder.encode_passages(texts[i : i + batch]) for i in starts]
        return np.concatenate(parts) if parts else np.zeros((0, encoder.dim), dtype=np.float32)

    @property
    def text_ids(self) -> dict[str, int]:
        """Distinct text -> text id."""
        return {t.decode("utf-8"): i for t, i in self._ids_by_text().items()}

    def _ids_by_text(self) -> dict[bytes, int]:
        if self._text_ids is None:
            if self._delta or self._n_inverted != len(self.entry_text):
                self._order = self._ptr = None  # an inverse over every entry
            order, ptr = self._inverse()  # (searches need it too) one entry of each text id:
            tids = np.flatnonzero(ptr[:-1] < ptr[1:])  # every text id has entries
            texts = self.table.text.encoded(order[ptr[tids]])
            self._text_ids = dict(zip(texts, tids.tolist(), strict=True))
        return self._text_ids

    def extend(self, start: int) -> None:
        texts = self.table.text[start:]
        self.add(texts, np.arange(start, start + len(texts), dtype=np.int64))

    def add(self, texts: Sequence[str], ids: np.ndarray) -> None:
        """Index new entries ``ids`` (consecutive, appended) with their ``texts``."""
        self._recent = {}
        new: list[str] = []
        tids = np.empty(len(texts), dtype=np.int64)
        text_ids = self._ids_by_text()
        for i, t in enumerate(texts):
            key = t.encode("utf-8")
            tid = text_ids.get(key)
            if tid is None:
                tid = text_ids[key] = len(text_ids)
                new.append(t)
            tids[i] = tid
        self.n_texts = len(text_ids)
        if new:
            first = len(text_ids) - len(new)
            vecs = self.encode(self.encoder, new)
            with faiss_threads(_BUILD_THREADS):
                self.index.add(vecs, np.arange(first, first + len(new), dtype=np.int64))
        expected = len(self.entry_text)
        if len(ids) and int(ids[0]) != expected:
            raise ValueError("dense entries must be appended in order")
        self.entry_text = np.concatenate([self.entry_text, tids])
        if self._order is not None:
            for e, tid in enumerate(tids.tolist(), start=expected):
                self._delta.setdefault(tid, []).append(e)
            if len(self.entry_text) - self._n_inverted > max(50_000, self._n_inverted // 10):
                self._order = self._ptr = None

    def _inverse(self) -> tuple[np.ndarray, np.ndarray]:
        if self._order is None or self._ptr is None:
            self._order = np.argsort(self.entry_text, kind="stable")
            self._ptr = np.searchsorted(self.entry_text[self._order], np.arange(self.n_texts + 1))
            self._n_inverted = len(self.entry_text)
            self._delta = {}
        return self._order, self._ptr

    def search(self, query: ChannelQuery) -> ChannelArrays:
        return self.table.firm_scores(
            *self.entry_scores(query.item, self.search_k, query.floors.get(self.name))
        )

    def nearest_texts(self, text: str) -> dict[str, float]:
        """The distinct texts a query reads (``search_k`` nearest, similarity > 0) by similarity."""
        tids, sims = self.nearest([text], self.search_k)[0]
        return {self.text_of(t): s for t, s in zip(tids.tolist(), sims.tolist(), strict=True) if s > 0}

    def text_of(self, tid: int) -> str:
        """The text of text id ``tid`` (that of its first entry)."""
        order, ptr = self._inverse()
        if tid < len(ptr) - 1 and ptr[tid] < ptr[tid + 1]:
            return self.table.text[int(order[ptr[tid]])]
        return self.table.text[int(np.flatnonzero(self.entry_text == tid)[0])]  # appended since

    def nearest(self, texts: Sequence[str], k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """(text ids, similarities) of the ``k`` nearest distinct texts of each of ``texts``, as
        each is searched alone: the static encoder encodes them in one call (a text's vector does
        not depend on the others'; a transformer's padding could change its last bits, so other
        encoders take one at a time), and FAISS searches ``SEARCH_GROUP`` at a time (below 20
        queries a flat index scores each query on its own, not with one BLAS product)."""
        recent = self._recent
        out = [recent.get((t, k)) for t in texts]
        todo = [i for i, hits in enumerate(out) if hits is None]
        if todo:
            for i, hits in zip(todo, self._search_texts([texts[i] for i in todo], k), strict=True):
                out[i] = hits
                if len(recent) >= _RECENT_MAX:
                    recent.clear()
                recent[(texts[i], k)] = hits
        return [hits if hits is not None else _NO_HITS for hits in out]

    def _search_texts(self, texts: Sequence[str], k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        out = [_NO_HITS] * len(texts)
        if self.encoder_ref == "static":
            vectors = self.encoder.encode_queries(list(texts))
        else:
            vectors = np.stack([self.encoder.encode_queries([t])[0] for t in texts])
        asked = [i for i in range(len(texts)) if np.any(vectors[i])]
        with faiss_threads(1):
            for start in range(0, len(asked), SEARCH_GROUP):
                group = asked[start : start + SEARCH_GROUP]
                for i, hits in zip(group, self.index.search_many(vectors[group], k), strict=True):
                    out[i] = hits
        return out

    def search_near(self, query: ChannelQuery, hits: tuple[np.ndarray, np.ndarray]) -> ChannelArrays:
        """:meth:`search` of ``query`` from the hits :meth:`nearest` found for its item."""
        return self.table.firm_scores(*self.expand(*hits, query.floors.get(self.name)))

    def entry_scores(self, text: str, k: int, floor: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Entries whose text is among the ``k`` nearest distinct texts, with the similarity."""
        return self.expand(*self.nearest([text], k)[0], floor)

    def expand(
        self, tids: np.ndarray, sims: np.ndarray, floor: float | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every entry of text ids ``tids`` (above ``floor`` and 0), with its text's similarity."""
        keep = sims > 0 if floor is None else (sims > 0) & (sims >= floor)
        tids, sims = tids[keep], sims[keep]
        if not len(tids):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        order, ptr = self._inverse()
        inv = tids < len(ptr) - 1
        bt, bs = tids[inv], sims[inv]
        starts, ends = ptr[bt], ptr[bt + 1]
        counts = ends - starts
        total = int(counts.sum())
        # positions starts[i] .. ends[i]-1 for every hit, vectorised
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
        entries, values = order[offsets], np.repeat(bs, counts).astype(np.float32)
        if self._delta:
            extra = [
                (e, sim)
                for tid, sim in zip(tids.tolist(), sims.tolist(), strict=True)
                for e in self._delta.get(tid, ())
            ]
            if extra:
                entries = np.concatenate([entries, np.fromiter((e for e, _ in extra), dtype=np.int64)])
                values = np.concatenate([values, np.fromiter((v for _, v in extra), dtype=np.float32)])
        return entries, values

    def save(self, directory: Path) -> None:
        self._recent = {}  # the save folds the graph's delta in: its hits may change
        directory = directory / "dense"
        directory.mkdir(parents=True, exist_ok=True)
        if self.encoder_ref == "static":
            self.encoder.save(directory / "encoder")
        self.index.save(directory / "index.faiss")
        np.save(directory / "entry_text.npy", self.entry_text)
        (directory / "dense.json").write_text(
            json.dumps(
                {
                    "encoder": self.encoder_ref,
                    "index": self.index.kind,
                    "dim": self.index.dim,
                    "search_effort": self.index.search_effort,
                    "n_texts": self.n_texts,
                }
            ),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, directory: Path, config: EngineConfig, table: EntryTable) -> DenseChannel:
        meta = json.loads((directory / "dense.json").read_text(encoding="utf-8"))
        ref = meta["encoder"]
        if ref != config.encoder:
            log.warning(
                "index was built with encoder %r; config asks %r — using the index's", ref, config.encoder
            )
        if ref == "static":
            encoder: SentenceTransformerEncoder = load_encoder(
                str(directory / "encoder"), None, None, config.device, name="static"
            )
        else:
            encoder = load_encoder(ref, config.query_prompt, config.passage_prompt, config.device)
        index = FaissIndex.load(directory / "index.faiss")
        if index.dim != encoder.dim:
            raise ValueError("dense index and encoder dimensions differ")
        entry_text = np.load(directory / "entry_text.npy")
        if len(entry_text) != len(table.text):
            raise ValueError("dense entry map and entries differ in length")
        n_texts = int(meta["n_texts"])
        if index.ntotal != n_texts or (len(entry_text) and int(entry_text.max()) >= n_texts):
            raise ValueError("dense index does not match its text map")
        return cls(table, config.candidate_pool, encoder, index, ref, None, entry_text, n_texts)
