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

_COPY_CHUNK = 1 << 24


def vectors_path(index_path: Path) -> Path:
    """Where the vectors of the FAISS file ``index_path`` are saved (beside it)."""
    return index_path.with_name(index_path.stem + ".vectors.npy")


class ExactVectors:
    """Rows ``[0, n_file)`` read from a saved ``.npy``; rows appended since, in memory."""

    def __init__(self, dim: int, *, path: Path | None = None) -> None:
        self.dim = dim
        self.row_bytes = 4 * dim
        self._tail: list[np.ndarray] = []
        self._tail_rows: np.ndarray | None = None  # the tail as one array, built when read
        self.n_tail = 0
        self.path: Path | None = None
        self._fd: int | None = None
        self._data_offset = 0
        self.n_file = 0
        if path is not None:
            self._open(path)

    def _open(self, path: Path) -> None:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(fh)
            offset = fh.tell()
        if dtype != np.dtype("<f4") or fortran or len(shape) != 2 or shape[1] != self.dim:
            raise ValueError(f"{path.name}: expected float32 vectors of dimension {self.dim}")
        if os.path.getsize(path) != offset + shape[0] * self.row_bytes:
            raise ValueError(f"{path.name}: truncated")
        self.path, self._data_offset, self.n_file = path, offset, int(shape[0])
        self._fd = os.open(path, os.O_RDONLY)

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)  # type: ignore[arg-type]

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
        if self._fd is not None and in_file.any():
            fd, size, base = self._fd, self.row_bytes, self._data_offset
            raw = b"".join([os.pread(fd, size, base + i * size) for i in ids[in_file].tolist()])
            out[in_file] = np.frombuffer(raw, dtype=np.float32).reshape(-1, self.dim)
        if not in_file.all():
            out[~in_file] = self._tail_array()[ids[~in_file] - self.n_file]
        return out

    def save(self, path: Path) -> None:
        """Writes every row to ``path`` (a new file, renamed into place when whole)."""
        tmp = path.with_name(path.name + ".tmp")
        header = {"descr": "<f4", "fortran_order": False, "shape": (len(self), self.dim)}
        with open(tmp, "wb") as out:
            np.lib.format.write_array_header_1_0(out, header)
            if self.path is not None and self.n_file:
                with open(self.path, "rb") as src:
                    src.seek(self._data_offset)
                    shutil.copyfileobj(src, out, _COPY_CHUNK)
            out.write(self._tail_array().tobytes())
        os.replace(tmp, path)
