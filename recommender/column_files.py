"""The scores of a query's columns of a lexical matrix (:func:`column_scores`), and a loaded
matrix's saved CSC arrays read per column range with ``pread`` (:class:`ColumnFiles`).

A query reads the rows and weights of a few columns: contiguous ranges of the ``indices`` and
``data`` files. Through a memory map, each range faults its pages into the process, and the kernel
maps up to 64 KB of cached pages around every faulted one, so what stays resident depends on the
page cache's state rather than on what the queries read (at 100k firms 20 to 93 MB of the two
matrices after the same 60 queries). Read with ``pread``, the ranges pass through the page cache
(shared by every worker of the host) into short-lived arrays, and the process keeps none of them.
``indptr`` stays mapped: one int per column, read at two positions per column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .npyfile import SavedArray


class ColumnFiles:
    """The ``indices`` and ``data`` files of one saved CSC matrix, for the matrix loaded from them."""

    def __init__(self, indices_path: Path, data_path: Path, loaded_indices: np.ndarray) -> None:
        self.indices = SavedArray(indices_path, None)  # the dtypes the matrix was saved with
        self.data = SavedArray(data_path, None)
        if self.indices.n != self.data.n:
            raise ValueError(f"{indices_path.name} and {data_path.name} differ in length")
        # the loaded matrix's own indices array: a matrix rebuilt since (a merge of deltas) has
        # another one, and is read from memory
        self._loaded_indices = loaded_indices

    def serves(self, indices: np.ndarray) -> bool:
        return indices is self._loaded_indices

    def read(self, starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows and values of the column ranges ``starts[i] .. starts[i] + counts[i]``, in order."""
        s, c = starts.tolist(), counts.tolist()
        return self.indices.ranges(s, c), self.data.ranges(s, c)


# A query's columns touching more than this share of a matrix's rows are summed as one dense
# vector over all rows (scipy's mat-vec), fewer only over the rows they touch (see column_scores).
_DENSE_SHARE = 1 / 32


def column_scores(
    m: sp.csc_matrix, cols: np.ndarray, w: np.ndarray, files: ColumnFiles | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``m`` with a non-zero ``m[:, cols] @ w``, ascending, and those sums (float32).

    The product ``m[:, cols] @ w`` is a dense vector over every row, and finding its non-zeros
    reads all of them: linear in the corpus, however few rows the columns touch. Below
    ``_DENSE_SHARE`` the sums run over the touched rows only, each row's terms added in float32 in
    the order scipy's CSC mat-vec adds them (column by column, each column in its stored order),
    so the result is bit-identical to the dense product. ``files``: ``m`` was loaded from them,
    and its columns are read from them (:mod:`recommender.column_files`), summed in that order.
    """
    indptr = np.asarray(m.indptr)
    starts, ends = indptr[cols], indptr[cols + 1]
    counts = ends - starts
    total = int(counts.sum())
    dense = total * (1 / _DENSE_SHARE) > m.shape[0]
    if dense and files is None:
        s = np.asarray(m[:, cols] @ w).ravel()
        nz = np.flatnonzero(s != 0)  # != 0 first: numpy's nonzero of a float array is ~20x slower
        return nz.astype(np.int64), s[nz].astype(np.float32)
    if not total:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    if files is None:
        # positions starts[i] .. ends[i]-1 of every selected column, in column order
        positions = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
        rows, values = np.asarray(m.indices)[positions], np.asarray(m.data)[positions]
    else:
        rows, values = files.read(starts, counts)
    terms = values * np.repeat(w, counts)
    if dense:  # the mat-vec's dense vector, added in its order
        s = np.zeros(m.shape[0], dtype=terms.dtype)
        np.add.at(s, rows, terms)
        nz = np.flatnonzero(s != 0)
        return nz.astype(np.int64), s[nz].astype(np.float32)
    touched, slot = np.unique(rows, return_inverse=True)
    sums = np.zeros(len(touched), dtype=terms.dtype)
    np.add.at(sums, slot, terms)  # unbuffered, in the order of ``slot``: column by column
    nz = np.flatnonzero(sums)
    return touched[nz].astype(np.int64), sums[nz].astype(np.float32)
