"""Slices of a text column read packed and appended texts alike (an upsert reads its own back)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recommender.textcolumn import TextColumn

TEXTS = ["涡轮分子泵", "", "IGBT 模块", "离子源", "光电倍增管(PMT)"]


def test_slices_equal_list_slices(tmp_path: Path) -> None:
    built = TextColumn.of(TEXTS[:3])
    built.save(tmp_path)
    for column in (built, TextColumn.load(tmp_path)):
        column.extend(TEXTS[3:])
        for sl in (slice(3, None), slice(4, None), slice(5, None), slice(2, None), slice(3, 4), slice(4, 3),
                   slice(0, None, 2), slice(-1, None), slice(None)):  # fmt: skip
            assert column[sl] == TEXTS[sl]
        assert list(column.encoded()) == [t.encode("utf-8") for t in TEXTS]
        ids = np.array([4, 0, 3, 2, 4, 1])  # appended and packed texts interleaved
        assert column.encoded(ids) == [TEXTS[i].encode("utf-8") for i in ids.tolist()]
