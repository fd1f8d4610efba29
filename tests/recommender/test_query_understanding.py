"""Query understanding: weak links as leaders and bureaus write them, read into the product they
name and the rest (recommender/query.py). Database-free: a small hand-made vocabulary stands in
for the registry, with the graph-only fragments real product graphs carry (订货周期, 长达)."""

from __future__ import annotations

import pytest

from recommender.aliases import Alias, AliasTable, mine_corpus_aliases
from recommender.query import DictVocabulary, QueryParser
from recommender.text import normalize_key
from recommender.understanding import VIA_ALIAS, VIA_EXACT, VIA_HEAD, VIA_MENTION, VIA_NONE

# key -> number of firms listing it (0 = a product-graph node nobody lists)
LISTED = {
    "光栅尺": 3, "离子源": 4, "电子轰击离子源": 1, "质谱仪": 5, "分子泵": 2, "涡轮分子泵": 6,
    "光电倍增管": 5, "硫酸": 30, "浓硫酸": 2, "电源模块": 4, "三极管": 2, "晶体管": 3, "聚丙烯": 9,
    "树脂": 12, "甲烷": 3, "水果": 4, "烘焙": 2, "线材": 5, "铜": 8, "煤": 10, "优质煤": 1,
    "控制器": 11, "智能控制器": 2, "海绵": 3, "软体家具": 2, "氯气": 6, "石墨": 7, "大米": 2,
    "天然气": 8, "乙烯": 5, "扬声器": 3, "汽车音响": 2, "微型计算机": 2, "计算机": 6,
    "中厚板": 4, "氢氧化钠": 7, "sCMOS相机": 1, "科学级CMOS相机": 3, "石灰石": 4, "金属粉末": 3,
    "粉末": 2, "铝板": 5,
}  # fmt: skip
GRAPH_ONLY = {"订货周期", "长达", "气源", "设备", "试验", "冷箱", "加气站", "石灰岩"}


def _parser(extra_aliases: list[Alias] = ()) -> QueryParser:  # type: ignore[assignment]
    listed = {normalize_key(k): (v, k) for k, v in LISTED.items()}
    graph = {normalize_key(k) for k in GRAPH_ONLY}

    def weight(key: str) -> int:
        if key in listed:
            return 2 + listed[key][0]
        return 1 if key in graph else 0

    def display(key: str) -> str:
        return listed[key][1] if key in listed else key

    aliases = AliasTable(
        [
            Alias("PMT", "光电倍增管"),
            Alias("photomultiplier tube", "光电倍增管"),
            Alias("BJT", "三极管"),
            Alias("BJT", "晶体管"),
            Alias("PP", "聚丙烯"),
            Alias("NaOH", "氢氧化钠"),
            Alias("烧碱", "氢氧化钠"),
            Alias("H2SO4", "硫酸"),
            Alias("sulfuric acid", "硫酸"),
            Alias("limestone", "石灰石"),
            Alias("limestone", "石灰岩", "cedict"),
            *extra_aliases,
        ]
    )
    aliases.words = {"metal": ["金属"], "powder": ["粉", "粉末"], "aluminum": ["铝"], "sheet": ["片", "板"]}
    return QueryParser(DictVocabulary(weight, display), aliases)


# text -> the product it names (catalog names, qualifiers, end use, sentences, aliases, specs)
PRODUCT_OF = [
    ("光栅尺", "光栅尺"),
    ("高精度光栅尺", "光栅尺"),
    ("用于质谱仪的离子源", "离子源"),
    ("质谱仪用离子源", "离子源"),
    ("高真空获得设备用的分子泵，抽速300L/s以上", "分子泵"),
    ("PMT", "光电倍增管"),
    ("photomultiplier tubes", "光电倍增管"),
    ("Photomultiplier Tube", "光电倍增管"),
    ("ＰＭＴ", "光电倍增管"),  # full width
    ("工业级高可靠电源模块", "电源模块"),
    ("电源模块目前主要采购进口品牌，交期长、价格高，急需寻找国内可替代的供应商", "电源模块"),
    ("我司质谱仪所需的离子源主要依赖进口，寻求国内替代", "离子源"),
    ("烘焙产品所需水果季节性强，冷链配送不稳定，需寻找全年稳定的水果供应商", "水果"),
    ("线材订货周期长达两个月，需寻找稳定线材供方", "线材"),
    ("天然气冬季限供期间乙烯冷箱试验被迫停线，急需可签保供协议的供气方", "天然气"),
    ("汽车音响所需扬声器依赖外资品牌，成本高", "扬声器"),
    ("PP树脂", "聚丙烯"),
    ("H2SO4", "硫酸"),
    ("硫酸（98%，年需求2万吨）", "硫酸"),
    ("中厚板 Q355B，厚度20-40mm，月需求5000吨", "中厚板"),
    ("甲烷（纯度≥99.9%，年需求约3000万立方米）", "甲烷"),
    ("铜用量小但纯度要求高，现有供应商交货不稳", "铜"),
    ("配料用铜", "铜"),
    ("高挥发分优质煤", "煤"),  # a grade prefix is a qualifier even where the longer name is listed
    ("高效率智能控制器", "控制器"),
    ("工业级浓硫酸", "硫酸"),
    ("汽车ECU配套用微型计算机", "微型计算机"),  # a size is part of the product's name
    ("软体家具所需海绵依赖本地几家发泡厂", "海绵"),
    ("三氯甲烷生产所需氯气仅靠一家氯碱厂管道供应", "氯气"),
    ("石墨电极生产所需石墨原料集中在少数企业", "石墨"),
    ("粮食白酒酿造用大米", "大米"),
    ("烧碱", "氢氧化钠"),
    ("NaOH", "氢氧化钠"),
    ("metal powders", "金属粉末"),  # English read word by word when the name is no alias
    ("aluminum sheet", "铝板"),
]


@pytest.mark.parametrize(("text", "product"), PRODUCT_OF)
def test_the_product_a_weak_link_names(text: str, product: str) -> None:
    u = _parser().parse(text)
    assert u.product == product, u


def test_catalog_name_is_exact_and_certain() -> None:
    u = _parser().parse("涡轮分子泵")
    assert (u.via, u.confidence, u.product) == (VIA_EXACT, 1.0, "涡轮分子泵")
    assert not u.low_confidence


def test_the_parts_of_a_reading() -> None:
    u = _parser().parse(
        "用于质谱仪的高精度离子源（寿命≥2000小时），进口占比70%，主要来自日本和德国，单一供应商"
    )
    assert u.product == "离子源"
    assert u.via == VIA_MENTION
    assert u.for_product == "质谱仪"
    assert "高精度" in u.qualifiers
    assert any("2000" in s for s in u.specs)
    assert u.sourcing.import_share == pytest.approx(0.7)
    assert u.sourcing.countries == ("日本", "德国")
    assert u.sourcing.import_dependent and u.sourcing.single_supplier
    assert not u.low_confidence
    # sourcing clauses are read into sourcing, not repeated as specs or left over
    assert not any("进口" in x or "日本" in x or "供应商" in x for x in (*u.specs, *u.unparsed))


def test_a_sourcing_predicate_after_the_product_is_read_not_left_over() -> None:
    u = _parser().parse("我司质谱仪所用离子源目前100%依赖日本进口，仅有一家供应商")
    assert (u.product, u.for_product) == ("离子源", "质谱仪")
    assert u.sourcing.import_share == pytest.approx(1.0) and u.sourcing.countries == ("日本",)
    assert u.sourcing.single_supplier
    assert u.unparsed == ()
    # what is not sourcing stays visible as context
    assert "交期长" in _parser().parse("离子源目前依赖进口，交期长").unparsed


def test_purpose_and_qualifiers() -> None:
    u = _parser().parse("ACS树脂合成工序用硫酸")
    assert (u.product, u.for_product) == ("硫酸", "ACS树脂")
    u = _parser().parse("电子级高纯硫酸")
    assert u.product == "硫酸"
    assert set(u.qualifiers) >= {"电子级"}


def test_an_import_share_with_its_source_country() -> None:
    u = _parser().parse("光电倍增管目前100%依赖日本进口，单一供应商")
    assert u.sourcing.import_share == pytest.approx(1.0) and u.sourcing.countries == ("日本",)


def test_money_is_read_only_when_stated_as_money() -> None:
    assert _parser().parse("离子源，年采购额3000万元").annual_demand_cny == pytest.approx(3.0e7)
    assert _parser().parse("硫酸（98%，年需求2万吨）").annual_demand_cny is None


def test_alias_readings_and_synonyms() -> None:
    u = _parser().parse("PMT")
    assert (u.via, u.product) == (VIA_ALIAS, "光电倍增管")
    u = _parser().parse("BJT")
    assert u.product == "三极管" and "晶体管" in u.synonyms
    # an alias with its name in brackets: either reading, the other as a synonym (both searched)
    u = _parser().parse("BJT（双极结型晶体管）")
    assert {u.product, *u.synonyms} >= {"三极管", "晶体管"}
    # 石灰岩 and 石灰石 share an English gloss: the same product by two names
    u = _parser().parse("石灰岩（limestone）")
    assert {u.product, *u.synonyms} >= {"石灰石"}


def test_latin_mentions_stand_on_word_boundaries() -> None:
    # "pp" inside "ppm" is no polypropylene
    u = _parser().parse("硫酸 杂质≤10ppm")
    assert u.product == "硫酸"
    assert "聚丙烯" not in (u.product, *u.alternatives, *u.synonyms)


def test_user_aliases_take_effect_in_the_live_table() -> None:
    parser = _parser()
    assert parser.parse("XYZ-9").via in (VIA_HEAD, VIA_NONE)
    parser.aliases.replace_source("user", [Alias("XYZ-9", "涡轮分子泵", "user")])
    u = parser.parse("XYZ-9")
    assert (u.via, u.product) == (VIA_ALIAS, "涡轮分子泵")


def test_unknown_text_is_a_flagged_guess_not_nothing() -> None:
    u = _parser().parse("某型号特种密封圈")
    assert u.via == VIA_HEAD and u.product and u.low_confidence
    u = _parser().parse("特种密封圈依赖进口")  # a sourcing fact does not hide the head
    assert u.via == VIA_HEAD and u.product and u.sourcing.import_dependent
    assert _parser().parse("，，，").via == VIA_NONE


def test_corpus_names_carry_their_aliases() -> None:
    mined = mine_corpus_aliases(["光电倍增管(PMT)", "IGBT(绝缘栅双极型晶体管)", "硫酸"])
    assert {(a.alias, a.canonical) for a in mined} == {("PMT", "光电倍增管"), ("IGBT", "绝缘栅双极型晶体管")}
    assert all(a.source == "corpus" for a in mined)


def test_a_reading_that_names_nothing_listed_is_doubted_unless_it_is_the_whole_text() -> None:
    # inside a sentence, a product-graph node no firm lists is more likely a misreading: flagged
    u = _parser().parse("本地冷箱依赖外省供应，需寻找新的供应商")
    assert u.product == "冷箱" and u.low_confidence
    # typed as it is, the same name is certain: an empty list then says nobody makes it
    u = _parser().parse("冷箱")
    assert u.via == VIA_EXACT and not u.low_confidence
    # a listed product in the same sentence position is not doubted
    assert not _parser().parse("本地海绵依赖外省供应，需寻找新的供应商").low_confidence
