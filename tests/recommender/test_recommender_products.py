from __future__ import annotations

from recommender.corpus import Product
from recommender.products import clean_products, is_capability, is_elimination


def test_elimination_and_negative_lines_are_dropped_with_warnings() -> None:
    products, warnings = clean_products(
        [
            {"name": "特种气体", "share": 0.51},
            {"name": "分部间抵销", "share": -0.12},
            {"name": "平衡项目", "share": 0.09},
            {"name": "设备", "share": -0.03},
        ]
    )
    assert [p.name for p in products] == ["特种气体"]
    assert any("分部间抵销" in w and "抵销" in w for w in warnings)
    assert any("平衡项目" in w for w in warnings)
    assert any("负数" in w and "设备" in w for w in warnings)


def test_shares_above_one_are_clamped() -> None:
    products, warnings = clean_products([{"name": "光伏组件", "share": 1.0043}])
    assert products == [Product("光伏组件", 1.0)]
    assert any("超过 1" in w for w in warnings)


def test_duplicates_merge_keeping_the_maximum_share() -> None:
    products, warnings = clean_products(
        [
            {"name": "智能输送成套设备", "share": 0.3},
            {"name": "智能输送成套设备", "share": 0.9485},
            {"name": "ＬＥＤ 芯片", "share": 0.1},  # full width + space: same key as "LED芯片"
            {"name": "LED芯片", "share": 0.05},
        ]
    )
    assert products[0] == Product("智能输送成套设备", 0.9485)
    assert len(products) == 2
    assert sum("重复" in w for w in warnings) == 2


def test_non_product_segments_are_kept_but_not_capabilities() -> None:
    products, warnings = clean_products(
        [{"name": "其他业务", "share": 0.02}, {"name": "华东分部", "share": 0.4}]
    )
    assert {p.name for p in products} == {"其他业务", "华东分部"}
    assert not is_capability("其他业务") and not is_capability("其他") and not is_capability("华东分部")
    assert is_capability("分子泵") and is_capability("技术服务")
    assert len(warnings) == 2


def test_unknown_and_non_numeric_shares_and_order() -> None:
    products, warnings = clean_products(
        [{"name": "A产品", "share": None}, {"name": "B产品", "share": "n/a"}, {"name": "C产品", "share": 0.2}]
    )
    assert [p.name for p in products] == ["C产品", "A产品", "B产品"]
    assert products[1].share is None and products[2].share is None
    assert len(warnings) == 1 and "不是数字" in warnings[0]


def test_empty_names_and_traditional_characters() -> None:
    products, warnings = clean_products([{"name": "  ", "share": 0.1}, {"name": "電容器", "share": 0.5}])
    assert products == [Product("电容器", 0.5)]
    assert any("为空" in w for w in warnings)
    assert is_elimination("分部间抵消") and not is_elimination("电容器")
