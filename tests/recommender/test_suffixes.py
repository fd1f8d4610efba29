"""Keys by suffix: the compact index answers as a sorted list of reversed Python strings does."""

from __future__ import annotations

import random

import pytest

from recommender import suffixes
from recommender.suffixes import SuffixIndex

CHARS = "硫酸电子级工业分子泵真空涡轮离子源膜碳纤维ABCab-0μ𠀋"


def naive(keys: set[str], key: str) -> list[str]:
    """The catalogue's former scan: reversed keys sorted, the run after ``key`` reversed."""
    rev = key[::-1]
    return [r[::-1] for r in sorted(k[::-1] for k in keys) if r.startswith(rev) and r != rev]


def test_keys_ending_with_a_key_come_in_the_order_of_the_sorted_reversed_strings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(suffixes, "_MERGE_AT", 50)  # several merges of the added keys
    rng = random.Random(0)
    keys = {"".join(rng.choices(CHARS, k=rng.randint(1, 6))) for _ in range(3000)}
    keys |= {"硫酸", "电子级硫酸", "工业硫酸", "硫酸钡"}
    index = SuffixIndex(sorted(keys)[:1500])
    held = set(sorted(keys)[:1500])
    probes = ["硫酸", "酸", "泵", "A", "μ", "𠀋", "离子源", "无此后缀", *rng.sample(sorted(keys), 40)]
    for key in sorted(keys)[1500:]:
        index.add(key)
        held.add(key)
        if len(held) % 97 == 0:
            for probe in probes:
                assert list(index.ending_with(probe)) == naive(held, probe)
    index.add("电子级硫酸")  # a key added twice is listed once
    assert len(index) == len(held) + 1
    for probe in probes:
        assert list(index.ending_with(probe)) == naive(held, probe)
    assert "电子级硫酸" in list(index.ending_with("硫酸")) and "硫酸" not in list(index.ending_with("硫酸"))
