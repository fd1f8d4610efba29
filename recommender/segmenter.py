"""jieba word segmentation with a user dictionary of product names, its dictionary memory-mapped.

jieba keeps one dict of word -> frequency (``FREQ``, every prefix of a word present with 0) and a
total. Adding the corpus's ~194k product names as user words (``Tokenizer.add_word``) adds ~400k
entries to that dict: ~150 MB of Python objects in every worker at 100k firms. A saved segmenter
instead writes only what the user words changed — each entry of ``FREQ`` that differs from jieba's
own dictionary, and the total — as sorted fixed-width arrays; a loaded one answers jieba's look-ups
from jieba's dictionary overlaid by those arrays (memory-mapped, a binary search each), so it
segments exactly as the segmenter that was saved (the same frequencies, the same total).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .searchcut import SearchCut
from .sortedkeys import SortedKeys
from .text import cached_key, split_parts

_WORD_KEEP_RE = re.compile(r"[\w]", re.UNICODE)
MIN_WORD, MAX_WORD = 2, 20  # characters of a product name taken as a user word
_UNSEEN = object()
_SEEN_MAX = 400_000  # memoised dictionary look-ups of a loaded segmenter (~40 MB at most)


class MappedWords:
    """Words (:class:`SortedKeys`) with their frequency and a user-word flag."""

    def __init__(self, words: SortedKeys, freqs: np.ndarray, user: np.ndarray) -> None:
        if not len(words) == len(freqs) == len(user):
            raise ValueError("segmenter arrays disagree in size")
        self.words, self.freqs, self.user = words, freqs, user

    @classmethod
    def empty(cls) -> MappedWords:
        return cls(SortedKeys.of(())[0], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool))

    def find(self, word: str) -> int:
        """Position of ``word``, -1 when absent."""
        return self.words.find(word)

    def __len__(self) -> int:
        return len(self.words)


class LayeredFreq:
    """jieba's ``FREQ`` as three layers, read top down: words set since (a dict), the saved user
    dictionary's changes (:class:`MappedWords`), jieba's own dictionary."""

    def __init__(self, base: dict[str, int], mapped: MappedWords) -> None:
        self.base = base
        self.mapped = mapped
        self.live: dict[str, int] = {}
        # Answers of the layers below ``live`` (None: absent), memoised: jieba looks up every
        # prefix of every fragment, and a binary search costs ~3.5 µs against ~0.1 µs here
        # (indexing new firms after a load: 9 s of 14 s). Bounded; cleared when full.
        self._seen: dict[str, int | None] = {}

    def get(self, word: str, default: Any = None) -> Any:
        found = self.live.get(word)
        if found is not None:
            return found
        seen = self._seen.get(word, _UNSEEN)
        if seen is _UNSEEN:
            i = self.mapped.find(word)
            seen = int(self.mapped.freqs[i]) if i >= 0 else self.base.get(word)
            if len(self._seen) >= _SEEN_MAX:
                self._seen.clear()
            self._seen[word] = seen
        return default if seen is None else seen

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.get(word) is not None

    def __getitem__(self, word: str) -> int:
        found = self.get(word)
        if found is None:
            raise KeyError(word)
        return int(found)

    def __setitem__(self, word: str, freq: int) -> None:
        self.live[word] = freq


def _tokenizer() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    return tok


class WordSegmenter:
    """jieba search-mode tokeniser with a user dictionary of product names.

    Each instance owns its own ``jieba.Tokenizer`` so user words never leak into the global
    jieba state of the host process. Tokens are lower-cased; punctuation is dropped.
    """

    def __init__(self, user_words: list[str] | None = None, *, mapped: MappedWords | None = None,
                 total: int | None = None) -> None:  # fmt: skip
        self._tok = _tokenizer()
        self._cut = SearchCut(self._tok)  # jieba's cut_for_search(HMM=False), the same words
        self._base_total = int(self._tok.total)
        self._mapped = mapped if mapped is not None else MappedWords.empty()
        if mapped is not None:
            self._tok.FREQ = LayeredFreq(self._tok.FREQ, mapped)
            self._tok.total = int(total) if total is not None else self._tok.total
        self._added: list[str] = []  # user words added to this instance (not in ``mapped``)
        self._added_set: set[str] = set()
        self._cache: dict[str, list[str]] = {}
        if user_words:
            self.add_words(user_words)

    @property
    def user_words(self) -> list[str]:
        """The user words: the saved ones (sorted by their UTF-8 bytes), then those added since."""
        flags = self._mapped.user.tolist()
        saved = [w for w, user in zip(self._mapped.words, flags, strict=True) if user]
        return saved + self._added

    def _is_user_word(self, key: str) -> bool:
        if key in self._added_set:
            return True
        i = self._mapped.find(key)
        return i >= 0 and bool(self._mapped.user[i])

    def add_words(self, words: list[str]) -> None:
        self._unlayer()
        for w in dict.fromkeys(words):  # an upsert lists each product name of every firm
            key = cached_key(w)
            if MIN_WORD <= len(key) <= MAX_WORD and not self._is_user_word(key):
                self._tok.add_word(key)
                self._added.append(key)
                self._added_set.add(key)
        # The memo of parts is kept: parts indexed before keep the tokens they were indexed with
        # (a rebuild re-tokenises everything with the full dictionary); new parts see new words.
        self._cut.clear()  # its words' search grams were read before these words were added

    def _unlayer(self) -> None:
        """A loaded segmenter about to index (an upsert adds its words first): its dictionary as
        one plain dict again — jieba then looks words up at C speed, ~2x faster per part than
        through :class:`LayeredFreq` (0.3 s and ~40 MB, once). A worker that only answers
        queries keeps the mapped layers. Segmentation is the same either way."""
        freq = self._tok.FREQ
        if isinstance(freq, LayeredFreq):
            plain = freq.base  # this tokenizer's own; a save reads jieba's anew (_base_freq)
            plain.update(zip(freq.mapped.words, freq.mapped.freqs.tolist(), strict=True))
            plain.update(freq.live)
            self._tok.FREQ = plain

    def part(self, part: str) -> list[str]:
        """Tokens of one part (no white space inside), memoised."""
        cached = self._cache.get(part)
        if cached is not None:
            return cached
        key = cached_key(part)
        toks = [t for t in self._cut(key) if _WORD_KEEP_RE.search(t)]
        if len(self._cache) < 500_000:
            self._cache[part] = toks
        return toks

    def __call__(self, text: str) -> list[str]:
        out: list[str] = []
        for part in split_parts(text):
            out.extend(self.part(part))
        return out

    # ----------------------------------------------------------------------------- persistence
    def _changed(self) -> Iterator[str]:
        """Every FREQ entry that may differ from jieba's dictionary, and every user word: the saved
        ones and what ``add_word`` wrote since (each added word and its prefixes)."""
        yield from self._mapped.words
        for word in self._added:
            yield from (word[: i + 1] for i in range(len(word)))

    def save(self, directory: Path) -> None:
        """``segmenter.words.npy`` / ``.freqs.npy`` / ``.user.npy`` and ``segmenter.json``."""
        freq, base = self._tok.FREQ, _base_freq(self._tok)
        users = set(self._added)
        kept: dict[str, tuple[int, bool]] = {}
        for w in set(self._changed()):
            f = int(freq[w])
            is_user = w in users or self._is_user_word(w)
            if is_user or base.get(w) != f:
                kept[w] = (f, is_user)
        words, order = SortedKeys.of(kept)
        words.save(directory, "segmenter")
        np.save(directory / "segmenter.freqs.npy", np.array([kept[w][0] for w in order], dtype=np.int64))
        np.save(directory / "segmenter.user.npy", np.array([kept[w][1] for w in order], dtype=bool))
        meta = {"total": int(self._tok.total), "jieba_total": self._base_total, "words": len(order)}
        (directory / "segmenter.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> WordSegmenter:
        """The saved segmenter, its arrays memory-mapped (see the module docstring)."""
        meta = json.loads((directory / "segmenter.json").read_text(encoding="utf-8"))
        mapped = MappedWords(
            SortedKeys.load(directory, "segmenter"),
            *(np.load(directory / f"segmenter.{part}.npy", mmap_mode="r") for part in ("freqs", "user")),
        )
        if len(mapped) != int(meta["words"]):
            raise ValueError("segmenter arrays disagree with segmenter.json")
        seg = cls(mapped=mapped, total=int(meta["total"]))
        if seg._base_total != int(meta["jieba_total"]):
            raise ValueError("the saved segmenter was built over another jieba dictionary")
        return seg


def _base_freq(tok: Any) -> dict[str, int]:
    """jieba's own dictionary (the base layer of a loaded segmenter, else a fresh copy)."""
    freq = tok.FREQ
    return freq.base if isinstance(freq, LayeredFreq) else _tokenizer().FREQ
