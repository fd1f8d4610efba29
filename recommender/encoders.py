"""Text encoders of the dense channel (sentence-transformers models).

* ``"static"`` (default): :func:`fit_static_encoder` builds, offline and in seconds, a
  ``StaticEmbedding`` fitted to the ingested corpus: a character / Latin-word tokenizer (built
  with the ``tokenizers`` library, no download) and token vectors from a truncated SVD of a PPMI
  token × context matrix, where contexts are product concepts (a product name together with its
  subclass / parent neighbours in the product graph) and firms (the products one firm makes).
  Token vectors are scaled by their IDF over concepts, so mean pooling becomes IDF-weighted.
  It is saved and loaded in the sentence-transformers format.
* any other value: a sentence-transformers model name or local path, used as is, with optional
  query / passage prompts (opt-in; may download weights when given a hub name).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from .graph import ProductGraph
from .text import cached_key as normalize_key

log = logging.getLogger(__name__)

UNK = "[UNK]"
# CJK ideographs one by one; Latin / digit runs whole; any other non-space symbol alone.
_PRETOKEN_PATTERN = r"[\u3400-\u9fff\uf900-\ufaff]|[a-z0-9]+|[^\s\u3400-\u9fff\uf900-\ufaffa-z0-9]"


class Encoder(Protocol):
    name: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def save(self, directory: Path) -> None: ...


class SentenceTransformerEncoder:
    """Wraps a ``SentenceTransformer``; vectors are L2-normalised float32."""

    def __init__(
        self,
        model: object,
        name: str,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        batch_size: int = 2048,
    ) -> None:
        self.model = model
        self.name = name
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.batch_size = batch_size
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension  # type: ignore[attr-defined]
        dim = getter()
        self.dim = int(dim)

    def _encode(self, texts: Sequence[str], prompt: str | None) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        v = self.model.encode(  # type: ignore[attr-defined]
            list(texts),
            prompt=prompt,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(v, dtype=np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prompt)

    def save(self, directory: Path) -> None:
        self.model.save(str(directory))  # type: ignore[attr-defined]


def build_tokenizer(texts: Sequence[str], min_count: int = 1) -> object:
    """A WordLevel tokenizer over characters / Latin runs seen in ``texts`` (offline)."""
    from collections import Counter

    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel

    tok = Tokenizer(WordLevel({UNK: 0}, unk_token=UNK))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(_PRETOKEN_PATTERN), behavior="isolated")
    counts: Counter[str] = Counter()
    for t, c in Counter(texts).items():
        norm = tok.normalizer.normalize_str(normalize_key(t))
        for piece, _ in tok.pre_tokenizer.pre_tokenize_str(norm):
            counts[piece] += c
    counts.pop(UNK, None)
    vocab = {UNK: 0}
    for t, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if c >= min_count and not t.isspace():
            vocab[t] = len(vocab)
    tok = Tokenizer(WordLevel(vocab, unk_token=UNK))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(_PRETOKEN_PATTERN), behavior="isolated")
    return tok


def _token_matrix(tok: object, texts: Sequence[str], n_tokens: int) -> sp.csr_matrix:
    encs = tok.encode_batch(list(texts))  # type: ignore[attr-defined]
    ids = [e.ids for e in encs]
    lens = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
    cols = np.fromiter((i for x in ids for i in x), dtype=np.int64, count=int(lens.sum()))
    rows = np.repeat(np.arange(len(ids)), lens)
    m = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(len(ids), n_tokens))
    m.data[:] = 1.0  # binary
    return m


def _ppmi(m: sp.csr_matrix) -> sp.csr_matrix:
    m = sp.csr_matrix(m, dtype=np.float64)
    total = m.sum()
    rs = np.asarray(m.sum(axis=1)).ravel()
    cs = np.asarray(m.sum(axis=0)).ravel() ** 0.75  # context distribution smoothing
    cs = cs / cs.sum() * total
    coo = m.tocoo()
    pmi = np.log(coo.data * total / (rs[coo.row] * cs[coo.col] + 1e-12))
    keep = pmi > 0
    return sp.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=m.shape)


def fit_static_encoder(
    capability_texts: Sequence[str],
    firm_products: Sequence[Sequence[str]],
    graph: ProductGraph,
    dim: int = 128,
    seed: int = 0,
    max_concepts: int = 80_000,
    max_firms: int = 20_000,
) -> SentenceTransformerEncoder:
    """Fit the corpus-specific ``StaticEmbedding`` (see the module docstring)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from sklearn.decomposition import TruncatedSVD

    concepts = sorted({normalize_key(t) for t in capability_texts} | set(graph.names))
    concepts = [c for c in concepts if c]
    # the vocabulary covers every text; only the contexts of the PPMI matrix are sampled
    tok = build_tokenizer(concepts + sorted({normalize_key(t) for p in firm_products for t in p}))
    rng = np.random.default_rng(seed)
    if len(concepts) > max_concepts:  # the SVD cost grows with the contexts; a sample suffices
        concepts = sorted(
            rng.choice(np.asarray(concepts, dtype=object), max_concepts, replace=False).tolist()
        )
    if len(firm_products) > max_firms:
        pick = rng.choice(len(firm_products), max_firms, replace=False)
        firm_products = [firm_products[i] for i in sorted(pick.tolist())]
    n_tok = tok.get_vocab_size()  # type: ignore[attr-defined]
    C = _token_matrix(tok, concepts, n_tok)  # concepts x tokens (binary)
    pos = {c: i for i, c in enumerate(concepts)}
    # concept adjacency through the subclass hierarchy (both directions)
    r: list[int] = []
    c: list[int] = []
    for p, children in graph.children.items():
        if p not in pos:
            continue
        for ch in children:
            if ch in pos:
                r.extend((pos[p], pos[ch]))
                c.extend((pos[ch], pos[p]))
    adj = sp.csr_matrix((np.full(len(r), 0.5), (r, c)), shape=(len(concepts), len(concepts)))
    concept_ctx = (C + adj @ C).T  # tokens x concepts
    # firm contexts: every token of every product a firm makes
    firm_texts = [" ".join(p) for p in firm_products if p]
    F = _token_matrix(tok, [normalize_key(t) for t in firm_texts], n_tok).T * 0.5 if firm_texts else None
    M = sp.hstack([concept_ctx, F], format="csr") if F is not None else sp.csr_matrix(concept_ctx)
    P = _ppmi(M)
    if min(P.shape) < 3:
        # An empty or near-empty registry (a fresh install) has nothing to factorise: seeded
        # random token vectors keep the channel working until the corpus grows and is refitted.
        U = rng.standard_normal((P.shape[0], dim))
    else:
        k = max(2, min(dim, min(P.shape) - 1))
        svd = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=2, random_state=seed)
        U = svd.fit_transform(P)  # tokens x k  (= U * S)
    U = U / np.maximum(np.linalg.norm(U, axis=1, keepdims=True), 1e-9)
    df = np.asarray((C > 0).sum(axis=0)).ravel()
    idf = np.log((1.0 + len(concepts)) / (1.0 + df)) + 1.0
    W = (U * idf[:, None]).astype(np.float32)
    W[0] = 0.0  # [UNK]
    if W.shape[1] < dim:
        W = np.hstack([W, np.zeros((W.shape[0], dim - W.shape[1]), dtype=np.float32)])
    emb = StaticEmbedding(tok, embedding_weights=W)  # type: ignore[arg-type]
    model = SentenceTransformer(modules=[emb], device="cpu")
    log.info("fitted static encoder: %d tokens x %d dims from %d concepts", n_tok, dim, len(concepts))
    return SentenceTransformerEncoder(model, "static")


def load_encoder(
    path_or_name: str,
    query_prompt: str | None,
    passage_prompt: str | None,
    device: str = "cpu",
    name: str | None = None,
) -> SentenceTransformerEncoder:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path_or_name, device=device)
    return SentenceTransformerEncoder(model, name or path_or_name, query_prompt, passage_prompt)
