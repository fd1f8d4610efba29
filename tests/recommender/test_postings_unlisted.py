"""``ProductPostings.unlisted`` answers, for many keys at once, what ``listed`` answers for each."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from recommender.postings import ProductPostings


def test_unlisted_is_not_listed_for_every_key(tmp_path: Path) -> None:
    rng = random.Random(4)
    keys = [f"产品{i}" for i in range(200)] + ["泵", "分子泵", "IGBT", "a", "é型阀门", "𠀀材"]
    alive = np.ones(4000, dtype=bool)
    p = ProductPostings()
    for entry in range(2000):
        if rng.random() < 0.5:
            p.add(rng.choice(keys[:150]), entry, rng.choice([None, 0.5]))
    p.compact(alive)
    p.save(tmp_path, alive)
    p = ProductPostings.load(tmp_path)  # mapped arrays, then appended postings in the delta
    for entry in range(2000, 4000):
        if rng.random() < 0.3:
            p.add(rng.choice(keys[100:]), entry, None)
    alive[rng.sample(range(4000), 1500)] = False
    for key in ("泵", "产品3"):  # every maker of these gone
        entries, _ = p.postings(key, alive)
        alive[entries] = False
    asked = [*keys, "从未出现", "", "产品3", "泵"]
    rng.shuffle(asked)
    expected = [k for k in asked if not p.listed(k, alive)]
    assert p.unlisted(asked, alive) == expected
    assert "从未出现" in expected and "泵" in expected and "产品3" in expected
    assert len(expected) < len(asked)
    assert p.unlisted([], alive) == []
