"""Product key -> the capability entries that list it, as arrays (CSR) instead of Python dicts.

A posting is a capability-product entry id of the entry table: its firm row, the name as listed
(the entry's text) and the revenue share follow from it. Keys are :class:`SortedKeys` (a look-up
is one binary search) and the arrays can be memory-mapped from an index directory; postings of a key are in entry order (= firm row order, as the dict of
rows they replace kept them). Entries appended since (an upsert) wait in a small dict until
:meth:`compact`; a removed firm's postings are skipped through the table's ``alive`` mask, so
a key whose makers are all removed is no longer listed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .sortedkeys import SortedKeys

_PARTS = ("ptr", "entries", "shares")


class ProductPostings:
    def __init__(
        self,
        keys: SortedKeys | None = None,
        ptr: np.ndarray | None = None,
        entries: np.ndarray | None = None,
        shares: np.ndarray | None = None,
    ) -> None:
        self.keys = SortedKeys.of(())[0] if keys is None else keys
        self.ptr = np.zeros(1, dtype=np.int64) if ptr is None else ptr
        self.entries = np.zeros(0, dtype=np.int64) if entries is None else entries
        self.shares = np.zeros(0, dtype=np.float64) if shares is None else shares  # NaN: unknown
        if len(self.ptr) != len(self.keys) + 1 or len(self.entries) != len(self.shares):
            raise ValueError("postings arrays disagree in size")
        if int(self.ptr[-1]) != len(self.entries):
            raise ValueError("postings arrays disagree in size")
        self.delta: dict[str, list[tuple[int, float]]] = {}  # key -> (entry, share) appended since

    # ------------------------------------------------------------------------------ writing
    def add(self, key: str, entry: int, share: float | None) -> None:
        self.delta.setdefault(key, []).append((entry, np.nan if share is None else float(share)))

    def compact(self, alive: np.ndarray) -> None:
        """Folds the appended postings into the arrays, dropping those of removed entries (and
        keys left without any). Array work, not a Python object per posting: at 100k firms the
        arrays hold ~1.2M postings, and a stream of upserts compacts every ~10k firms."""
        n_old = len(self.keys)
        old_slot = np.repeat(np.arange(n_old, dtype=np.int64), np.diff(np.asarray(self.ptr)))
        old_live = alive[np.asarray(self.entries)]
        old_keys = list(self.keys)
        live: dict[str, None] = dict.fromkeys(
            k
            for k, n in zip(old_keys, np.bincount(old_slot[old_live], minlength=n_old).tolist(), strict=True)
            if n
        )
        delta = [(k, ps) for k, ps in self.delta.items()]
        live.update((k, None) for k, ps in delta if any(alive[e] for e, _ in ps))
        keys, order = SortedKeys.of(live)
        position = {k: i for i, k in enumerate(order)}
        old_to_new = np.fromiter((position.get(k, -1) for k in old_keys), dtype=np.int64, count=n_old)
        d_entries = np.fromiter((e for _, ps in delta for e, _ in ps), dtype=np.int64)
        d_shares = np.fromiter((sh for _, ps in delta for _, sh in ps), dtype=np.float64)
        d_slot = np.repeat(
            np.fromiter((position.get(k, -1) for k, _ in delta), dtype=np.int64, count=len(delta)),
            [len(ps) for _, ps in delta],
        )
        slot = np.concatenate([old_to_new[old_slot], d_slot])
        entries = np.concatenate([np.asarray(self.entries, dtype=np.int64), d_entries])
        shares = np.concatenate([np.asarray(self.shares, dtype=np.float64), d_shares])
        keep = alive[entries]
        slot, entries, shares = slot[keep], entries[keep], shares[keep]
        by_key = np.argsort(slot, kind="stable")  # a key's arrays first, then its appended ones
        self.keys = keys
        self.ptr = np.concatenate(
            [np.zeros(1, dtype=np.int64), np.cumsum(np.bincount(slot, minlength=len(order)))]
        )
        self.entries, self.shares = entries[by_key], shares[by_key]
        self.delta = {}

    # ------------------------------------------------------------------------------ reading
    def _slot(self, key: str) -> int:
        return self.keys.find(key)

    def postings(self, key: str, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(entry ids, shares) of the live entries listing ``key``, in entry order."""
        i = self._slot(key)
        extra = self.delta.get(key)
        if i < 0 and not extra:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        entries = np.asarray(self.entries[self.ptr[i] : self.ptr[i + 1]]) if i >= 0 else np.zeros(0, np.int64)
        shares = np.asarray(self.shares[self.ptr[i] : self.ptr[i + 1]]) if i >= 0 else np.zeros(0)
        if extra:
            entries = np.concatenate([entries, np.array([e for e, _ in extra], dtype=np.int64)])
            shares = np.concatenate([shares, np.array([s for _, s in extra], dtype=np.float64)])
        keep = alive[entries]
        return entries[keep], shares[keep]

    def listed(self, key: str, alive: np.ndarray) -> bool:
        """Whether a live entry lists ``key`` (cheaper than :meth:`count`)."""
        if any(alive[e] for e, _ in self.delta.get(key, ())):
            return True
        i = self._slot(key)
        return i >= 0 and bool(alive[self.entries[self.ptr[i] : self.ptr[i + 1]]].any())

    def unlisted(self, keys: Sequence[str], alive: np.ndarray) -> list[str]:
        """The ``keys`` no live entry lists (``not listed(key)``), in order: one binary search per
        key byte length over the arrays (an upsert asks for each of ~12 keys a firm)."""
        slots = self.keys.find_many(keys)
        live = np.zeros(len(keys), dtype=bool)
        found = np.flatnonzero(slots >= 0)
        starts = np.asarray(self.ptr)[slots[found]]
        counts = np.asarray(self.ptr)[slots[found] + 1] - starts
        found, starts, counts = found[counts > 0], starts[counts > 0], counts[counts > 0]
        if len(found):
            first = np.cumsum(counts) - counts  # each key's first posting in the flat list
            flat = np.repeat(starts - first, counts) + np.arange(int(counts.sum()))
            hits = alive[np.asarray(self.entries)[flat]].astype(np.int64)
            live[found] = np.add.reduceat(hits, first) > 0
        delta = self.delta
        return [
            k
            for k, ok in zip(keys, live.tolist(), strict=True)
            if not ok and not (k in delta and any(alive[e] for e, _ in delta[k]))
        ]

    def count(self, key: str, alive: np.ndarray) -> int:
        return len(self.postings(key, alive)[0])

    def keys_listed(self, alive: np.ndarray) -> Iterator[str]:
        """Every key with a live posting, the arrays' (sorted) first, then those appended since."""
        live = (
            np.maximum.reduceat(alive[self.entries], self.ptr[:-1])
            if len(self.entries)
            else np.zeros(0, bool)
        )
        for key, ok in zip(self.keys, np.asarray(live, dtype=bool).tolist(), strict=True):
            if ok:
                yield key
        for key, extra in self.delta.items():
            if self._slot(key) < 0 and any(alive[e] for e, _ in extra):
                yield key

    # ------------------------------------------------------------------------------ persistence
    def save(self, directory: Path, alive: np.ndarray) -> None:
        self.compact(alive)
        self.keys.save(directory, "postings")
        for part in _PARTS:
            np.save(directory / f"postings.{part}.npy", getattr(self, part))

    @classmethod
    def load(cls, directory: Path) -> ProductPostings:
        """The arrays memory-mapped (read-only; pages shared by the workers of a host), as plain
        ndarray views: indexing a ``np.memmap`` costs ~5x more (its subclass hooks)."""
        arrays = (np.asarray(np.load(directory / f"postings.{part}.npy", mmap_mode="r")) for part in _PARTS)
        return cls(SortedKeys.load(directory, "postings"), *arrays)
