"""The noun phrase of a clause: its head (the product), qualifiers and end use (see
:mod:`recommender.query`, step 4 and 5)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .query_lexicon import (
    CLASS_WORDS,
    FOR_TRIM_RE,
    PREDICATE_RE,
    PURPOSE_RE,
    QUAL_SPLIT_RE,
    WEAK_PREDICATES,
    is_cjk,
    strip_lead,
)


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    key: str
    weight: int  # Vocabulary.product_weight; 0 for an alias-only mention
    aliases: tuple[str, ...]  # canonical product names when the mention is an alias

    @property
    def is_alias(self) -> bool:
        return self.weight == 0


@dataclass
class Reading:
    product: str | None
    via: str
    confidence: float
    alternatives: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    qualifiers: list[str] = field(default_factory=list)
    for_product: str | None = None
    rest: list[str] = field(default_factory=list)


@dataclass
class Phrase:
    head: Mention | None
    candidates: list[Mention]
    qualifiers: list[str]
    for_product: str | None
    rest: list[str]


def read_phrase(clause: str, ms: list[Mention]) -> Phrase:
    """Head, qualifiers and end use of the noun phrase at the start of ``clause``."""
    first_end = min(m.end for m in ms)
    cut = len(clause)
    # a short clause that ends in a product is one noun phrase (耐腐蚀高品质不锈钢): there 品质 /
    # 质量 / 等 qualify the product; the verbs of a sentence (依赖, 需 …) still end the phrase
    noun_phrase = len(clause) <= NP_MAX + 4 and any(m.end == len(clause) and m.weight != 1 for m in ms)
    purposes = [(p.start(), p.end()) for p in PURPOSE_RE.finditer(clause) if len(p.group(0)) > 1]
    for p in PREDICATE_RE.finditer(clause, first_end):
        a, b = p.span()
        if any(m.start <= a and b <= m.end and m.end - m.start > b - a and m.weight != 1 for m in ms):
            continue  # inside a longer listed product name or alias (进口 in 进口光刻胶)
        if any(s <= a and b <= e for s, e in purposes):
            continue  # 需 of 所需, 用 of 用于
        if noun_phrase and p.group(0) in WEAK_PREDICATES:
            continue
        cut = a
        break
    rest = [clause[cut:].strip()] if clause[cut:].strip() else []
    inside = [m for m in ms if m.end <= cut] or ms
    # one character names a product (用煤, 配料用铁) only where nothing joins it to the word
    # before it (货 of 订货, 面 of 表面, 铜 of 无氧铜 are fragments)
    inside = [
        m
        for m in inside
        if len(m.key) > 1
        or m.start == 0
        or not is_cjk(clause[m.start - 1])
        or clause[m.start - 1] in "用的需"
    ] or inside
    if any(m.weight != 1 for m in inside):
        # graph nodes nobody lists are often text fragments (订货周期, 长达): a listed product
        # or an alias in the phrase is the better reading
        inside = [m for m in inside if m.weight != 1]
    # the last end-use marker outside every mention and before the last mention's start
    last_start = max(m.start for m in inside)
    split, for_product = 0, None
    for p in PURPOSE_RE.finditer(clause, 0, last_start):
        # the marker's own characters (用于 … 的: not what stands between them) outside mentions
        spans = [(p.start(), p.start() + 2), (p.end() - 1, p.end())] if p.group("fp") else [p.span()]
        if any(m.start < b and a < m.end for m in inside for a, b in spans):
            continue
        split = p.end()
        fp = p.group("fp") if p.group("fp") else clause[: p.start()]
        explicit = p.group(0) not in ("的", "中的", "里的")
        fp = FOR_TRIM_RE.sub("", strip_lead(fp)).strip()
        known_fp = any(m.end <= p.start() and m.start >= (p.start() - len(fp) - 4) for m in inside)
        for_product = fp if fp and (explicit or known_fp) else None
    phrase = [m for m in inside if m.start >= split] or inside
    if cut - split > NP_MAX:
        # Too long for one noun phrase (天然气冬季限供期间乙烯冷箱试验…): a sentence whose subject
        # is the product. Keep the first run of adjacent mentions, preferring listed ones.
        phrase = first_run(phrase)
    end = max(m.end for m in phrase)
    tail = [m for m in phrase if m.end == end]
    head = max(tail, key=lambda m: (m.end - m.start, m.weight))
    # a class word right after another mention yields to it (PP树脂 → PP, 碳纤维材料 → 碳纤维)
    if head.key in CLASS_WORDS or (head.key.endswith(tuple(CLASS_WORDS)) and head.weight < 2):
        before = [m for m in phrase if m.end == head.start and m.key not in CLASS_WORDS]
        if before:
            head = max(before, key=lambda m: (m.end - m.start, m.weight))
    qual_text = strip_lead(clause[split : head.start]).strip()
    if for_product is None and qual_text and split == 0:
        qual_text = strip_lead(qual_text)
    qualifiers = [q for q in (s.strip() for s in QUAL_SPLIT_RE.findall(qual_text)) if q]
    after = clause[head.end : cut].strip()
    if after:
        rest.insert(0, after)
    return Phrase(head, phrase, qualifiers, for_product or None, rest)


# ----------------------------------------------------------------------------------- utilities
NP_MAX = 12  # characters: a longer stretch before the predicate is a sentence, not a phrase


def first_run(ms: list[Mention]) -> list[Mention]:
    """The first run of adjacent (touching or overlapping) mentions, listed or alias ones first."""
    ordered = sorted(ms, key=lambda m: (m.start, -m.end))
    runs: list[list[Mention]] = []
    for m in ordered:
        if runs and m.start <= max(x.end for x in runs[-1]):
            runs[-1].append(m)
        else:
            runs.append([m])
    return next((r for r in runs if any(m.weight != 1 for m in r)), runs[0])
