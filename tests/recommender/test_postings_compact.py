"""Compacting product postings: each live key's postings, the arrays' first, then those appended."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from recommender.postings import ProductPostings


def reference(
    postings: dict[str, list[tuple[int, float]]], alive: np.ndarray
) -> dict[str, list[tuple[int, float]]]:
    live = {k: [(e, s) for e, s in ps if alive[e]] for k, ps in postings.items()}
    return {k: ps for k, ps in live.items() if ps}


def contents(p: ProductPostings, alive: np.ndarray) -> dict[str, list[tuple[int, float]]]:
    out = {}
    for key in p.keys_listed(alive):
        entries, shares = p.postings(key, alive)
        out[key] = list(zip(entries.tolist(), shares.tolist(), strict=True))
    return out


def test_compact_keeps_live_postings_in_order_and_drops_dead_keys(tmp_path: Path) -> None:
    rng = random.Random(0)
    keys = [f"产品{i}" for i in range(300)] + ["泵", "分子泵", "IGBT"]
    alive = np.ones(6000, dtype=bool)
    p = ProductPostings()
    want: dict[str, list[tuple[int, float]]] = {}
    for entry in range(6000):
        if rng.random() < 0.6:
            key, share = rng.choice(keys), rng.choice([None, 0.25, 0.5])
            p.add(key, entry, share)
            want.setdefault(key, []).append((entry, np.nan if share is None else share))
        if entry == 3000:
            alive[rng.sample(range(3000), 600)] = False
            alive[[e for e, _ in want.get("泵", [])]] = False  # a key whose makers are all gone
            p.compact(alive)
            p.save(tmp_path, alive)
            p = ProductPostings.load(tmp_path)  # then appended to a mapped one
    alive[rng.sample(range(6000), 500)] = False
    p.compact(alive)
    assert not p.delta and int(p.ptr[-1]) == len(p.entries) == len(p.shares)
    assert list(p.keys) == sorted(p.keys, key=lambda k: (len(k.encode()), k.encode()))
    got, expected = contents(p, alive), reference(want, alive)
    assert list(got) == [k for k in p.keys] and set(got) == set(expected)
    for key, ps in expected.items():
        assert [e for e, _ in got[key]] == [e for e, _ in ps]
        assert np.array_equal([s for _, s in got[key]], [s for _, s in ps], equal_nan=True)
    assert "泵" not in got or all(e > 3000 for e, _ in got["泵"])
