"""A saved ``.npy`` array read with ``os.pread``: rows copied out on demand, never mapped.

Several parts of a loaded index read a few scattered rows a query from large saved arrays (entry
texts, the lexical matrices' columns, the dense graph's float32 vectors). Through a memory map the
kernel would map up to 64 KB of cached pages around each faulted one (fault-around, which
MADV_RANDOM does not turn off), so within a few dozen queries the whole file would be resident in
every worker; ``pread`` copies the rows through the page cache, which the workers of a host share,
into short-lived arrays. The descriptor stays open: a save replaces the index directory, never the
files of one, so a reader keeps reading the files it opened.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np


class SavedArray:
    """Rows of a C-order ``.npy`` file of ``dtype`` (None: the file's own) whose rows have ``row_shape``."""

    def __init__(self, path: Path, dtype: str | None, row_shape: tuple[int, ...] = ()) -> None:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, found = read(fh)
            self.start = fh.tell()
        self.dtype = found if dtype is None else np.dtype(dtype)
        self.row_shape = row_shape
        if fortran or found != self.dtype or tuple(shape[1:]) != row_shape:
            raise ValueError(f"{path.name}: not an array of {dtype} rows of shape {row_shape}")
        self.n = int(shape[0])
        self.row_bytes = self.dtype.itemsize * math.prod(row_shape)
        if os.path.getsize(path) != self.start + self.n * self.row_bytes:
            raise ValueError(f"{path.name}: truncated")
        self.path = path
        self.fd = os.open(path, os.O_RDONLY)

    def __del__(self) -> None:
        if getattr(self, "fd", None) is not None:
            os.close(self.fd)

    def _array(self, raw: bytes) -> np.ndarray:
        return np.frombuffer(raw, dtype=self.dtype).reshape(-1, *self.row_shape)

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Rows ``lo .. hi - 1``."""
        size = self.row_bytes
        return self._array(os.pread(self.fd, (hi - lo) * size, self.start + lo * size))

    def ranges(self, starts: Sequence[int], counts: Sequence[int]) -> np.ndarray:
        """Rows ``s .. s + c - 1`` for each pair, concatenated in the order given."""
        size, fd, start = self.row_bytes, self.fd, self.start
        raw = b"".join(
            [os.pread(fd, c * size, start + s * size) for s, c in zip(starts, counts, strict=True) if c]
        )
        if len(raw) != sum(counts) * size:
            raise OSError(f"short read of {self.path.name}")
        return self._array(raw)

    def take(self, ids: Sequence[int]) -> np.ndarray:
        """Rows ``ids``, in the order given."""
        size, fd, start = self.row_bytes, self.fd, self.start
        return self._array(b"".join([os.pread(fd, size, start + i * size) for i in ids]))
