"""Product keys by suffix: which listed names end with a query's (电子级硫酸 and 工业硫酸 end with 硫酸).

The keys are kept reversed and sorted, so that the keys ending with ``s`` are one run starting
where ``s`` reversed would be inserted. At 100k firms (~190k listed keys) a sorted list of Python
strings held ~17 MB per serving worker; here the sorted keys are one UTF-8 blob with an offset
array (~5 MB), searched by bisection over byte slices (UTF-8 byte order is code-point order, and a
prefix of the bytes is a prefix of the string). Keys listed since (an upsert) go to a small sorted
list, merged into the blob when it outgrows ``_MERGE_AT``.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Iterator

import numpy as np

_MERGE_AT = 4096


class _Blob:
    """Sorted byte strings as one ``bytes`` and their start offsets (a read-only sequence)."""

    def __init__(self, keys: list[bytes]) -> None:
        self.data = b"".join(keys)
        lengths = np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys))
        self.offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> bytes:
        return self.data[int(self.offsets[i]) : int(self.offsets[i + 1])]


class SuffixIndex:
    def __init__(self, keys: Iterable[str]) -> None:
        self._blob = _Blob(sorted(k[::-1].encode("utf-8") for k in keys))
        self._added: list[bytes] = []

    def __len__(self) -> int:
        return len(self._blob) + len(self._added)

    def add(self, key: str) -> None:
        rev = key[::-1].encode("utf-8")
        bisect.insort(self._added, rev)
        if len(self._added) > _MERGE_AT:
            blob = self._blob
            self._blob = _Blob(list(heapq.merge((blob[i] for i in range(len(blob))), self._added)))
            self._added = []

    def _run(self, keys: _Blob | list[bytes], rev: bytes) -> Iterator[bytes]:
        i = bisect.bisect_right(keys, rev)
        while i < len(keys):
            k = keys[i]
            if not k.startswith(rev):
                return
            yield k
            i += 1

    def ending_with(self, key: str) -> Iterator[str]:
        """Keys that end with ``key`` and are longer, in the order of their reversed strings."""
        rev = key[::-1].encode("utf-8")
        last = None
        for k in heapq.merge(self._run(self._blob, rev), self._run(self._added, rev)):
            if k != last:
                yield k.decode("utf-8")[::-1]
            last = k
