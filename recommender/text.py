"""Chinese-first text normalisation shared by ingest, indexing and queries.

Every text that enters the registry or a query goes through :func:`normalize_text`, so that
full-width and half-width forms, traditional and simplified characters and stray white space
all compare equal downstream.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import zhconv

_SPACE_RE = re.compile(r"\s+")
# Characters that carry no meaning in names but differ between sources: zero-width marks and C0
# control characters (NUL among them, which PostgreSQL text cannot even store). Tabs and line
# breaks are white space and are folded below.
_DECORATION_RE = re.compile(r"[\u200b\u200c\u200d\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@lru_cache(maxsize=65536)
def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (dictionary based, cheap)."""
    return str(zhconv.convert(text, "zh-cn"))


def normalize_text(value: str | None, *, simplify: bool = True) -> str:
    """NFKC (full-width → half-width), trim, fold white space, traditional → simplified.

    Returns ``""`` for ``None``. Latin letters keep their case: model names such as "MRI" or
    "sCMOS" are matched case-insensitively later, by the tokenisers, not here.
    """
    if value is None:
        return ""
    if len(value) <= _MEMO_MAX_LEN:
        return _normalize_short(value, simplify)
    return _normalize(value, simplify)


# Names (products, provinces, tags) are short and repeat across thousands of firms: memoise them.
_MEMO_MAX_LEN = 64


@lru_cache(maxsize=1 << 18)
def _normalize_short(value: str, simplify: bool) -> str:
    return _normalize(value, simplify)


def _normalize(value: str, simplify: bool) -> str:
    text = unicodedata.normalize("NFKC", value)
    text = _DECORATION_RE.sub("", text)
    text = _SPACE_RE.sub(" ", text).strip()
    if simplify and text:
        text = to_simplified(text)
    return text


def normalize_key(value: str | None) -> str:
    """A comparison key for product names: normalised, lower-case, no inner spaces."""
    return normalize_text(value).lower().replace(" ", "")


# --- tokenisers used by the engine's lexical and dense channels -------------------------------

_LATIN_RUN_RE = re.compile(r"[a-z0-9]+(?:[.\-+][a-z0-9]+)*")


@lru_cache(maxsize=1 << 18)
def cached_text(value: str) -> str:
    """:func:`normalize_text` memoised."""
    return normalize_text(value)


@lru_cache(maxsize=1 << 18)
def cached_key(value: str) -> str:
    """:func:`normalize_key` memoised (product names repeat a lot across firms)."""
    return normalize_key(value)


_PART_SPLIT_RE = re.compile(r"[\s、，,；;：:。（）()\[\]【】/|]+")


def split_parts(text: str) -> list[str]:
    """Parts separated by white space or list punctuation (a profile is its parts joined by
    spaces; a description clause by clause), so that each distinct part is analysed once."""
    return [p for p in _PART_SPLIT_RE.split(text) if p]


@lru_cache(maxsize=1 << 18)
def _part_ngrams(part: str, n_max: int) -> tuple[str, ...]:
    key = cached_key(part)
    if not key:
        return ()
    grams: list[str] = list(key)
    for n in range(2, n_max + 1):
        grams.extend(key[i : i + n] for i in range(len(key) - n + 1))
    for run in _LATIN_RUN_RE.findall(key):
        if len(run) > n_max:
            grams.append(run)
    return tuple(grams)


def part_ngrams(part: str) -> tuple[str, ...]:
    """Char 1-2 grams (and whole Latin runs) of one white-space free part."""
    return _part_ngrams(part, 2)


def char_ngrams(text: str, n_max: int = 2) -> list[str]:
    """Character 1..``n_max`` grams of each white-space separated part, case-folded.

    Runs of Latin letters / digits ("igbt", "mlcc", "5g") are also emitted whole, because a bag
    of single Latin letters carries almost no meaning. N-grams never span two parts.
    """
    out: list[str] = []
    for part in split_parts(text):
        out.extend(_part_ngrams(part, n_max))
    return out
