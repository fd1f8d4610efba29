"""Product aliases: abbreviations, English names, formulas and trade synonyms of product names.

A user types ``PMT``, ``photomultiplier tube``, ``NaOH`` or ``烧碱``; the registry lists
``光电倍增管`` and ``氢氧化钠``. An :class:`AliasTable` maps the normalised key of an alias to the
product names it stands for, each with where the pair came from:

* ``curated`` — ``data/aliases/curated.tsv``, written and reviewed for this project (provenance in
  ``data/aliases/README.md``);
* ``cedict`` — ``data/aliases/cedict.tsv``, English glosses of product nouns from CC-CEDICT
  (CC BY-SA 4.0, credited there), generated offline by ``data/aliases/build_cedict.py``;
* ``corpus`` — mined from the registry's own product names, which often carry their English name
  or abbreviation in brackets (``光电倍增管(PMT)``, ``多层陶瓷电容器(MLCC)``);
* ``user`` — added by an administrator over the API or the CLI (kept in the database, pushed into
  the live table without a rebuild).

The table is database-free; the service layer loads the ``user`` source into it.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .text import cached_key, normalize_text

log = logging.getLogger(__name__)

SOURCES = ("curated", "cedict", "corpus", "user")
# Ranked: when one alias stands for several products, the better source comes first.
_SOURCE_RANK = {s: i for i, s in enumerate(("user", "curated", "corpus", "cedict"))}
DEFAULT_ALIAS_DIR = Path(__file__).resolve().parents[1] / "data" / "aliases"

_LATIN_RE = re.compile(r"^[a-z0-9][a-z0-9 .+\-/]*$")
# 光电倍增管(PMT) / 多层陶瓷电容器（MLCC） / 绝缘栅双极型晶体管(IGBT模块): a Latin alias in brackets
_BRACKETED_RE = re.compile(r"^(?P<name>[^()]{2,30})\((?P<alias>[A-Za-z][A-Za-z0-9 .+\-/]{1,30})\)$")
_LATIN_NAME_RE = re.compile(r"^(?P<alias>[A-Za-z][A-Za-z0-9.+\-/]{1,15})\((?P<name>[^()]{2,30})\)$")


def alias_key(text: str) -> str:
    """Lookup key of an alias: normalised, lower-case, no spaces; a trailing English plural
    ``s`` is not stripped here (see :meth:`AliasTable.lookup`)."""
    return cached_key(text)


@dataclass(frozen=True, slots=True)
class Alias:
    alias: str  # as written: PMT, photomultiplier tube, 烧碱
    canonical: str  # the product name it stands for: 光电倍增管
    source: str = "curated"  # curated | cedict | corpus | user

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown alias source {self.source!r}")


class AliasTable:
    """Alias key → the aliases (with canonical product names) it stands for."""

    def __init__(self, aliases: Iterable[Alias] = ()) -> None:
        self._by_key: dict[str, list[Alias]] = {}
        self._reverse: dict[str, list[str]] | None = None
        # English word → Chinese words of product names (cedict_words.tsv): read English names
        # word by word when the whole name is no alias (metal powder → 金属粉末)
        self.words: dict[str, list[str]] = {}
        self.add_all(aliases)

    # ------------------------------------------------------------------ building
    def add(self, alias: Alias) -> bool:
        """Adds one pair; False when it is empty, self-referential or already present."""
        key = alias_key(alias.alias)
        canon = normalize_text(alias.canonical)
        if not key or not canon or key == alias_key(canon):
            return False
        entries = self._by_key.setdefault(key, [])
        if any(a.canonical == canon and a.source == alias.source for a in entries):
            return False
        entries.append(Alias(normalize_text(alias.alias), canon, alias.source))
        entries.sort(key=lambda a: _SOURCE_RANK[a.source])
        self._reverse = None
        return True

    def add_all(self, aliases: Iterable[Alias]) -> int:
        return sum(self.add(a) for a in aliases)

    def remove(self, alias: str, canonical: str | None = None, *, source: str | None = None) -> int:
        """Removes the pairs of ``alias`` (only those to ``canonical`` / of ``source`` if given)."""
        key = alias_key(alias)
        entries = self._by_key.get(key, [])
        canon = normalize_text(canonical) if canonical else None
        keep = [
            a
            for a in entries
            if not ((canon is None or a.canonical == canon) and (source is None or a.source == source))
        ]
        removed = len(entries) - len(keep)
        self._reverse = None
        if keep:
            self._by_key[key] = keep
        else:
            self._by_key.pop(key, None)
        return removed

    def replace_source(self, source: str, aliases: Iterable[Alias]) -> None:
        """Replaces every pair of ``source`` (e.g. the database's ``user`` aliases) at once."""
        for key in list(self._by_key):
            self._by_key[key] = [a for a in self._by_key[key] if a.source != source]
            if not self._by_key[key]:
                del self._by_key[key]
        self._reverse = None
        self.add_all(a for a in aliases if a.source == source)

    # ------------------------------------------------------------------ reading
    def lookup(self, text: str) -> list[Alias]:
        """The aliases whose key equals ``text``'s (English plurals folded: ``tubes`` → ``tube``)."""
        key = alias_key(text)
        found = self._by_key.get(key)
        if found is None and len(key) > 3 and key.endswith("s") and _LATIN_RE.match(key):
            found = self._by_key.get(key[:-1]) or self._by_key.get(key[:-2] if key.endswith("es") else "")
        return list(found or ())

    def canonicals(self, text: str) -> list[str]:
        """Product names ``text`` stands for, best source first, without repeats."""
        return list(dict.fromkeys(a.canonical for a in self.lookup(text)))

    def aliases_of(self, canonical: str) -> list[str]:
        """The aliases that stand for ``canonical`` (a reverse look-up, built when first asked)."""
        if self._reverse is None:
            rev: dict[str, list[str]] = {}
            for entries in self._by_key.values():
                for a in entries:
                    rev.setdefault(alias_key(a.canonical), []).append(a.alias)
            self._reverse = rev
        return list(self._reverse.get(alias_key(canonical), ()))

    def synonyms(self, name: str) -> list[str]:
        """Names of the same product: what ``name`` stands for, what stands for it, and what its
        other names stand for (石灰岩 → limestone → 石灰石). Two hops at most; ``name`` excluded."""
        key = alias_key(name)
        out: list[str] = list(self.canonicals(name))
        for other in self.aliases_of(name):
            out.append(other)
            out.extend(self.canonicals(other))
        return [n for n in dict.fromkeys(out) if alias_key(n) != key]

    def keys(self) -> list[str]:
        return list(self._by_key)

    def __contains__(self, text: str) -> bool:
        return bool(self.lookup(text))

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_key.values())

    def entries(self, source: str | None = None) -> list[Alias]:
        return [a for v in self._by_key.values() for a in v if source is None or a.source == source]

    # ------------------------------------------------------------------ sources
    def translations(self, word: str) -> list[str]:
        """Chinese words an English word (singular or plural) translates to."""
        w = word.lower()
        found = self.words.get(w)
        if found is None and len(w) > 3 and w.endswith("s"):
            found = self.words.get(w[:-1]) or (self.words.get(w[:-2]) if w.endswith("es") else None)
        return list(found or ())

    @classmethod
    def from_files(cls, directory: Path = DEFAULT_ALIAS_DIR) -> AliasTable:
        """The shipped tables: ``curated.tsv``, ``cedict.tsv`` and the word lexicon
        ``cedict_words.tsv`` (whichever exist)."""
        table = cls()
        for name, source in (("curated.tsv", "curated"), ("cedict.tsv", "cedict")):
            path = directory / name
            if path.is_file():
                table.add_all(read_tsv(path, source))
        words = directory / "cedict_words.tsv"
        if words.is_file():
            for a in read_tsv(words, "cedict"):
                table.words.setdefault(a.alias.lower(), []).append(a.canonical)
        return table


def read_tsv(path: Path, source: str) -> list[Alias]:
    """``alias<TAB>canonical`` rows (more columns allowed; ``#`` lines and a header are skipped)."""
    out: list[Alias] = []
    with open(path, encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if not row or row[0].startswith("#") or row[0] == "alias" or len(row) < 2:
                continue
            out.append(Alias(row[0].strip(), row[1].strip(), source))
    return out


def mine_corpus_aliases(names: Iterable[str]) -> list[Alias]:
    """Aliases that product names carry themselves: ``光电倍增管(PMT)`` gives PMT → 光电倍增管 and
    the bracket-free name; ``IGBT(绝缘栅双极型晶体管)`` the same the other way round."""
    out: list[Alias] = []
    for raw in names:
        name = normalize_text(raw)
        if "(" not in name:
            continue
        m = _BRACKETED_RE.match(name)
        if m:
            out.append(Alias(m["alias"].strip(), m["name"].strip(), "corpus"))
            continue
        m = _LATIN_NAME_RE.match(name)
        if m:
            out.append(Alias(m["alias"].strip(), m["name"].strip(), "corpus"))
    return out


__all__ = ["DEFAULT_ALIAS_DIR", "Alias", "AliasTable", "alias_key", "mine_corpus_aliases", "read_tsv"]
