"""jieba's search-mode cut without HMM (``Tokenizer.cut_for_search(text, HMM=False)``), as one loop.

jieba builds a dict of candidate word ends for every position (``get_DAG``), then walks it again
from the right for the best route (``calc``, looking every candidate up a second time and taking
its log), then yields words through three nested generators. Here each position's candidates are
looked up once and scored as they are found, right to left, in the same arithmetic; indexing new
firms spends most of its lexical time there (~2x faster, measured on the corpus's parts).

The result is the same list of words, in the same order: the same regular expressions (jieba's
own), the same frequencies (the tokenizer's ``FREQ`` and ``total`` at the time of the call), the
same float expression per candidate, and the same choice among equal scores (``max`` of
``(score, end)`` tuples: the larger end wins). ``tests/recommender/test_searchcut.py`` compares
it with jieba on mixed texts and user words.
"""

from __future__ import annotations

from math import inf, log
from typing import Any

import jieba

_RE_HAN = jieba.re_han_default
_RE_SKIP = jieba.re_skip_default
_RE_ENG = jieba.re_eng


_MEMO_MAX = 200_000  # words whose search grams are memoised (~30 MB at most)


class SearchCut:
    """``list(tok.cut_for_search(sentence, HMM=False))`` for a ``jieba.Tokenizer`` ``tok``.

    A word's search grams (its 2- and 3-character pieces that are words themselves) are memoised:
    words repeat across parts (product names are user words of up to 20 characters). The memo
    depends on the dictionary, so whoever changes ``tok`` (``add_word``) calls :meth:`clear`.
    """

    def __init__(self, tok: Any) -> None:
        self.tok = tok
        self._grams: dict[str, tuple[str, ...]] = {}

    def clear(self) -> None:
        self._grams.clear()

    def __call__(self, sentence: str) -> list[str]:
        self.tok.check_initialized()  # as jieba's get_DAG does (a fresh Tokenizer loads lazily)
        memo = self._grams
        out: list[str] = []
        for w in _cut(self.tok, sentence):
            found = memo.get(w)
            if found is None:
                found = tuple(_search_grams(self.tok.FREQ.get, w))
                if len(memo) >= _MEMO_MAX:
                    memo.clear()
                memo[w] = found
            out.extend(found)
        return out


def _search_grams(freq_get: Any, w: str) -> list[str]:
    """jieba's ``cut_for_search`` for one word of ``cut``: its 2-grams, 3-grams that are words
    (frequency above 0), then the word."""
    out: list[str] = []
    n = len(w)
    if n > 2:
        for i in range(n - 1):
            gram = w[i : i + 2]
            if freq_get(gram):
                out.append(gram)
    if n > 3:
        for i in range(n - 2):
            gram = w[i : i + 3]
            if freq_get(gram):
                out.append(gram)
    out.append(w)
    return out


def _cut(tok: Any, sentence: str) -> list[str]:
    """``list(tok.cut(sentence, HMM=False))``."""
    words: list[str] = []
    for block in _RE_HAN.split(sentence):
        if not block:
            continue
        if _RE_HAN.match(block):
            _cut_block(tok.FREQ.get, log(tok.total), block, words)
        else:
            for x in _RE_SKIP.split(block):
                if _RE_SKIP.match(x):
                    words.append(x)
                else:
                    words.extend(x)  # one character at a time, as jieba yields them
    return words


def _cut_block(freq_get: Any, logtotal: float, sentence: str, words: list[str]) -> None:
    """jieba's ``__cut_DAG_NO_HMM`` (``get_DAG`` + ``calc`` + the word loop) for one block."""
    n = len(sentence)
    # route: the best (score, end) from each position, as two lists (no tuple per candidate)
    scores = [0.0] * (n + 1)
    ends = [0] * (n + 1)
    for start in range(n - 1, -1, -1):
        best_score = -inf
        best_end = -1
        end = start
        freq = freq_get(sentence[start])
        while freq is not None:  # jieba: a prefix present in FREQ (0 for a prefix only)
            if freq:
                score = log(freq) - logtotal + scores[end + 1]
                if score >= best_score:  # ends grow: on a tie the larger end wins, as in max()
                    best_score, best_end = score, end
            end += 1
            if end >= n:
                break
            freq = freq_get(sentence[start : end + 1])
        if best_end < 0:  # no word starts here: the character alone, its frequency taken as 1
            best_score, best_end = log(1) - logtotal + scores[start + 1], start
        scores[start], ends[start] = best_score, best_end
    x = 0
    buf = ""
    while x < n:
        y = ends[x] + 1
        word = sentence[x:y]
        if len(word) == 1 and _RE_ENG.match(word):
            buf += word
        else:
            if buf:
                words.append(buf)
                buf = ""
            words.append(word)
        x = y
    if buf:
        words.append(buf)
