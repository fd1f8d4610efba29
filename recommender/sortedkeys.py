"""A sorted set of strings as one UTF-8 blob, grouped by byte length, searched with numpy.

Keys of one byte length ``L`` lie side by side, sorted, so that their part of the blob reads as a
fixed-width ``S{L}`` array without padding (a single fixed width for all would pad every key to
the longest one: ~2.5× the bytes for product names). A key's position is its rank in the order
(byte length, bytes); parallel arrays (frequencies, postings) are indexed by it. The blob and the
length table are saved as ``.npy`` and memory-mapped by a loaded index.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np


class SortedKeys:
    def __init__(self, blob: np.ndarray, lengths: np.ndarray) -> None:
        """``lengths``: rows of (byte length, first position, first byte) in ascending length."""
        self.blob = np.asarray(blob)  # a mapped blob as a plain view: np.memmap indexing is ~5x slower
        self.lengths = np.asarray(lengths, dtype=np.int64).reshape(-1, 3)
        self._groups: dict[int, tuple[int, np.ndarray]] = {}
        rows = self.lengths.tolist()
        n = 0
        for j, (length, first, offset) in enumerate(rows):
            end_byte = rows[j + 1][2] if j + 1 < len(rows) else len(blob)
            count, rest = divmod(end_byte - offset, length)
            if first != n or rest or length < 1:
                raise ValueError("sorted keys do not match their length table")
            self._groups[length] = (first, self.blob[offset:end_byte].view(f"S{length}"))
            n += count
        self.n = n

    @classmethod
    def of(cls, keys: Iterable[str]) -> tuple[SortedKeys, list[str]]:
        """The keys and, in their positions' order, the keys themselves (to order parallel arrays)."""
        raw = sorted({k.encode("utf-8") for k in keys}, key=lambda b: (len(b), b))
        rows: list[tuple[int, int, int]] = []
        offset = 0
        for i, b in enumerate(raw):
            if not b:
                raise ValueError("an empty key")
            if not rows or rows[-1][0] != len(b):
                rows.append((len(b), i, offset))
            offset += len(b)
        blob = np.frombuffer(b"".join(raw), dtype=np.uint8) if raw else np.zeros(0, dtype=np.uint8)
        table = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
        return cls(blob, table), [b.decode("utf-8") for b in raw]

    def __len__(self) -> int:
        return self.n

    def find(self, key: str) -> int:
        """The position of ``key``, -1 when absent."""
        raw = key.encode("utf-8")
        group = self._groups.get(len(raw))
        if group is None:
            return -1
        first, arr = group
        i = int(np.searchsorted(arr, raw))
        return first + i if i < len(arr) and arr[i] == raw else -1

    def find_many(self, keys: Sequence[str]) -> np.ndarray:
        """``[self.find(k) for k in keys]`` as an array, searched a byte-length group at a time."""
        raw = [k.encode("utf-8") for k in keys]
        out = np.full(len(raw), -1, dtype=np.int64)
        by_length: dict[int, list[int]] = {}
        for i, b in enumerate(raw):
            by_length.setdefault(len(b), []).append(i)
        for length, positions in by_length.items():
            group = self._groups.get(length)
            if group is None:
                continue
            first, arr = group
            query = np.array([raw[i] for i in positions], dtype=f"S{length}")
            at = np.searchsorted(arr, query)
            ok = at < len(arr)
            ok[ok] = arr[at[ok]] == query[ok]
            out[np.asarray(positions)[ok]] = first + at[ok]
        return out

    def __iter__(self) -> Iterator[str]:
        """Keys in position order."""
        for _first, arr in self._groups.values():
            for b in arr.tolist():
                yield b.decode("utf-8")

    def save(self, directory: Path, name: str) -> None:
        np.save(directory / f"{name}.keys.npy", np.ascontiguousarray(self.blob))
        np.save(directory / f"{name}.key_lengths.npy", self.lengths)

    @classmethod
    def load(cls, directory: Path, name: str) -> SortedKeys:
        return cls(
            np.load(directory / f"{name}.keys.npy", mmap_mode="r"),
            np.load(directory / f"{name}.key_lengths.npy"),
        )
