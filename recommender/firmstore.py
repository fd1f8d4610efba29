"""Firms by row, held as their JSON (UTF-8 bytes, the line ``firms.jsonl`` stores) and decoded
when one is needed — ~0.7 KB a firm instead of ~2.9 KB of Python objects (bench/scale.py memory).
A loaded index maps ``firms.jsonl`` itself (:meth:`FirmStore.mapped`: read-only pages shared by
the workers of a host, read in only for the firms an answer shows); rows added since are bytes.

Rows are the engine's firm rows: append-only, a dropped row reads as ``None``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .corpus import FirmDoc, Product


def firm_to_json(f: FirmDoc) -> dict[str, Any]:
    """The firm's fields in declaration order, products as ``[name, share]`` pairs (written out:
    ``dataclasses.asdict`` deep-copies every field and cost ~40% of adding a firm's row)."""
    return {
        "id": f.id,
        "name": f.name,
        "fullname": f.fullname,
        "province": f.province,
        "city": f.city,
        "country": f.country,
        "industry": list(f.industry),
        "products": [[p.name, p.share] for p in f.products],
        "tags": list(f.tags),
        "scale": f.scale,
        "description": f.description,
    }


def firm_from_json(d: dict[str, Any]) -> FirmDoc:
    return FirmDoc(
        id=d["id"],
        name=d["name"],
        fullname=d.get("fullname"),
        province=d.get("province"),
        city=d.get("city"),
        country=d.get("country", "中国"),
        industry=tuple(d.get("industry", ())),
        products=tuple(Product(n, s) for n, s in d.get("products", ())),
        tags=tuple(d.get("tags", ())),
        scale=d.get("scale", "unknown"),
        description=d.get("description"),
    )


def encode_firm(f: FirmDoc) -> bytes:
    return json.dumps(firm_to_json(f), ensure_ascii=False).encode("utf-8")


class FirmStore:
    def __init__(self) -> None:
        self._mapped = np.zeros(0, dtype=np.uint8)  # firms.jsonl of a loaded index
        self._offsets = np.zeros(1, dtype=np.int64)  # its lines: row i is [offsets[i], offsets[i+1])
        self._dropped: set[int] = set()  # mapped rows dropped since the load
        self._blobs: list[bytes | None] = []  # rows after the mapped ones
        self._ids: list[str | None] = []

    @classmethod
    def mapped(cls, path: Path, offsets: np.ndarray, ids: list[str | None]) -> FirmStore:
        """The rows of a saved ``firms.jsonl`` (``offsets``: where each line starts, and its end;
        ``ids``: each row's firm id, None for a dropped one)."""
        store = cls()
        size = path.stat().st_size
        if len(offsets) != len(ids) + 1 or int(offsets[-1]) != size:
            raise ValueError("firms.jsonl does not match its offsets")
        if size:
            store._mapped = np.memmap(path, dtype=np.uint8, mode="r")
        store._offsets, store._ids = offsets, list(ids)
        return store

    @property
    def _n_mapped(self) -> int:
        return len(self._offsets) - 1

    def __len__(self) -> int:
        return self._n_mapped + len(self._blobs)

    def append(self, firm: FirmDoc | None, blob: bytes | None = None) -> int:
        """Adds a row (``blob``: the firm's JSON when the caller has it already)."""
        self._blobs.append(None if firm is None else blob if blob is not None else encode_firm(firm))
        self._ids.append(None if firm is None else firm.id)
        return len(self) - 1

    def drop(self, row: int) -> None:
        if row < self._n_mapped:
            self._dropped.add(row)
        else:
            self._blobs[row - self._n_mapped] = None
        self._ids[row] = None

    def __getitem__(self, row: int) -> FirmDoc | None:
        blob = self.blob(row)
        return None if blob is None else firm_from_json(json.loads(blob))

    def id(self, row: int) -> str | None:
        return self._ids[row]

    def ids(self) -> list[str | None]:
        return list(self._ids)

    def blob(self, row: int) -> bytes | None:
        if row >= self._n_mapped:
            return self._blobs[row - self._n_mapped]
        if row in self._dropped or self._ids[row] is None:
            return None
        return self._mapped[int(self._offsets[row]) : int(self._offsets[row + 1])].tobytes().rstrip(b"\n")

    def __iter__(self) -> Iterator[FirmDoc | None]:
        for row in range(len(self)):
            yield self[row]
