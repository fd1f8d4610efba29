"""Query understanding: read a weak link as people write it.

Leaders paste rows of their 断链断供风险清单 and bureau staff type what they heard on a visit:
``高精度光栅尺``, ``用于质谱仪的离子源``, ``电源模块目前主要采购进口品牌，急需国内替代``, ``PMT``,
``甲烷（纯度≥99.9%，年需求约3000万立方米）``. The engine must search for the *product* the text
names and keep the rest as soft context. :class:`QueryParser` does that without a database:

1. **Sourcing facts** (依赖进口, 进口占比70%, a country, 单一供应商 …) and **money** (年采购额3000万元)
   are read from the whole text.
2. The text is cut into **clauses** (punctuation, brackets, a space between CJK and other text).
   A clause that holds numbers with units or comparisons and no product is a **spec**.
3. **Mentions**: every substring that is a known product key (the registry's product names and
   product-graph nodes, given by a :class:`Vocabulary`) or an alias (:mod:`recommender.aliases`);
   Latin mentions must stand on word boundaries (``pp`` is not found inside ``ppm``).
4. In the first clause with a mention, the **noun phrase** ends where the predicate starts
   (目前, 主要, 依赖, 供应商 … after the first mention) and the product is its **head**: Chinese
   noun phrases are head-final, so after the last end-use marker (用于…的, …用, 所需, 配套, 的) the
   mention that ends last, the longest of those. A generic class word (树脂, 材料 …) right after
   another mention yields to it (``PP树脂`` → PP → 聚丙烯).
5. What precedes the product in the phrase is its **qualifiers** (工业级, 高可靠); the text before
   the end-use marker is **for_product**.

A text that is itself a known product is answered by one dictionary look-up (catalog names pay
nothing). No known product at all: the head of the noun phrase as typed (``via=head``, low
confidence), so that the text channels still search for it and the answer is flagged, not empty.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import Protocol

from .aliases import AliasTable, alias_key
from .query_lexicon import (
    ENGLISH_RE,
    FUNCTION_CHARS,
    GENERIC,
    MAX_MENTION,
    PLACE_RE,
    QUALIFIER_PREFIX_RE,
    UNLISTED_CONFIDENCE,
    is_latin,
    looks_like_spec,
    read_money,
    read_sourcing,
    split_clauses,
    states_sourcing,
    strip_lead,
)
from .query_phrase import Mention, Phrase, Reading, read_phrase
from .text import normalize_text
from .understanding import (
    VIA_ALIAS,
    VIA_EXACT,
    VIA_HEAD,
    VIA_MENTION,
    VIA_NONE,
    Sourcing,
    Understanding,
)


class Vocabulary(Protocol):
    """Known product keys (``normalize_key``): the registry's product names and graph nodes."""

    def product_weight(self, key: str) -> int:
        """0 = unknown; 1 = a product-graph node nobody lists; 2 + n = listed by n firms."""
        ...

    def display(self, key: str) -> str:
        """The product's display name."""
        ...


class QueryParser:
    """See the module docstring. ``vocabulary`` and ``aliases`` are read live: products and
    aliases added to the engine are understood at once."""

    def __init__(self, vocabulary: Vocabulary, aliases: AliasTable) -> None:
        self.vocabulary = vocabulary
        self.aliases = aliases

    # ------------------------------------------------------------------ public
    def parse(self, text: str, description: str | None = None) -> Understanding:
        norm = normalize_text(text)
        if not norm:
            return Understanding(text="", product=None)
        whole = alias_key(norm)
        weight = self.vocabulary.product_weight(whole)
        if weight > 0 and whole not in GENERIC:
            return Understanding(
                text=norm,
                product=self.vocabulary.display(whole),
                via=VIA_EXACT,
                confidence=1.0,
                synonyms=self._equivalents(whole),
                sourcing=read_sourcing(normalize_text(description)) if description else Sourcing(),
            )
        canon = self._alias_products(norm)
        if canon:
            return Understanding(
                text=norm,
                product=canon[0],
                via=VIA_ALIAS,
                confidence=self._doubt_unlisted(0.95, canon),
                synonyms=tuple(canon[1:4]),
                sourcing=read_sourcing(normalize_text(description)) if description else Sourcing(),
            )
        return self._parse_free(norm, normalize_text(description) if description else "")

    # ------------------------------------------------------------------ helpers
    def _alias_products(self, text: str) -> list[str]:
        """Canonical names of ``text`` as an alias, known products first."""
        names = self.aliases.canonicals(text)
        if not names:
            return []
        known = [n for n in names if self.vocabulary.product_weight(alias_key(n)) > 0]
        return known + [n for n in names if n not in known]

    def _equivalents(self, key: str) -> tuple[str, ...]:
        """Known products that are the same thing by another name (石灰岩 ≡ 石灰石: both glossed
        "limestone"), listed ones first."""
        names = self.aliases.synonyms(key)
        known = [
            n for n in names if alias_key(n) != key and self.vocabulary.product_weight(alias_key(n)) >= 2
        ]
        return tuple(dict.fromkeys(known))[:4]

    def mentions(self, text: str) -> list[Mention]:
        """Every known product or alias in ``text`` (positions in ``text``)."""
        low = text.lower() if len(text.lower()) == len(text) else text
        n = len(low)
        out: list[Mention] = []
        for i in range(n):
            c = low[i]
            if c.isspace() or not (c.isalnum()):
                continue
            if is_latin(c) and i > 0 and is_latin(low[i - 1]):
                continue  # a Latin mention starts on a word boundary
            for j in range(min(n, i + MAX_MENTION), i, -1):
                if is_latin(low[j - 1]) and j < n and is_latin(low[j]):
                    continue  # … and ends on one
                if low[j - 1].isspace():
                    continue
                key = alias_key(low[i:j])
                if not key or key.isdigit() or key[0] in FUNCTION_CHARS or PLACE_RE.fullmatch(key):
                    continue
                w = self.vocabulary.product_weight(key)
                if len(key) == 1 and w < 3:
                    continue  # one character counts only where firms list it (铜, 煤)
                canon: tuple[str, ...] = ()
                if w <= 0:
                    names = self._alias_products(key)
                    if not names:
                        continue
                    canon = tuple(names)
                    w = 0
                out.append(Mention(i, j, key, w, canon))
        return out

    def _parse_free(self, text: str, description: str) -> Understanding:
        sourcing = read_sourcing(f"{text} {description}")
        money = read_money(f"{text} {description}")
        specs: list[str] = []
        qualifiers: list[str] = []
        unparsed: list[str] = []
        # (clause, its mentions, bracketed) of the first clause naming a product and the
        # bracketed clauses right after it (X（Y）: Y is X by another name, or X's spec)
        chosen: list[tuple[str, list[Mention], bool]] = []
        for clause, bracketed in split_clauses(text):
            ms = [m for m in self.mentions(clause) if m.key not in GENERIC]
            if ENGLISH_RE.fullmatch(clause) and not any(m.end - m.start == len(clause) for m in ms):
                english = self._english(clause)
                if english is not None:
                    ms = [english]
            names_product = ms and not (bracketed and looks_like_spec(clause))
            if names_product and (not chosen or (bracketed and all(c[2] or c is chosen[0] for c in chosen))):
                chosen.append((clause, ms, bracketed))
                continue
            if chosen and not ms and states_sourcing(clause):
                continue  # 进口占比约70% / 主要依赖日本进口 after the product: read into ``sourcing``
            if looks_like_spec(clause):
                specs.append(clause)
            elif clause.endswith(("级", "型", "式")) and len(clause) <= 8:
                qualifiers.append(clause)
            else:
                unparsed.append(clause)
        if not chosen:
            head_src = next((c for c in unparsed if not looks_like_spec(c)), "")
            head = strip_lead(head_src)
            if head:
                unparsed.remove(head_src)
            return Understanding(
                text=text,
                product=head or None,
                via=VIA_HEAD if head else VIA_NONE,
                confidence=0.3 if head else 0.0,
                specs=tuple(specs),
                qualifiers=tuple(qualifiers),
                annual_demand_cny=money,
                sourcing=sourcing,
                unparsed=tuple(unparsed),
            )
        readings = [(self._resolve(read_phrase(c, ms)), c) for c, ms, _ in chosen]
        best = max(range(len(readings)), key=lambda i: (readings[i][0].confidence, -i))
        reading, clause = readings[best]
        synonyms = [r.product for i, (r, _) in enumerate(readings) if i != best and r.product]
        unparsed = [
            c for i, (_, c) in enumerate(readings) if i != best and not readings[i][0].product
        ] + unparsed
        return Understanding(
            text=text,
            product=reading.product,
            via=reading.via,
            confidence=reading.confidence,
            alternatives=tuple(a for a in reading.alternatives if a not in synonyms),
            synonyms=tuple(dict.fromkeys(s for s in (*reading.synonyms, *synonyms) if s != reading.product)),
            qualifiers=tuple(qualifiers + reading.qualifiers),
            for_product=reading.for_product,
            specs=tuple(specs),
            annual_demand_cny=money,
            sourcing=sourcing,
            # the predicate after the noun phrase (目前100%依赖日本进口) is read into ``sourcing``
            unparsed=tuple(unparsed + [r for r in reading.rest if not states_sourcing(r)]),
        )

    def _doubt_unlisted(self, confidence: float, names: Sequence[str]) -> float:
        """A reading found inside a longer text that names something no firm lists (a graph node,
        an alias of one) is more likely a misreading than a real gap: below LOW_CONFIDENCE, so
        the user sees flagged candidates, not an empty list. (A text that *is* such a name keeps
        its certainty: there an empty list rightly says nobody makes it.)"""
        if any(self.vocabulary.product_weight(alias_key(n)) >= 2 for n in names):
            return confidence
        return min(confidence, UNLISTED_CONFIDENCE)

    def _english(self, clause: str) -> Mention | None:
        """An English name read word by word (metal powder → 金属粉末, aluminum sheet → 铝板):
        the longest run of final words whose translations join into a known product, the
        head word alone last."""
        words = [w for w in re.split(r"[\s\-]+", clause.strip().lower()) if w]
        if not 1 < len(words) <= 5:
            return None
        options = [self.aliases.translations(w) or [] for w in words]
        best: tuple[int, int, str] | None = None
        for start in range(len(words)):
            tail = options[start:]
            if not all(tail) or len(tail) > 4:
                continue
            for combo in itertools.islice(itertools.product(*tail), 256):
                key = alias_key("".join(combo))
                w = self.vocabulary.product_weight(key)
                if w >= 2 or (w == 1 and len(tail) > 1):
                    rank = (len(tail), w, key)
                    if best is None or rank[:2] > best[:2]:
                        best = rank
            if best is not None:
                break
        if best is None:
            return None
        return Mention(0, len(clause), best[2], best[1], ())

    def _resolve(self, phrase: Phrase) -> Reading:
        head = phrase.head
        if head is None:
            return Reading(None, VIA_NONE, 0.0)
        qualifiers = list(phrase.qualifiers)
        synonyms: list[str] = []
        # 优质煤 / 智能控制器: the grade prefix is a qualifier; search the product it qualifies
        if head.weight:
            m = QUALIFIER_PREFIX_RE.match(head.key)
            if m and m.end() < len(head.key):
                base = head.key[m.end() :]
                if (len(base) >= 2 or self.vocabulary.product_weight(base) >= 3) and (
                    self.vocabulary.product_weight(base) >= 2
                ):
                    synonyms.append(self.vocabulary.display(head.key))
                    qualifiers.append(head.key[: m.end()])
                    head = Mention(
                        head.start + m.end(), head.end, base, self.vocabulary.product_weight(base), ()
                    )
        others = [
            m
            for m in phrase.candidates
            if m.key != head.key and not (head.start <= m.start and m.end <= head.end)
        ]
        rivals = [m for m in others if m.weight >= 2 and len(m.key) >= len(head.key)]
        conf = 0.9 if not rivals else 0.7
        if len(head.key) == 1 and not is_latin(head.key):
            conf -= 0.15  # one character (铜, 煤) is often right but easily a fragment
        alts = [self.vocabulary.display(m.key) if m.weight else m.aliases[0] for m in rivals]
        if head.is_alias:
            return Reading(
                head.aliases[0],
                VIA_ALIAS,
                self._doubt_unlisted(min(conf, 0.85), head.aliases),
                alternatives=tuple(dict.fromkeys(alts))[:4],
                synonyms=tuple(head.aliases[1:4]),
                qualifiers=qualifiers,
                for_product=phrase.for_product,
                rest=phrase.rest,
            )
        product = self.vocabulary.display(head.key)
        synonyms += self._equivalents(head.key)
        return Reading(
            product,
            VIA_MENTION,
            self._doubt_unlisted(conf, [product, *synonyms]),
            alternatives=tuple(dict.fromkeys(a for a in alts if a != product))[:4],
            synonyms=tuple(dict.fromkeys(synonyms)),
            qualifiers=qualifiers,
            for_product=phrase.for_product,
            rest=phrase.rest,
        )


class DictVocabulary:
    """A :class:`Vocabulary` over plain callables (the engine passes its live indexes)."""

    def __init__(self, weight: Callable[[str], int], display: Callable[[str], str]) -> None:
        self._weight = weight
        self._display = display

    def product_weight(self, key: str) -> int:
        return self._weight(key)

    def display(self, key: str) -> str:
        return self._display(key)


__all__ = ["DictVocabulary", "Mention", "QueryParser", "Vocabulary"]
