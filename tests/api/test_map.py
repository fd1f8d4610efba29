"""The investment map as a map (issue 13): neighbouring provinces, place classes and their filters,
the vendored geometry, the SVG maps, ``GET /v1/chains/{id}/map`` on the sample cluster, and the
maps in the HTML and XLSX reports."""

from __future__ import annotations

import io
import re

import pytest

from chainmatch import geography
from chainmatch.chains import mapsvg
from chainmatch.places import (
    NEIGHBOURS,
    PlaceClass,
    annotate,
    place_class,
    place_filter,
)
from models.regions import PROVINCES
from recommender.corpus import Region
from tests.chainmatch.test_chains import CHAIN_ID
from tests.conftest import World

GD = Region("广东省")
SZ = Region("广东省", "深圳市")
MAP_LABELS = ("同城", "本省", "同省其他城市", "邻省", "国内其他省份", "境外", "国内（省份未知）")


# ----------------------------------------------------------------------------- units
def test_neighbour_table_covers_the_34_divisions_and_is_symmetric() -> None:
    assert set(NEIGHBOURS) == set(PROVINCES) and len(NEIGHBOURS) == 34
    for province, near in NEIGHBOURS.items():
        assert near, province
        assert province not in near
        for other in near:
            assert other in PROVINCES, other
            assert province in NEIGHBOURS[other], (province, other)
    assert NEIGHBOURS["江苏省"] == {"上海市", "浙江省", "安徽省", "山东省"}
    assert NEIGHBOURS["广东省"] >= {
        "福建省",
        "江西省",
        "湖南省",
        "广西壮族自治区",
        "香港特别行政区",
        "澳门特别行政区",
    }
    assert "甘肃省" in NEIGHBOURS["内蒙古自治区"] and "新疆维吾尔自治区" not in NEIGHBOURS["内蒙古自治区"]


def test_place_classes_seen_from_a_province_and_from_a_city() -> None:
    assert place_class(GD, "广东省", "佛山市", "中国") is PlaceClass.SAME_PROVINCE
    assert place_class(SZ, "广东省", "深圳市", "中国") is PlaceClass.SAME_CITY
    assert place_class(SZ, "广东省", "佛山市", "中国") is PlaceClass.SAME_PROVINCE
    assert place_class(GD, "湖南省", "长沙市", "中国") is PlaceClass.NEIGHBOURING
    assert place_class(GD, "江苏省", "苏州市", "中国") is PlaceClass.ELSEWHERE
    assert place_class(GD, None, "慕尼黑", "德国") is PlaceClass.ABROAD
    assert place_class(GD, None, None, "中国") is PlaceClass.UNKNOWN


def test_place_filters_become_the_engines_province_sets() -> None:
    near = place_filter(GD, ["neighbouring"])
    assert near.provinces_include == NEIGHBOURS["广东省"] and not near.after_cut
    home = place_filter(GD, ["same_province"])
    assert home.provinces_include == {"广东省"} and not home.after_cut
    elsewhere = place_filter(GD, ["elsewhere_china"])
    assert "江苏省" in elsewhere.provinces_include and "湖南省" not in elsewhere.provinces_include
    assert "广东省" not in elsewhere.provinces_include and not elsewhere.after_cut
    # abroad: the engine can only leave every Chinese province out; province-unknown firms are
    # told apart after its cut
    abroad = place_filter(GD, ["abroad"])
    assert abroad.provinces_exclude == set(PROVINCES) and abroad.after_cut
    assert abroad.admits(GD, None, None, "日本") and not abroad.admits(GD, None, None, "中国")
    # a city region: same city and same province share a province
    city = place_filter(SZ, ["same_city"])
    assert city.provinces_include == {"广东省"} and city.after_cut
    assert city.admits(SZ, "广东省", "深圳市", "中国") and not city.admits(SZ, "广东省", "佛山市", "中国")
    assert not place_filter(GD, []).classes


def test_the_engines_place_line_names_the_class() -> None:
    reasons = [
        "主营 涡轮分子泵（营收占比 60%）",
        "位于 江苏省苏州市，为区外企业，可作为招商对象",
        "企业类型：小型企业",
    ]
    out = annotate(reasons, GD, "江苏省", "苏州市", "中国")
    assert out[1] == "位于 江苏省苏州市（国内其他省份），为区外企业，可作为招商对象"
    assert annotate(out, GD, "江苏省", "苏州市", "中国") == out  # idempotent
    near = annotate(["位于 湖南省长沙市，为区外企业，可作为招商对象"], GD, "湖南省", "长沙市", "中国")
    assert near == ["位于 湖南省长沙市（邻省），为区外企业，可作为招商对象"]
    assert annotate(["位于 德国，为境外企业，可作为招商/引进对象"], GD, None, None, "德国")[0].startswith(
        "位于 德国（境外）"
    )
    assert annotate([], GD, "广东省", None, "中国") == ["地点：本省"]


def test_vendored_geometry_is_small_complete_and_offline() -> None:
    for path in geography.GEO.glob("*.json"):
        assert path.stat().st_size < 2 * 1024 * 1024, path
    assert set(geography.provinces()) == set(PROVINCES)
    countries = geography.countries()
    assert {"美国", "德国", "日本", "瑞士", "英国", "荷兰", "中国"} <= set(countries)
    assert "台湾" not in countries  # the PRC's convention: Taiwan is drawn as a province of China
    assert geography.country_name("德意志联邦共和国") == "德国" and geography.country_name("JP") == "日本"
    lon, lat = geography.city_point("江苏省", "苏州市") or (0, 0)
    assert 120 < lon < 121 and 31 < lat < 32
    assert geography.city_point("广东省", "苏州市") is None  # outside its province: not drawn
    assert geography.city_point("北京市", "北京市") is not None


def test_china_map_svg() -> None:
    svg = mapsvg.china_map(
        {"江苏省": 3.0, "广东省": 1.0},
        {"江苏省": 3, "广东省": 1},
        home="广东省",
        selected="江苏省",
        cities=[mapsvg.CityDot("江苏省", "苏州市", 120.58, 31.3, 3)],
        href=lambda name: f"#province-{name}",
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert len(re.findall(r'<g class="province[^"]*" data-province=', svg)) == 34
    assert 'href="#province-江苏省"' in svg and 'data-city="苏州市"' in svg and "南海诸岛" in svg
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing to fetch
    world = mapsvg.world_map({"德国": 2.0}, {"德国": 2}, china_count=5, href=lambda n: f"#country-{n}")
    assert 'data-country="德国" data-count="2"' in world and 'href="#country-德国"' in world


# ----------------------------------------------------------------------------- API
pytestmark = pytest.mark.world(chain=True)  # the sample and its chain, in process


def test_map_counts_and_candidates_on_the_sample(world: World) -> None:
    server, keys = world
    with server.client(keys.bureau_gd) as c:
        response = c.get(f"/v1/chains/{CHAIN_ID}/map")
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["region"]["province"] == "广东省" and len(data["links"]) == 6
    provinces = {p["province"]: p for p in data["provinces"]}
    assert provinces["广东省"]["local"] and provinces["广东省"]["place_class"] == "same_province"
    assert provinces["湖南省"]["place_class"] == "neighbouring" if "湖南省" in provinces else True
    assert "江苏省" in provinces and provinces["江苏省"]["place_class"] == "elsewhere_china"
    assert any(city["lon"] for city in provinces["江苏省"]["cities"])
    assert {c["country"] for c in data["countries"]} >= {"美国", "德国"}
    total = sum(p["firms"] for p in data["provinces"]) + sum(c["firms"] for c in data["countries"])
    assert total + data["unplaced"] == len(data["candidates"])
    for cand in data["candidates"]:
        best = cand["rankings"][0]
        assert cand["best_score"] == max(r["score"] for r in cand["rankings"]) == best["score"]
        place_lines = [r for r in best["reasons"] if r.startswith("位于 ")]
        assert place_lines and f"（{cand['place_label']}）" in place_lines[0], best["reasons"]
    assert data["gap_lists"]  # the sample leaders' lists chose declared products: audited

    with server.client(keys.bureau_gd) as c:
        js = c.get(f"/v1/chains/{CHAIN_ID}/map", params={"province": "江苏"}).json()
    assert js["candidates"] and {x["province"] for x in js["candidates"]} == {"江苏省"}
    assert js["provinces"] == data["provinces"]  # the counts are the whole map's


@pytest.mark.parametrize(
    ("places", "allowed", "item"),
    [
        (["abroad"], {"abroad"}, None),
        # the one neighbouring-province maker of the sample: 福建's 科学级CMOS相机 (imaging node)
        (["neighbouring"], {"neighbouring"}, "科学级CMOS相机"),
        (["elsewhere_china", "abroad"], {"elsewhere_china", "abroad"}, None),
        (["same_province"], {"same_province"}, None),
    ],
)
def test_place_filter_applies_before_the_cut(
    world: World, places: list[str], allowed: set[str], item: str | None
) -> None:
    server, keys = world
    params: dict[str, str | int | list[str]] = {"place": places, "k": 5}
    if item:
        params["item"] = item
    with server.client(keys.bureau_gd) as c:
        data = c.get(f"/v1/chains/{CHAIN_ID}/map", params=params).json()
    assert {x["place_class"] for x in data["candidates"]} <= allowed
    if "abroad" in places:
        assert data["countries"] and all(
            x["country"] != "中国" for x in data["candidates"] if x["place_class"] == "abroad"
        )
    # the filter is applied before the top-k cut: each list still holds up to k firms of the class
    per_list: dict[tuple[str, str, str], int] = {}
    for cand in data["candidates"]:
        for r in cand["rankings"]:
            key = (r["node_id"], r["product"], r["kind"])
            per_list[key] = max(per_list.get(key, 0), r["rank"])
    assert per_list and max(per_list.values()) <= 5


def test_item_segment_scale_and_score_filters(world: World) -> None:
    server, keys = world
    with server.client(keys.bureau_gd) as c:
        full = c.get(f"/v1/chains/{CHAIN_ID}/map").json()
        node = full["links"][0]["node_id"]
        one = c.get(f"/v1/chains/{CHAIN_ID}/map", params={"item": node}).json()
        small = c.get(f"/v1/chains/{CHAIN_ID}/map", params={"scale": ["small", "micro"]}).json()
        strict = c.get(f"/v1/chains/{CHAIN_ID}/map", params={"min_score": 0.9}).json()
        up = c.get(f"/v1/chains/{CHAIN_ID}/map", params={"segment": "upstream"}).json()
        missing = c.get(f"/v1/chains/{CHAIN_ID}/map", params={"item": "没有这个环节"})
        bad = c.get(f"/v1/chains/{CHAIN_ID}/map", params={"scale": "huge"})
    assert [lk["node_id"] for lk in one["links"]] == [node]
    assert {r["node_id"] for cand in one["candidates"] for r in cand["rankings"]} == {node}
    assert small["candidates"] and {x["scale"] for x in small["candidates"]} <= {"small", "micro"}
    assert all(x["best_score"] >= 0.9 for x in strict["candidates"])
    assert {lk["segment"] for lk in up["links"]} == {"upstream"}
    assert missing.status_code == 404 and bad.status_code == 422


def test_map_is_scoped_and_audited(world: World) -> None:
    server, keys = world
    with server.client(keys.bureau_js) as c:
        js = c.get(f"/v1/chains/{CHAIN_ID}/map")
        other = c.get(f"/v1/chains/{CHAIN_ID}/map", params={"region": "广东省"})
    assert js.status_code == 200 and js.json()["region"]["province"] == "江苏省"
    assert js.json()["gap_lists"] == []  # 广东's leaders' lists are not 江苏's to see
    assert other.status_code == 403
    with server.client(keys.leader_a) as c:
        assert c.get(f"/v1/chains/{CHAIN_ID}/map").status_code == 403
    with server.client(keys.bureau_gd) as c:
        lists = c.get(f"/v1/chains/{CHAIN_ID}/map", params={"k": 2, "top": 1}).json()["gap_lists"]
    with server.client(keys.admin) as c:
        rows = c.get("/v1/audit", params={"object_id": lists[0]["id"], "limit": 200}).json()["items"]
    assert any(
        r["action"] == "map"
        and r["route"] == f"GET /v1/chains/{CHAIN_ID}/map"
        and r["object_version"] == lists[0]["version"]
        for r in rows
    )


def test_report_carries_the_maps_and_a_sheet_per_province(world: World) -> None:
    from openpyxl import load_workbook

    server, keys = world
    with server.client(keys.bureau_gd) as c:
        html = c.post(f"/v1/chains/{CHAIN_ID}/report", params={"format": "html"}, json={"top": 4, "k": 4})
        xlsx = c.post(f"/v1/chains/{CHAIN_ID}/report", params={"format": "xlsx"}, json={"top": 4, "k": 4})
    assert html.status_code == 200 and xlsx.status_code == 200
    text = html.text
    assert 'class="geo-map china-map"' in text and 'class="geo-map world-map"' in text
    assert 'href="#province-广东省"' in text and 'id="province-广东省"' in text
    assert "<script" not in text and "https://" not in text  # static and offline
    book = load_workbook(io.BytesIO(xlsx.content))
    assert "广东省" in book.sheetnames and "境外" in book.sheetnames
    sheet = book["广东省"]
    header = [cell.value for cell in sheet[1]]
    assert header[3] == "地点类别 place_class" and sheet.max_row > 1
    assert {row[3] for row in sheet.iter_rows(min_row=2, values_only=True)} == {"本省"}
