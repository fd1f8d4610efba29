"""A loaded segmenter answers through its mapped layers until it indexes, then through one dict."""

from __future__ import annotations

from pathlib import Path

from recommender.segmenter import LayeredFreq, WordSegmenter

WORDS = ["涡轮分子泵", "分子泵", "科学级CMOS相机", "电子级硫酸", "光电倍增管"]
TEXTS = [
    "涡轮分子泵的离子源",
    "科学级cmos相机",
    "电子级硫酸和高纯石英砂",
    "用于光电倍增管",
    "离子源组件的分子泵",
]


def test_indexing_unlayers_a_loaded_dictionary_and_segments_alike(tmp_path: Path) -> None:
    built = WordSegmenter(WORDS)
    built.save(tmp_path)
    loaded = WordSegmenter.load(tmp_path)
    assert isinstance(loaded._tok.FREQ, LayeredFreq)
    assert [loaded(t) for t in TEXTS] == [built(t) for t in TEXTS]  # memoised look-ups, twice
    assert [loaded(t + "组") for t in TEXTS] == [built(t + "组") for t in TEXTS]
    for seg in (built, loaded):
        seg.add_words(["离子源组件"])
    assert type(loaded._tok.FREQ) is dict  # the plain dict itself, not a layer
    assert [loaded(t) for t in TEXTS] == [built(t) for t in TEXTS]
    again = tmp_path / "again"
    again.mkdir()
    loaded.save(again)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    built.save(fresh)  # the files a never-loaded segmenter with the same words writes
    for name in ("segmenter.keys.npy", "segmenter.freqs.npy", "segmenter.user.npy", "segmenter.json"):
        assert (again / name).read_bytes() == (fresh / name).read_bytes()
