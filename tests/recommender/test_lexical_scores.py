"""A lexical query summed over the rows its columns touch equals scipy's dense mat-vec, bit for bit."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recommender import column_files
from recommender.column_files import column_scores
from recommender.lexical import SparseLexicalIndex
from recommender.segmenter import WordSegmenter
from recommender.text import part_ngrams

CHARS = "分子泵真空涡轮离子源电池隔膜碳纤维伺服电机光刻胶减速器硫酸液氦高精度栅尺模块"


def random_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        " ".join("".join(rng.choices(CHARS, k=rng.randint(2, 6))) for _ in range(rng.randint(1, 5)))
        for _ in range(n)
    ]


def dense_scores(m: sp.csc_matrix, cols: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The method ``column_scores`` replaces below its threshold: a dense vector over all rows."""
    s = np.asarray(m[:, cols] @ w).ravel()
    nz = np.flatnonzero(s)
    return nz, s[nz].astype(np.float32)


@pytest.mark.parametrize("scheme", ["tfidf", "bm25"])
def test_touched_rows_sum_bit_identical_to_the_dense_product(
    scheme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyzer = part_ngrams if scheme == "tfidf" else WordSegmenter().part
    index = SparseLexicalIndex(analyzer, scheme)
    index.fit(random_texts(3000, 0), np.zeros(3000, dtype=np.int64))
    index.add(random_texts(500, 1), np.zeros(500, dtype=np.int64))  # a delta matrix too
    checked = 0
    for query in random_texts(200, 2):
        cols, w = index._query_vector(query)
        for m in [index.base, *index.deltas]:
            valid = cols < m.shape[1]
            if not valid.any():
                continue
            want_rows, want = dense_scores(m, cols[valid], w[valid])
            monkeypatch.setattr(column_files, "_DENSE_SHARE", 1e9)  # always the touched rows only
            rows, got = column_scores(m, cols[valid], w[valid])
            monkeypatch.undo()
            assert rows.tolist() == want_rows.tolist()
            assert got.dtype == np.float32 and got.view(np.uint32).tolist() == want.view(np.uint32).tolist()
            checked += len(rows)
    assert checked > 10_000  # the queries did touch many rows


def test_a_query_scores_what_the_dense_product_scores() -> None:
    index = SparseLexicalIndex(part_ngrams, "tfidf")
    index.fit(random_texts(2000, 3), np.zeros(2000, dtype=np.int64))
    for query in ["分子泵", "真空 离子源", "钛合金"]:  # the last shares no term: no rows
        rows, vals = index.score(query)
        cols, w = index._query_vector(query)
        want_rows, want = dense_scores(index.base, cols, w) if len(cols) else (np.zeros(0), np.zeros(0))
        assert rows.tolist() == want_rows.tolist() and vals.tolist() == want.tolist()
    assert len(index.score("钛合金")[0]) == 0 and len(index.score("分子泵")[0]) > 0


@pytest.mark.parametrize("share", [1e9, 1e-9])  # touched rows only / the dense vector
def test_a_loaded_matrix_read_from_its_files_scores_bit_identically(
    share: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = SparseLexicalIndex(part_ngrams, "tfidf")
    built.fit(random_texts(3000, 5), np.zeros(3000, dtype=np.int64))
    built.save(tmp_path, "tfidf")
    loaded = SparseLexicalIndex.load(part_ngrams, tmp_path, "tfidf")
    assert loaded.base_files is not None and loaded.base_files.serves(loaded.base.indices)
    monkeypatch.setattr(column_files, "_DENSE_SHARE", share)
    checked = 0
    for query in random_texts(150, 6):
        cols, w = loaded._query_vector(query)
        if not len(cols):
            continue
        want_rows, want = dense_scores(built.base, cols, w)
        rows, got = column_scores(loaded.base, cols, w, loaded.base_files)
        assert rows.tolist() == want_rows.tolist()
        assert got.view(np.uint32).tolist() == want.view(np.uint32).tolist()
        assert loaded.score(query)[0].tolist() == built.score(query)[0].tolist()
        checked += len(rows)
    assert checked > 10_000
    # a base rebuilt in memory (deltas merged at save) is no longer the files' matrix
    loaded.add(random_texts(20, 7), np.zeros(20, dtype=np.int64))
    (tmp_path / "again").mkdir()
    loaded.save(tmp_path / "again", "tfidf")
    assert not loaded.base_files.serves(loaded.base.indices)


@pytest.mark.parametrize("frozen", [False, True])
def test_term_counts_are_each_texts_parts_terms_counted(frozen: bool) -> None:
    texts = [*random_texts(400, 4), "分子泵 分子泵 真空泵", "", "钛合金"]
    index = SparseLexicalIndex(part_ngrams, "tfidf")
    if frozen:
        index.fit(texts[:100], np.zeros(100, dtype=np.int64))
        index = SparseLexicalIndex.frozen(part_ngrams, index.statistics())
    vocab_before = dict(index.vocab)
    tf = index._tf(texts).toarray()
    want_vocab = dict(vocab_before)
    for text in texts:  # new terms take columns in order of first appearance (frozen: none)
        for part in text.split():
            for term in part_ngrams(part):
                if not frozen:
                    want_vocab.setdefault(term, len(want_vocab))
    assert index.vocab == want_vocab
    for row, text in enumerate(texts):
        counts = Counter(t for part in text.split() for t in part_ngrams(part) if t in want_vocab)
        assert {list(want_vocab)[c]: int(v) for c, v in enumerate(tf[row]) if v} == dict(counts)
