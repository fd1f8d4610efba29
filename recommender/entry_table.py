"""The entry table: firms by row and their index entries as parallel arrays.

A firm has one row (insertion order, never renumbered); each of its entries (capability products,
profile, description sentences: :mod:`recommender.entries`) has one entry id, a position in the
append-only arrays below. Every channel indexes entries by these ids; removed firms' entries are
masked (``alive``), never renumbered. The table also holds the per-row facts the channels and
filters share: which rows list each product key (with the name and revenue share listed), each
row's number of capability products and the rows carrying each tag.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .aliases import Alias, mine_corpus_aliases
from .corpus import FirmDoc
from .entries import KIND_DESC, KIND_PRODUCT, KIND_PROFILE, EntryBatch, capability_products
from .features import ChannelArrays, aggregate_channel
from .firmstore import FirmStore
from .postings import ProductPostings
from .textcolumn import TextColumn

Capability = tuple[str, str, float | None]  # (key, display name, share)


class EntryTable:
    def __init__(self) -> None:
        self.firms = FirmStore()  # rows as JSON bytes, decoded on use
        self.row_of: dict[str, int] = {}
        self.firm = np.zeros(0, dtype=np.int64)  # entry -> firm row
        self.kind = np.zeros(0, dtype=np.int8)
        self.share = np.zeros(0, dtype=np.float32)  # NaN = unknown
        self.alive = np.zeros(0, dtype=bool)
        self.text = TextColumn()
        self.postings = ProductPostings()  # product key -> the capability entries listing it
        self.tags: dict[str, set[int]] = {}
        self._n_caps: list[int] = []
        self._n_caps_np: np.ndarray | None = None

    # ------------------------------------------------------------------------------ firms
    def add_firm(self, f: FirmDoc, blob: bytes | None = None) -> tuple[int, list[Capability]]:
        """A new row for ``f`` (its entries and postings: :meth:`add_firms`): (row, its capability
        products)."""
        row = self.firms.append(f, blob)
        self.row_of[f.id] = row
        caps = capability_products(f)
        self._n_caps.append(len(caps))
        for t in f.tags:
            self.tags.setdefault(t, set()).add(row)
        return row, caps

    def add_firms(self, firms: Iterable[FirmDoc]) -> tuple[int, list[str], list[str]]:
        """Rows and entries for ``firms``: (first new entry id, the capability product names
        listed, in firm order, product keys no row listed before)."""
        batch = EntryBatch()
        names: list[str] = []
        listed: list[tuple[int, str, float | None]] = []  # (batch position, key, share)
        for f in firms:
            row, caps = self.add_firm(f)
            listed.extend((len(batch) + i, key, share) for i, (key, _, share) in enumerate(caps))
            batch.add_firm(f, row, caps)  # the capability products' entries come first, in order
            names.extend(name for _, name, _ in caps)
        keys = dict.fromkeys(k for _, k, _ in listed)  # each key looked up once
        new_keys = self.postings.unlisted(list(keys), self.alive)
        start = self.append_entries(batch)
        for position, key, share in listed:
            self.postings.add(key, start + position, share)
        if sum(map(len, self.postings.delta.values())) > max(50_000, len(self.postings.entries) // 10):
            self.postings.compact(self.alive)
        return start, names, new_keys

    # ------------------------------------------------------------------------------ persistence
    def save_rows(self, d: Path) -> None:
        """``firms.jsonl`` (one firm's JSON a line, ``null`` for a removed row) and, beside it, what
        a load would otherwise decode every firm for: line offsets, ids, capability counts, tags and
        the aliases the listed product names carry."""
        offsets = [0]
        with open(d / "firms.jsonl", "wb") as fh:
            for row in range(self.n_rows):
                blob = self.firms.blob(row)
                line = (b"null" if blob is None else blob) + b"\n"
                fh.write(line)
                offsets.append(offsets[-1] + len(line))
        np.save(d / "firms.offsets.npy", np.asarray(offsets, dtype=np.int64))
        np.save(d / "firms.n_caps.npy", np.asarray(self._n_caps, dtype=np.int32))
        products = np.flatnonzero((self.kind == KIND_PRODUCT) & self.alive)
        mined = mine_corpus_aliases(self.text[int(e)] for e in products)  # in row order, as listed
        rows = {
            "ids": self.firms.ids(),
            "tags": {t: sorted(rows) for t, rows in self.tags.items() if rows},
            "mined_aliases": [[a.alias, a.canonical, a.source] for a in mined],
        }
        (d / "firms.rows.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def restore(cls, d: Path) -> tuple[EntryTable, list[Alias]]:
        """The rows of a saved table, ``firms.jsonl`` mapped, and the aliases mined from its
        products (its entries: :meth:`set_entries`)."""
        rows = json.loads((d / "firms.rows.json").read_text(encoding="utf-8"))
        table = cls()
        table.firms = FirmStore.mapped(d / "firms.jsonl", np.load(d / "firms.offsets.npy"), rows["ids"])
        table._n_caps = np.load(d / "firms.n_caps.npy").tolist()
        if len(table._n_caps) != len(table.firms):
            raise ValueError("firm rows disagree in size")
        table.tags = {t: set(r) for t, r in rows["tags"].items()}
        table.row_of = {fid: row for row, fid in enumerate(rows["ids"]) if fid is not None}
        return table, [Alias(a, c, s) for a, c, s in rows["mined_aliases"]]

    def drop_rows(self, rows: list[int]) -> np.ndarray:
        """Removes the firms of ``rows``; returns the entry ids it masked."""
        if not rows:
            return np.zeros(0, dtype=np.int64)
        dead = np.flatnonzero(np.isin(self.firm, np.asarray(rows, dtype=np.int64)) & self.alive)
        self.alive[dead] = False
        for row in rows:
            f = self.firms[row]
            if f is None:
                continue
            for t in f.tags:
                self.tags.get(t, set()).discard(row)
            self.firms.drop(row)
            del self.row_of[f.id]
        return dead

    # ------------------------------------------------------------------------------ entries
    def append_entries(self, batch: EntryBatch) -> int:
        """Appends ``batch``'s entries; returns the id of the first."""
        rows, kinds, shares = batch.arrays()
        start = len(self.firm)
        if start == 0:
            self.firm, self.kind, self.share = rows, kinds, shares
            self.alive = np.ones(len(rows), dtype=bool)
            self.text = TextColumn.of(batch.texts)
            return 0
        self.firm = np.concatenate([self.firm, rows])
        self.kind = np.concatenate([self.kind, kinds])
        self.share = np.concatenate([self.share, shares])
        self.alive = np.concatenate([self.alive, np.ones(len(rows), dtype=bool)])
        self.text.extend(batch.texts)
        return start

    def set_entries(
        self, firm: np.ndarray, kind: np.ndarray, share: np.ndarray, alive: np.ndarray, text: TextColumn
    ) -> None:
        """The saved arrays, as read back."""
        if not len(firm) == len(kind) == len(share) == len(alive) == len(text):
            raise ValueError("entry arrays disagree in size")
        self.firm, self.kind, self.share, self.alive, self.text = firm, kind, share, alive, text

    # ------------------------------------------------------------------------------ products
    def listed_arrays(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, capability entries, shares; NaN: unknown) of every live firm listing product
        ``key``, in row order."""
        entries, shares = self.postings.postings(key, self.alive)
        return self.firm[entries], entries, shares

    def listed_entries(self, key: str) -> Iterator[tuple[int, int, float | None]]:
        """(row, capability entry, share) of every live firm listing product ``key``, in row order."""
        rows, entries, shares = self.listed_arrays(key)
        for row, e, share in zip(rows.tolist(), entries.tolist(), shares.tolist(), strict=True):
            yield row, e, None if share != share else share  # NaN: unknown

    def listings(self, key: str) -> Iterator[tuple[int, str, float | None]]:
        """(row, name as listed, share) of every live firm listing product ``key``, in row order."""
        return ((row, self.text[e], share) for row, e, share in self.listed_entries(key))

    def lists(self, key: str) -> int:
        """Number of live firms listing product ``key``."""
        return self.postings.count(key, self.alive)

    def listed_keys(self) -> list[str]:
        """Every product key some live firm lists, sorted."""
        return sorted(self.postings.keys_listed(self.alive))

    def groups(self, start: int = 0) -> np.ndarray:
        """Length-normalisation group of entries ``start..``: 0 products, 1 profiles, 2 descriptions."""
        kinds = self.kind[start:]
        return (kinds == KIND_PROFILE).astype(np.int64) + 2 * (kinds == KIND_DESC)

    def firm_scores(self, entry_ids: np.ndarray, values: np.ndarray) -> ChannelArrays:
        """Entry scores of a channel max-pooled into firm rows (masked entries dropped)."""
        if len(entry_ids):
            keep = self.alive[entry_ids]
            entry_ids, values = entry_ids[keep], values[keep].astype(np.float32)
        return aggregate_channel(
            entry_ids, values, self.firm, self.kind, self.share, self.n_rows, KIND_PROFILE
        )

    # ------------------------------------------------------------------------------ accessors
    @property
    def n_rows(self) -> int:
        return len(self.firms)

    @property
    def n_firms(self) -> int:
        return len(self.row_of)

    @property
    def n_entries(self) -> int:
        return int(self.alive.sum())

    def n_caps(self) -> np.ndarray:
        """Capability products per row (removed rows keep theirs; they are masked anyway)."""
        if self._n_caps_np is None or len(self._n_caps_np) != len(self._n_caps):
            self._n_caps_np = np.asarray(self._n_caps, dtype=np.float32)
        return self._n_caps_np

    def live_firms(self) -> Iterator[FirmDoc]:
        return (f for f in self.firms if f is not None)

    def rows_of(self, firm_ids: Iterable[str]) -> list[int]:
        return [self.row_of[i] for i in firm_ids if i in self.row_of]
