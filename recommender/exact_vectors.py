"""Full-precision vectors by id, for the exact re-ranking of a quantised HNSW graph's hits.

The graph (:mod:`recommender.vector_index`) walks 8-bit scalar-quantised codes: a quarter of the
float32 vectors' bytes, and the graph's file is what a serving worker keeps resident (every page
of it is touched within a few dozen queries). The similarities a search returns are nevertheless
exact: its hits are scored again against these float32 vectors. Saved vectors stay in their file
and are read by ``pread`` — only the hits' rows, a few hundred a query, through the page cache
rather than into the process (DiskANN keeps its full-precision vectors on disk the same way); a
memory map would not do, since the kernel maps 16 pages around every faulted one and a few dozen
queries would make the whole file resident. Vectors added since the last save are held in memory.

The file is a plain ``.npy`` (float32, C order, shape ``(n, dim)``), so ``np.load`` reads it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from .npyfile import SavedArray

_COPY_CHUNK = 1 << 24


def vectors_path(index_path: Path) -> Path:
    """Where the vectors of the FAISS file ``index_path`` are saved (beside it)."""
    return index_path.with_name(index_path.stem + ".vectors.npy")


class ExactVectors:
    """Rows ``[0, n_file)`` read from a saved ``.npy``; rows appended since, in memory."""

    def __init__(self, dim: int, *, path: Path | None = None) -> None:
        self.dim = dim
        self._tail: list[np.ndarray] = []
        self._tail_rows: np.ndarray | None = None  # the tail as one array, built when read
        self.n_tail = 0
        self.saved = SavedArray(path, "<f4", (dim,)) if path is not None else None
        self.n_file = self.saved.n if self.saved is not None else 0

    def __len__(self) -> int:
        return self.n_file + self.n_tail

    def append(self, vectors: np.ndarray) -> None:
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected vectors of dimension {self.dim}")
        self._tail.append(x)
        self.n_tail += len(x)
        self._tail_rows = None

    def _tail_array(self) -> np.ndarray:
        if self._tail_rows is None:
            self._tail_rows = (
                np.concatenate(self._tail) if self._tail else np.zeros((0, self.dim), dtype=np.float32)
            )
            self._tail = [self._tail_rows]
        return self._tail_rows

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """The vectors of ``ids`` (each in ``[0, len(self))``), in the order given."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        in_file = ids < self.n_file
        if self.saved is not None and in_file.any():
            out[in_file] = self.saved.take(ids[in_file].tolist())
        if not in_file.all():
            out[~in_file] = self._tail_array()[ids[~in_file] - self.n_file]
        return out

    def save(self, path: Path) -> None:
        """Writes every row to ``path`` (a new file, renamed into place when whole)."""
        tmp = path.with_name(path.name + ".tmp")
        header = {"descr": "<f4", "fortran_order": False, "shape": (len(self), self.dim)}
        with open(tmp, "wb") as out:
            np.lib.format.write_array_header_1_0(out, header)
            if self.saved is not None and self.n_file:
                with open(self.saved.path, "rb") as src:
                    src.seek(self.saved.start)
                    shutil.copyfileobj(src, out, _COPY_CHUNK)
            out.write(self._tail_array().tobytes())
        os.replace(tmp, path)
