"""Firms by row, held as their JSON (UTF-8 bytes, the line ``firms.jsonl`` stores) and decoded
when one is needed — ~0.7 KB a firm instead of ~2.9 KB of Python objects (bench/scale.py memory).

Rows are the engine's firm rows: append-only, a dropped row reads as ``None``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from .corpus import FirmDoc, Product


def firm_to_json(f: FirmDoc) -> dict[str, Any]:
    d = asdict(f)
    d["products"] = [[p.name, p.share] for p in f.products]
    return d


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
        self._blobs: list[bytes | None] = []
        self._ids: list[str | None] = []

    def __len__(self) -> int:
        return len(self._blobs)

    def append(self, firm: FirmDoc | None, blob: bytes | None = None) -> int:
        """Adds a row (``blob``: the firm's JSON when the caller has it already)."""
        self._blobs.append(None if firm is None else blob if blob is not None else encode_firm(firm))
        self._ids.append(None if firm is None else firm.id)
        return len(self._blobs) - 1

    def drop(self, row: int) -> None:
        self._blobs[row] = None
        self._ids[row] = None

    def __getitem__(self, row: int) -> FirmDoc | None:
        blob = self._blobs[row]
        return None if blob is None else firm_from_json(json.loads(blob))

    def id(self, row: int) -> str | None:
        return self._ids[row]

    def blob(self, row: int) -> bytes | None:
        return self._blobs[row]

    def __iter__(self) -> Iterator[FirmDoc | None]:
        for row in range(len(self._blobs)):
            yield self[row]
