"""Entry texts as one UTF-8 blob and byte offsets instead of a list of Python strings.

1.36M entry texts at 100k firms cost ~150 MB as ``str`` objects; as a blob they cost their UTF-8
bytes. A loaded index reads a text with ``os.pread`` from the saved files (through the page cache,
which the workers of a host share) rather than mapping them: the few hundred texts an answer shows
lie all over the blob, and the kernel maps 64 KB around every touched page of a mapping (its
fault-around, which MADV_RANDOM does not turn off), so a mapped blob is soon resident in every
worker. Texts appended since (an upsert) are kept as strings until the column is packed again
(:meth:`pack`, at a save and after large appends), which reads the saved texts into memory.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from .npyfile import SavedArray


class TextColumn(Sequence[str]):
    def __init__(self, blob: np.ndarray | None = None, offsets: np.ndarray | None = None) -> None:
        self.blob = np.zeros(0, dtype=np.uint8) if blob is None else blob
        self.offsets = np.zeros(1, dtype=np.int64) if offsets is None else offsets
        if len(self.offsets) < 1 or int(self.offsets[-1]) != len(self.blob):
            raise ValueError("entry text offsets do not match the text blob")
        self.tail: list[str] = []
        self._saved: tuple[SavedArray, SavedArray] | None = None  # (blob, offsets) read by pread

    @classmethod
    def of(cls, texts: Iterable[str]) -> TextColumn:
        column = cls()
        column.tail = list(texts)
        column.pack()
        return column

    @property
    def n_packed(self) -> int:
        return self._saved[1].n - 1 if self._saved is not None else len(self.offsets) - 1

    def __len__(self) -> int:
        return self.n_packed + len(self.tail)

    def _packed(self, i: int) -> str:
        if self._saved is not None:
            blob, offsets = self._saved
            lo, hi = offsets.read(i, i + 2).tolist()
            return blob.read(lo, hi).tobytes().decode("utf-8")
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.blob[lo:hi].tobytes().decode("utf-8")

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(blob, offsets) of the packed texts, in memory."""
        if self._saved is None:
            return self.blob, self.offsets
        blob, offsets = self._saved
        return blob.read(0, blob.n), offsets.read(0, offsets.n)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            n = self.n_packed
            if step == 1 and start >= n:  # appended texts only (what an upsert reads back)
                return self.tail[start - n : max(stop - n, 0)]
            return [self[j] for j in range(start, stop, step)]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._packed(i) if i < self.n_packed else self.tail[i - self.n_packed]

    def __iter__(self) -> Iterator[str]:
        blob, offsets = self._arrays()
        bounds = offsets.tolist()
        for lo, hi in itertools.pairwise(bounds):
            yield blob[lo:hi].tobytes().decode("utf-8")
        yield from self.tail

    def encoded(self, ids: np.ndarray | None = None) -> list[bytes]:
        """The texts ``ids`` (default: all, in order) as UTF-8 bytes: slices of one read of the
        blob, ~10x cheaper than decoding each text, for a caller that only compares texts."""
        blob, offsets = self._arrays()
        n = len(offsets) - 1
        if ids is None:
            ids = np.arange(len(self), dtype=np.int64)
        in_blob = ids < n
        packed = ids[in_blob]
        data = blob.tobytes()
        out = [
            data[lo:hi] for lo, hi in zip(offsets[packed].tolist(), offsets[packed + 1].tolist(), strict=True)
        ]
        if len(packed) == len(ids):
            return out
        # appended texts among them: each text in the slot of its id, whatever the ids' order
        ordered: list[bytes] = [b""] * len(ids)
        for slot, text in zip(np.flatnonzero(in_blob).tolist(), out, strict=True):
            ordered[slot] = text
        for slot in np.flatnonzero(~in_blob).tolist():
            ordered[slot] = self.tail[int(ids[slot]) - n].encode("utf-8")
        return ordered

    def extend(self, texts: Iterable[str]) -> None:
        self.tail.extend(texts)
        if len(self.tail) > max(50_000, self.n_packed // 10):
            self.pack()

    def pack(self) -> None:
        """Folds the appended texts into the blob."""
        if not self.tail:
            return
        if self._saved is not None:
            self.blob, self.offsets = (a.copy() for a in self._arrays())
            self._saved = None
        raw = [t.encode("utf-8") for t in self.tail]
        lengths = np.fromiter((len(r) for r in raw), dtype=np.int64, count=len(raw))
        blob = np.frombuffer(b"".join(raw), dtype=np.uint8)
        # blob first: a reader between the two assignments still finds its texts under the old offsets
        self.blob = np.concatenate([self.blob, blob]) if len(self.blob) else blob
        self.offsets = np.concatenate([self.offsets, int(self.offsets[-1]) + np.cumsum(lengths)])
        self.tail = []

    def save(self, directory: Path) -> None:
        self.pack()
        blob, offsets = self._arrays()
        np.save(directory / "entry_texts.blob.npy", blob)
        np.save(directory / "entry_texts.offsets.npy", offsets)

    @classmethod
    def load(cls, directory: Path) -> TextColumn:
        """The saved texts, read with ``os.pread`` when asked (see the module docstring)."""
        blob = SavedArray(directory / "entry_texts.blob.npy", "uint8")
        offsets = SavedArray(directory / "entry_texts.offsets.npy", "<i8")
        if offsets.n < 1 or int(offsets.read(offsets.n - 1, offsets.n)[0]) != blob.n:
            raise ValueError("entry text offsets do not match the text blob")
        column = cls()
        column._saved = (blob, offsets)
        return column
