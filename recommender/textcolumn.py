"""Entry texts as one UTF-8 blob and byte offsets instead of a list of Python strings.

1.36M entry texts at 100k firms cost ~150 MB as ``str`` objects; as a blob they cost their UTF-8
bytes, and a loaded index maps the blob (read-only, pages shared by the workers of a host and read
in only for the texts a query shows). Texts appended since (an upsert) are kept as strings until
the column is packed again (:meth:`pack`, at a save and after large appends).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np


class TextColumn(Sequence[str]):
    def __init__(self, blob: np.ndarray | None = None, offsets: np.ndarray | None = None) -> None:
        self.blob = np.zeros(0, dtype=np.uint8) if blob is None else blob
        self.offsets = np.zeros(1, dtype=np.int64) if offsets is None else offsets
        if len(self.offsets) < 1 or int(self.offsets[-1]) != len(self.blob):
            raise ValueError("entry text offsets do not match the text blob")
        self.tail: list[str] = []

    @classmethod
    def of(cls, texts: Iterable[str]) -> TextColumn:
        column = cls()
        column.tail = list(texts)
        column.pack()
        return column

    @property
    def n_packed(self) -> int:
        return len(self.offsets) - 1

    def __len__(self) -> int:
        return self.n_packed + len(self.tail)

    def _packed(self, i: int) -> str:
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.blob[lo:hi].tobytes().decode("utf-8")

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._packed(i) if i < self.n_packed else self.tail[i - self.n_packed]

    def __iter__(self) -> Iterator[str]:
        for i in range(self.n_packed):
            yield self._packed(i)
        yield from self.tail

    def extend(self, texts: Iterable[str]) -> None:
        self.tail.extend(texts)
        if len(self.tail) > max(50_000, self.n_packed // 10):
            self.pack()

    def pack(self) -> None:
        """Folds the appended texts into the blob."""
        if not self.tail:
            return
        raw = [t.encode("utf-8") for t in self.tail]
        lengths = np.fromiter((len(r) for r in raw), dtype=np.int64, count=len(raw))
        blob = np.frombuffer(b"".join(raw), dtype=np.uint8)
        self.offsets = np.concatenate([self.offsets, int(self.offsets[-1]) + np.cumsum(lengths)])
        self.blob = np.concatenate([self.blob, blob]) if len(self.blob) else blob
        self.tail = []

    def save(self, directory: Path) -> None:
        self.pack()
        np.save(directory / "entry_texts.blob.npy", self.blob)
        np.save(directory / "entry_texts.offsets.npy", self.offsets)

    @classmethod
    def load(cls, directory: Path) -> TextColumn:
        return cls(
            np.load(directory / "entry_texts.blob.npy", mmap_mode="r"),
            np.load(directory / "entry_texts.offsets.npy", mmap_mode="r"),
        )
