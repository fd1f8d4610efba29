"""SearchCut gives jieba's own search-mode words (HMM off), whatever the text and the dictionary."""

from __future__ import annotations

import jieba
import pytest

from recommender.searchcut import SearchCut
from recommender.segmenter import WordSegmenter

TEXTS = [
    "",
    "a",
    "数控机床",
    "高端数控机床主轴及其零部件的研发、生产和销售",
    "CT机MRI设备",
    "锂电池PACK系统集成abc123def",
    "ABC公司x-1.5%增长",
    "中文abc中文 12 3",
    "\t\r\n混合 Text_123+#&符号",
    "α射线β射线检测仪",
    "...",
    "a.b-c%d",
    "中华人民共和国国务院办公厅",
    "集成电路封装测试",
    "半导体单晶硅片抛光设备",
]


@pytest.fixture(scope="module")
def tok() -> jieba.Tokenizer:
    segmenter = WordSegmenter(["高端数控机床主轴", "锂电池PACK", "单晶硅片抛光设备", "α射线"])
    return segmenter._tok


@pytest.mark.parametrize("text", TEXTS)
def test_the_words_of_jieba_cut_for_search(tok: jieba.Tokenizer, text: str) -> None:
    cut = SearchCut(tok)
    expected = list(tok.cut_for_search(text, HMM=False))
    assert cut(text) == expected
    assert cut(text) == expected, "the memoised grams answer the same"


def test_after_a_new_word_a_cleared_cut_follows_the_dictionary() -> None:
    tok = jieba.Tokenizer()
    tok.add_word("精密光学镜片镀膜")  # a word of 8: its 2- and 3-grams are looked up, memoised
    cut = SearchCut(tok)
    text = "精密光学镜片镀膜加工"
    before = cut(text)
    assert before == list(tok.cut_for_search(text, HMM=False)) and "片镀膜" not in before
    tok.add_word("片镀膜")  # a 3-gram of that word becomes a word itself
    cut.clear()
    after = cut(text)
    assert after == list(tok.cut_for_search(text, HMM=False))
    assert "片镀膜" in after
