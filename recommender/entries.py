"""Capability entries: what a firm is indexed as.

Each firm becomes several entries sharing its row: one per capability product (kind PRODUCT,
with the product's revenue share), one profile (name + industry + products, kind PROFILE) and one
per description sentence (kind DESC). Entry ids are int64 positions in an append-only table;
removed entries are masked, never renumbered (FAISS and the sparse matrices use the same ids).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .corpus import FirmDoc
from .products import is_capability
from .text import cached_key as normalize_key
from .text import cached_text as normalize_text

KIND_PRODUCT = 0
KIND_PROFILE = 1
KIND_DESC = 2
KIND_NAMES = {KIND_PRODUCT: "product", KIND_PROFILE: "profile", KIND_DESC: "description"}

_SENTENCE_RE = re.compile(r"[。；;！!？?\n]+")
MAX_DESC_SENTENCES = 20


def capability_products(firm: FirmDoc) -> list[tuple[str, str, float | None]]:
    """(key, display name, share) of the firm's capability products, deduplicated by key."""
    out: dict[str, tuple[str, str, float | None]] = {}
    for p in firm.products:
        name = normalize_text(p.name)
        key = normalize_key(name)
        if not key or not is_capability(name):
            continue
        share = None if p.share is None else min(max(float(p.share), 0.0), 1.0)
        if key in out:
            old = out[key][2]
            share = old if share is None else share if old is None else max(old, share)
        out[key] = (key, name, share)
    return list(out.values())


def profile_text(firm: FirmDoc, caps: list[tuple[str, str, float | None]] | None = None) -> str:
    """Name + industry path + capability products, white-space separated (each part normalised)."""
    caps = capability_products(firm) if caps is None else caps
    parts = [normalize_text(firm.name), *(normalize_text(i) for i in firm.industry), *(n for _, n, _ in caps)]
    return " ".join(p for p in parts if p)


def description_sentences(firm: FirmDoc) -> list[str]:
    if not firm.description:
        return []
    sents = [" ".join(s.split()) for s in _SENTENCE_RE.split(firm.description)]
    return [s for s in sents if len(s) >= 4][:MAX_DESC_SENTENCES]


@dataclass
class EntryBatch:
    rows: list[int] = field(default_factory=list)
    kinds: list[int] = field(default_factory=list)
    shares: list[float] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def add_firm(
        self, firm: FirmDoc, row: int, caps: list[tuple[str, str, float | None]] | None = None
    ) -> None:
        caps = capability_products(firm) if caps is None else caps
        for _, name, share in caps:
            self._add(row, KIND_PRODUCT, share, name)
        self._add(row, KIND_PROFILE, None, profile_text(firm, caps) or firm.name)
        for s in description_sentences(firm):
            self._add(row, KIND_DESC, None, s)

    def _add(self, row: int, kind: int, share: float | None, text: str) -> None:
        self.rows.append(row)
        self.kinds.append(kind)
        self.shares.append(np.nan if share is None else share)
        self.texts.append(text)

    def __len__(self) -> int:
        return len(self.rows)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (
            np.asarray(self.rows, dtype=np.int64),
            np.asarray(self.kinds, dtype=np.int8),
            np.asarray(self.shares, dtype=np.float32),
        )
