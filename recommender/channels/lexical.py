"""The lexical channels: char n-gram TF-IDF and BM25 over words, one sparse index each."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import LEXICAL_TOP
from ..entry_table import EntryTable
from ..features import ChannelArrays
from ..lexical import SparseLexicalIndex
from .base import ChannelQuery


class LexicalChannel:
    """``tfidf`` scores the item alone (cosine); ``bm25`` the item with the query's description,
    divided by the query's own reference score so that it reads on a 0..1 scale."""

    def __init__(self, name: str, index: SparseLexicalIndex, table: EntryTable) -> None:
        self.name = name
        self.index = index
        self.table = table

    def extend(self, start: int) -> None:
        self.index.add(self.table.text[start:], self.table.groups(start))

    def entry_scores(self, query: ChannelQuery) -> tuple[np.ndarray, np.ndarray]:
        text = query.item if self.name == "tfidf" else query.full
        ids, vals = self.index.score(text, top=LEXICAL_TOP)
        if self.name == "bm25" and len(vals):
            vals = vals / max(self.index.self_score(text), 1e-6)
        floor = query.floors.get(self.name)
        if floor is not None:
            keep = vals >= floor
            ids, vals = ids[keep], vals[keep]
        return ids, vals

    def search(self, query: ChannelQuery) -> ChannelArrays:
        return self.table.firm_scores(*self.entry_scores(query))

    def save(self, directory: Path) -> None:
        self.index.save(directory, self.name)
